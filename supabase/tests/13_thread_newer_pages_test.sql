-- get_conversation_messages_after: pages oldest-first newer than a cursor, archive then hot row.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(8);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
update messaging_private.settings set value = 5 where key = 'hot_max_messages';
update messaging_private.settings set value = 3 where key = 'hot_keep_messages';
update messaging_private.settings set value = 4 where key = 'archive_chunk_messages';
-- m01..m20 a minute apart, and m21a/m21b in the same minute (id order decides)
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'thread', 'id', 'm' || lpad(i::text, 2, '0'),
    'direction', 'inbound', 'content', 'n' || i, 'sent_at', '2026-01-01T10:00:00Z'::timestamptz + i * interval '1 minute'))
    from generate_series(1, 20) i)));
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', 'thread', 'id', 'm21b', 'direction', 'inbound', 'content', 'b', 'sent_at', '2026-01-01T10:21:00Z'),
    jsonb_build_object('external_conversation_id', 'thread', 'id', 'm21a', 'direction', 'inbound', 'content', 'a', 'sent_at', '2026-01-01T10:21:00Z'))));
select set_config('test.conv', (select id::text from public.chat_conversations where external_conversation_id = 'thread'), true);

select function_privs_are('public', 'get_conversation_messages_after', array['uuid', 'timestamp with time zone', 'text', 'integer'],
  'anon', array[]::text[], 'anon cannot execute');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select is(jsonb_path_query_array(get_conversation_messages_after(current_setting('test.conv')::uuid,
  '2026-01-01T10:02:00Z', 'm02', 4), '$[*].id'), '["m03", "m04", "m05", "m06"]', 'a newer page from the archive, oldest first');
select is(jsonb_path_query_array(get_conversation_messages_after(current_setting('test.conv')::uuid,
  '2026-01-01T10:07:00Z', 'm07', 20), '$[*].id'),
  '["m08", "m09", "m10", "m11", "m12", "m13", "m14", "m15", "m16", "m17", "m18", "m19", "m20", "m21a", "m21b"]',
  'across chunks into the hot row, to the newest message');
select is(jsonb_path_query_array(get_conversation_messages_after(current_setting('test.conv')::uuid,
  '2026-01-01T10:21:00Z', 'm21a', 5), '$[*].id'), '["m21b"]', 'the same minute: after the cursor id only');
select is(get_conversation_messages_after(current_setting('test.conv')::uuid, '2026-01-01T10:21:00Z', 'm21b', 5),
  '[]'::jsonb, 'nothing after the newest');
select throws_ok($$ select get_conversation_messages_after(current_setting('test.conv')::uuid, null) $$,
  '22023', 'after_sent_at: required', 'the cursor is required');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is(get_conversation_messages_after(current_setting('test.conv')::uuid, '2026-01-01T10:00:00Z'), '[]'::jsonb,
  'another user reads nothing');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select get_conversation_messages_after(current_setting('test.conv')::uuid, '2026-01-01T10:00:00Z') $$,
  '42501', null, 'anon is refused');

select * from finish();
rollback;
