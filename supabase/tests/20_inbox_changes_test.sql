-- The live inbox: change_xid stamps, inbox_changes(since) and mark_conversation_unread,
-- per role. (One transaction holds the whole test, so every row written here carries its
-- xid, at or above any cursor it takes: "nothing since" is asked with a cursor past it.
-- Out-of-order commits are tests/test_inbox_changes.py's, with two connections.)
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(24);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '22222222-2222-4222-8222-222222222222', 'platform', 'signal',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'o1', 'id', 'o',
    'direction', 'inbound', 'content', 'theirs', 'sent_at', '2026-01-01T10:00:00Z'))));
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', 'c1', 'id', 'a', 'direction', 'inbound',
      'content', 'hi', 'sent_at', '2026-01-01T10:00:00Z'),
    jsonb_build_object('external_conversation_id', 'c1', 'id', 'b', 'direction', 'outbound',
      'content', 'hello back', 'sent_at', '2026-01-01T10:05:00Z'))));
select set_config('test.conv', (select id::text from public.chat_conversations where external_conversation_id = 'c1'), true);
select set_config('test.past', (pg_current_xact_id()::text::bigint + 1000)::text, true);

-- ============================== the schema ====================================
select has_index('public', 'chat_conversations', 'chat_conversations_user_change_idx',
  array['user_id', 'change_xid'], 'conversations: an index under (user_id, change_xid)');
select has_index('public', 'chat_conversation_read_markers', 'chat_conversation_read_markers_user_change_idx',
  array['user_id', 'change_xid'], 'read markers: an index under (user_id, change_xid)');
select is((select change_xid from chat_conversations where id = current_setting('test.conv')::uuid),
  pg_current_xact_id()::text::bigint, 'a write stamps the row with its transaction''s id');
select function_privs_are('public', 'inbox_changes', array['bigint', 'integer'], 'anon', array[]::text[],
  'anon cannot execute inbox_changes');
select function_privs_are('public', 'mark_conversation_unread', array['uuid'], 'anon', array[]::text[],
  'anon cannot execute mark_conversation_unread');
select function_privs_are('messaging_private', 'stamp_change_xid', array[]::text[], 'authenticated', array[]::text[],
  'the trigger function is no API');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select is((inbox_changes() ->> 'unread_conversations')::int, 1, 'the first call: the unread count');
select is(jsonb_array_length(inbox_changes() -> 'conversations'), 0, 'the first call: no rows, only a cursor');
select is((select array_agg(c ->> 'external_conversation_id') from jsonb_array_elements(inbox_changes(0) -> 'conversations') c),
  array['c1'], 'changes since 0: the owner''s conversation');
select is(inbox_changes(0) -> 'conversations' -> 0 ->> 'last_message_preview', 'hello back', 'with its preview');
select is(inbox_changes(0) -> 'conversations' -> 0 -> 'read', '[]'::jsonb, 'and no read marker yet');
select is(inbox_changes(current_setting('test.past')::bigint) -> 'conversations', '[]'::jsonb,
  'nothing written since a later cursor: nothing');
select is(inbox_changes(current_setting('test.past')::bigint) -> 'unread_conversations', 'null'::jsonb,
  'and no count to read');
select is(mark_conversation_unread(current_setting('test.conv')::uuid), '2026-01-01T09:59:59.999999Z'::timestamptz,
  'unread: just before the newest inbound message');
select is((select read_message_count from chat_conversation_read_markers), 0,
  'both messages since it count as unread');
select is(mark_conversation_read(current_setting('test.conv')::uuid), '2026-01-01T10:05:00Z'::timestamptz,
  'read again: to the newest message');
select is(inbox_changes(0) -> 'conversations' -> 0 -> 'read',
  '[{"last_read_at": "2026-01-01T10:05:00+00:00", "read_message_count": 2}]'::jsonb,
  'the marker comes with the row');
select throws_ok($$ select inbox_changes(0, 0) $$, '22023', 'max_count: must be between 1 and 1000, got 0',
  'a bad max_count is refused');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is((select array_agg(c ->> 'external_conversation_id') from jsonb_array_elements(inbox_changes(0) -> 'conversations') c),
  array['o1'], 'another user: only their own changes');
select throws_ok($$ select mark_conversation_unread(current_setting('test.conv')::uuid) $$, 'P0002', null,
  'cannot mark another user''s conversation unread');
select is((select count(*)::int from chat_conversation_read_markers), 0, 'and sees no one else''s marker');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select throws_ok($$ select inbox_changes(0) $$, '42501', null,
  'the service role has no inbox: not granted');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select inbox_changes(0) $$, '42501', null, 'anon is refused');
select throws_ok($$ select mark_conversation_unread(current_setting('test.conv')::uuid) $$, '42501', null,
  'anon cannot mark unread');

select * from finish();
rollback;
