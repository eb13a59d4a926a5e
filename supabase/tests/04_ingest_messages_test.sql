-- ingest_messages: who may call it, for whom, and the all-or-nothing validation.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(20);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
insert into public.people (id, user_id, full_name) values
  ('22222222-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Other''s client');

select function_privs_are('public', 'ingest_messages', array['jsonb'], 'anon', array[]::text[], 'anon cannot execute');
select function_privs_are('public', 'ingest_messages', array['jsonb'], 'authenticated', array['EXECUTE']);
select is((select prosecdef from pg_proc where oid = 'messaging_private.ingest_messages(jsonb)'::regprocedure), true,
  'the privileged body is security definer');
select is((select proconfig from pg_proc where oid = 'messaging_private.ingest_messages(jsonb)'::regprocedure),
  array['search_path=""'], 'and pins search_path');
select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('public', 'messaging_private') and p.prokind = 'f'
    and not coalesce(array['search_path=""'] <@ p.proconfig, false)), 0,
  'every function of the project pins search_path');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select is(public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "+34600000001", "id": "a", "direction": "inbound", "content": "hola", "sent_at": "2026-01-01T10:00:00Z"},
  {"external_conversation_id": "+34600000001", "id": "b", "direction": "outbound", "content": "hi", "sent_at": "2026-01-01T10:01:00+01:00"}
  ]}') - 'conversations', '{"inserted": 2, "duplicates": 0, "updated": 0, "matched": 0}'::jsonb, 'owner ingests');
select is(public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "+34600000001", "id": "a", "direction": "inbound", "content": "hola", "sent_at": "2026-01-01T10:00:00Z"}
  ]}') - 'conversations', '{"inserted": 0, "duplicates": 1, "updated": 0, "matched": 0}'::jsonb, 're-ingest is a no-op');
select results_eq($$ select jsonb_path_query_array(messages, '$[*].id') from public.chat_conversations $$,
  $$ values ('["b", "a"]'::jsonb) $$, 'sorted by sent_at (09:01Z before 10:00Z)');
select throws_ok($$ select public.ingest_messages('{"user_id": "22222222-2222-4222-8222-222222222222", "messages": []}') $$,
  '42501', null, 'owner cannot ingest for another user');
select throws_ok($$ select public.ingest_messages('{"messages": [{"platform": "signal", "external_conversation_id": "x",
  "id": "1", "direction": "inbound", "sent_at": "2026-01-01T10:00:00Z", "person_id": "22222222-0000-4000-8000-000000000002"}]}') $$,
  '42501', null, 'owner cannot link another user''s person');
select throws_ok($$ select public.ingest_messages('{"messages": [{"platform": "signal", "external_conversation_id": "x",
  "id": "1", "direction": "inbound", "sent_at": "2026-01-01T10:00:00"}]}') $$,
  '22023', 'invalid payload, 1 problem: messages[0].sent_at: "2026-01-01T10:00:00" is not an ISO 8601 timestamp with an offset, like 2026-02-01T10:30:00Z',
  'a timestamp without offset is named by path');
select throws_ok($$ select public.ingest_messages('[]') $$, '22023', null, 'a payload that is not an object');
select throws_ok($$ select public.ingest_messages(jsonb_build_object('messages',
  (select jsonb_agg('{}'::jsonb) from generate_series(1, 10001)))) $$, '22023',
  'messages: 10001 messages in one call; at most 10000', 'more than 10,000 messages');
select results_eq($$ select count(*)::int from public.chat_conversations $$, array[1], 'refused calls wrote nothing');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is((public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "+34600000001", "id": "a", "direction": "inbound", "content": "mine", "sent_at": "2026-01-01T10:00:00Z"}
  ]}') ->> 'inserted')::int, 1, 'the same conversation id is a new conversation for another user');
select results_eq($$ select count(*)::int from public.chat_conversations $$, array[1], 'and sees only theirs');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select public.ingest_messages('{"messages": []}') $$, '42501', null, 'anon cannot ingest');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select throws_ok($$ select public.ingest_messages('{"messages": []}') $$, '22023', null, 'service_role must name user_id');
select is((public.ingest_messages('{"user_id": "11111111-1111-4111-8111-111111111111", "platform": "wechat", "messages": [
  {"external_conversation_id": "wxid_x", "id": "1", "direction": "inbound", "content": "你好", "sent_at": "2026-01-01T10:00:00Z"}
  ]}') ->> 'inserted')::int, 1, 'service_role ingests for the named user');
select throws_ok($$ select public.ingest_messages('{"user_id": "33333333-3333-4333-8333-333333333333", "messages": []}') $$,
  '22023', null, 'service_role naming no real user');

select * from finish();
rollback;
