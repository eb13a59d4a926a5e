-- get_conversation_messages_at: the page at a time (or the first page) read from the chunk
-- holding it; messaging_connection_conversations: what came in on each connection.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(17);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
update messaging_private.settings set value = 5 where key = 'hot_max_messages';
update messaging_private.settings set value = 3 where key = 'hot_keep_messages';
update messaging_private.settings set value = 4 where key = 'archive_chunk_messages';
insert into public.messaging_connections (id, user_id, platform, account_identifier)
values ('33333333-3333-4333-8333-333333333333', '11111111-1111-4111-8111-111111111111', 'signal', '+34600000001');
-- m01..m20 a minute apart (archive chunks of 4, then the hot row), m21a/m21b in one minute
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'connection_id', '33333333-3333-4333-8333-333333333333',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'thread', 'id', 'm' || lpad(i::text, 2, '0'),
    'direction', 'inbound', 'content', 'n' || i, 'sent_at', '2026-01-01T10:00:00Z'::timestamptz + i * interval '1 minute'))
    from generate_series(1, 20) i)));
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'connection_id', '33333333-3333-4333-8333-333333333333',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', 'thread', 'id', 'm21b', 'direction', 'inbound', 'content', 'b', 'sent_at', '2026-01-01T10:21:00Z'),
    jsonb_build_object('external_conversation_id', 'thread', 'id', 'm21a', 'direction', 'inbound', 'content', 'a', 'sent_at', '2026-01-01T10:21:00Z'),
    jsonb_build_object('external_conversation_id', 'short', 'id', 's1', 'direction', 'inbound', 'content', 's', 'sent_at', '2026-01-02T10:00:00Z'))));
select set_config('test.conv', (select id::text from public.chat_conversations where external_conversation_id = 'thread'), true);

select function_privs_are('public', 'get_conversation_messages_at', array['uuid', 'timestamp with time zone', 'integer'],
  'anon', array[]::text[], 'anon cannot execute the jump');
select function_privs_are('public', 'messaging_connection_conversations', array[]::text[],
  'service_role', array[]::text[], 'the counts are the signed-in owner''s only');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select isnt((select count(*) from public.chat_conversation_archives
              where conversation_id = current_setting('test.conv')::uuid), 0::bigint, 'the thread has archive chunks');
select is(jsonb_path_query_array(get_conversation_messages_at(current_setting('test.conv')::uuid, null, 4), '$[*].id'),
  '["m01", "m02", "m03", "m04"]', 'no time: the first page, oldest first');
select is(jsonb_path_query_array(get_conversation_messages_at(current_setting('test.conv')::uuid,
  '2026-01-01T10:06:00Z', 3), '$[*].id'), '["m06", "m07", "m08"]', 'a time in the archive: from the message at it');
select is(jsonb_path_query_array(get_conversation_messages_at(current_setting('test.conv')::uuid,
  '2026-01-01T10:06:30Z', 3), '$[*].id'), '["m07", "m08", "m09"]', 'a time between messages: from the next one');
select is(jsonb_path_query_array(get_conversation_messages_at(current_setting('test.conv')::uuid,
  '2026-01-01T10:03:00Z', 8), '$[*].id'), '["m03", "m04", "m05", "m06", "m07", "m08", "m09", "m10"]',
  'across chunks, oldest first');
select is(jsonb_path_query_array(get_conversation_messages_at(current_setting('test.conv')::uuid,
  '2026-01-01T10:17:00Z', 6), '$[*].id'), '["m17", "m18", "m19", "m20", "m21a", "m21b"]',
  'into the hot row, to the newest message');
select is(jsonb_path_query_array(get_conversation_messages_at(current_setting('test.conv')::uuid,
  '2026-01-01T10:21:00Z', 4), '$[*].id'), '["m19", "m20", "m21a", "m21b"]',
  'near the end: filled with the messages just before, a full page');
select is(jsonb_path_query_array(get_conversation_messages_at(current_setting('test.conv')::uuid,
  '2030-01-01T00:00:00Z', 2), '$[*].id'), '["m21a", "m21b"]', 'after the newest message: the newest page');
select is(jsonb_path_query_array(get_conversation_messages_at(current_setting('test.conv')::uuid,
  '1999-01-01T00:00:00Z', 2), '$[*].id'), '["m01", "m02"]', 'before the first message: the first page');
select throws_ok($$ select get_conversation_messages_at(current_setting('test.conv')::uuid, null, 0) $$,
  '22023', 'max_count: must be between 1 and 1000, got 0', 'a page of 0 is refused');
select throws_ok($$ select get_conversation_messages_at(current_setting('test.conv')::uuid, 'infinity', 5) $$,
  '22023', 'at: must be a time (or null for the first message), got infinity', 'infinity is no time');
select results_eq($$ select connection_id, conversation_count, message_count from messaging_connection_conversations() $$,
  $$ values ('33333333-3333-4333-8333-333333333333'::uuid, 2::bigint, 23::bigint) $$,
  'the owner''s connection: two conversations, 23 messages');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is(get_conversation_messages_at(current_setting('test.conv')::uuid, null), '[]'::jsonb,
  'another user reads nothing');
select is_empty($$ select * from messaging_connection_conversations() $$, 'another user counts nothing of the owner''s');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select get_conversation_messages_at(current_setting('test.conv')::uuid, null) $$,
  '42501', null, 'anon is refused');

select * from finish();
rollback;
