-- Merges (30_merges.sql ... 32_merges_people.sql): the owner merges and undoes, another user
-- finds nothing of theirs, anon may call nothing; every refusal changes nothing.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(24);

select tests.create_supabase_user('merge_owner', 'merge_owner@test', fixed_id => '31111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('merge_other', 'merge_other@test', fixed_id => '32222222-2222-4222-8222-222222222222');
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '31111111-1111-4111-8111-111111111111', 'platform', 'whatsapp',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', '+34600000071', 'id', 'k1',
      'direction', 'inbound', 'content', 'keep one', 'sent_at', '2026-01-01T10:00:00Z'),
    jsonb_build_object('external_conversation_id', '34600000071', 'id', 'o1',
      'direction', 'inbound', 'content', 'other one', 'sent_at', '2026-01-01T09:00:00Z'),
    jsonb_build_object('external_conversation_id', '34600000071', 'id', 'k1',
      'direction', 'inbound', 'content', 'keep one', 'sent_at', '2026-01-01T10:00:00Z'))));
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '31111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', '+34600000071', 'id', 's1',
    'direction', 'inbound', 'content', 'signal', 'sent_at', '2026-01-01T10:00:00Z'))));
select set_config('test.keep', (select id::text from public.chat_conversations
  where external_conversation_id = '+34600000071' and platform = 'whatsapp'
    and user_id = '31111111-1111-4111-8111-111111111111'), true);
select set_config('test.other', (select id::text from public.chat_conversations
  where external_conversation_id = '34600000071' and user_id = '31111111-1111-4111-8111-111111111111'), true);
select set_config('test.signal', (select id::text from public.chat_conversations where platform = 'signal'
  and user_id = '31111111-1111-4111-8111-111111111111'), true);
insert into public.people (id, user_id, full_name) values
  ('3a111111-1111-4111-8111-111111111111', '31111111-1111-4111-8111-111111111111', 'Ana'),
  ('3b111111-1111-4111-8111-111111111111', '31111111-1111-4111-8111-111111111111', 'Ana R'),
  ('3c222222-2222-4222-8222-222222222222', '32222222-2222-4222-8222-222222222222', 'Not yours');

-- ============================== the objects ====================================
select has_index('messaging_private', 'conversation_merges', 'conversation_merges_route_idx',
  array['user_id', 'platform', 'other_key'], 'ingest finds a merged key in one index lookup');
select table_privs_are('messaging_private', 'conversation_merges', 'authenticated', array[]::text[],
  'the merge records are not exposed');

-- ============================== owner =========================================
select tests.authenticate_as('merge_owner');
select is((select (x ->> 'moved')::int from merge_conversations(current_setting('test.keep')::uuid,
  current_setting('test.other')::uuid, true) x), 1, 'the dry run previews one message moving');
select is((select count(*)::int from chat_conversations), 3, 'the dry run changed nothing');
select is((select jsonb_agg(s.kind || ':' || s.reason) from suggest_duplicates() s),
  '["conversations:same_participant"]'::jsonb, 'the two WhatsApp conversations of one number are suggested');
select set_config('test.merge', (merge_conversations(current_setting('test.keep')::uuid,
  current_setting('test.other')::uuid) ->> 'merge_id'), true);
select is((select message_count from chat_conversations where id = current_setting('test.keep')::uuid), 2,
  'keep holds both messages once');
select is((select count(*)::int from chat_conversations where id = current_setting('test.other')::uuid), 0,
  'the other conversation is gone');
select is((select jsonb_array_length(list_merges())), 1, 'the owner sees the record');
select throws_ok($$ select merge_conversations(current_setting('test.keep')::uuid, current_setting('test.keep')::uuid) $$,
  '22023', null, 'a conversation merged with itself is refused');
select throws_ok($$ select merge_conversations(current_setting('test.keep')::uuid, current_setting('test.signal')::uuid) $$,
  '22023', null, 'conversations of two platforms are refused');
select is((undo_merge(current_setting('test.merge')::uuid) ->> 'restored')::int, 2, 'undo gives back both of the other''s messages');
select is((select array_agg(message_count order by external_conversation_id) from chat_conversations
            where platform = 'whatsapp'), array[1, 2], 'both conversations are as they were');
select throws_ok($$ select undo_merge(current_setting('test.merge')::uuid) $$, '55000', null, 'undoing twice is refused');
select throws_ok($$ select undo_merge('00000000-0000-4000-8000-000000000000') $$, 'P0002', null, 'an unknown merge is refused');
select is((merge_people('3a111111-1111-4111-8111-111111111111', '3b111111-1111-4111-8111-111111111111') ->> 'dry_run'),
  'false', 'the owner merges two people of theirs');
select throws_ok($$ select merge_people('3a111111-1111-4111-8111-111111111111', '3c222222-2222-4222-8222-222222222222') $$,
  'P0002', null, 'another user''s person is not found');

-- ============================== another user ===================================
select tests.authenticate_as('merge_other');
select throws_ok($$ select merge_conversations(current_setting('test.keep')::uuid, current_setting('test.other')::uuid) $$,
  'P0002', null, 'another user''s conversations are not found');
select throws_ok($$ select undo_merge(current_setting('test.merge')::uuid) $$, 'P0002', null,
  'another user''s merge is not found');
select is(list_merges(), '[]'::jsonb, 'sees none of the owner''s merges');
select is_empty($$ select * from suggest_duplicates() $$, 'gets no suggestion from the owner''s rows');
reset role;
select is((select count(*)::int from public.chat_conversations where user_id = '31111111-1111-4111-8111-111111111111'), 3,
  'the owner''s conversations are untouched by the other user''s calls');

-- ============================== anon ===========================================
select function_privs_are('public', 'merge_conversations', array['uuid', 'uuid', 'boolean'], 'anon', array[]::text[],
  'anon cannot merge conversations');
select function_privs_are('public', 'undo_merge', array['uuid'], 'anon', array[]::text[], 'anon cannot undo');
select function_privs_are('public', 'suggest_duplicates', array[]::text[], 'anon', array[]::text[],
  'anon gets no suggestions');

select * from finish();
rollback;
