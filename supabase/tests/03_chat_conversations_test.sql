-- chat_conversations, chat_conversation_archives, chat_conversation_list:
-- read by the owner, link columns and delete only, messages only through ingest.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(29);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
insert into public.people (id, user_id, full_name) values
  ('11111111-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Owner''s client'),
  ('22222222-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Other''s client');
update messaging_private.settings set value = 4 where key = 'hot_max_messages';
update messaging_private.settings set value = 2 where key = 'hot_keep_messages';
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'telegram',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'chat-1', 'id', 'm' || i,
    'direction', 'inbound', 'content', 'hi ' || i, 'sent_at', '2026-01-01T10:0' || i || ':00Z'))
    from generate_series(1, 6) i)));

select tests.rls_enabled('public', 'chat_conversations');
select tests.rls_enabled('public', 'chat_conversation_archives');
select policies_are('public', 'chat_conversations', array[
  'Users can view their own conversations', 'Users can link their own conversations to their own people',
  'Users can delete their own conversations']);
select policies_are('public', 'chat_conversation_archives', array[
  'Users can view the archives of their own conversations']);
select is((select reloptions from pg_class where oid = 'public.chat_conversation_list'::regclass),
  array['security_invoker=true'], 'the list view runs as the caller');
select hasnt_column('public', 'chat_conversation_list', 'messages', 'the list has no messages');
select ok(not has_table_privilege('authenticated', 'public.chat_conversations', 'insert'), 'no direct insert');
select ok(not has_column_privilege('authenticated', 'public.chat_conversations', 'messages', 'update'),
  'messages are not updatable');
select ok(not has_column_privilege('authenticated', 'public.chat_conversations', 'user_id', 'update'),
  'the owner is not updatable');
select ok(has_column_privilege('authenticated', 'public.chat_conversations', 'person_id', 'update'),
  'person_id is updatable');

-- the plan of a query, as text (the inbox's order must come from its index)
create function pg_temp.plan_of(query text) returns text language plpgsql as $f$
declare
  line text;
  plan text := '';
begin
  for line in execute 'explain (costs off) ' || query loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end;
$f$;

-- ============================== owner =========================================
select tests.authenticate_as('owner');
-- the inbox screen's first page (PostgREST's order=last_message_at.desc,id.desc): read in
-- the index's order, never by sorting all of the user's conversations
-- (whether the index can give that order, whatever statistics the table has just now)
set local enable_seqscan = off;
set local enable_bitmapscan = off;
set local enable_sort = off;
select doesnt_match(pg_temp.plan_of($$ select id from public.chat_conversation_list where last_message_at is not null
  order by last_message_at desc, id desc limit 50 $$), '%Sort%', 'the inbox''s keyset order needs no sort');
select matches(pg_temp.plan_of($$ select id from public.chat_conversation_list where last_message_at is not null
  order by last_message_at desc, id desc limit 50 $$), 'Index (Only )?Scan using chat_conversations_user_last_message_idx',
  'the inbox page reads the inbox index');
reset enable_seqscan;
reset enable_bitmapscan;
reset enable_sort;
select results_eq($$ select message_count from public.chat_conversation_list $$, array[6], 'owner sees the conversation');
select isnt_empty($$ select 1 from public.chat_conversation_archives $$, 'owner sees its archive');
select isnt_empty($$ update public.chat_conversations set person_id = '11111111-0000-4000-8000-000000000001',
  entity_table = 'deals' returning 1 $$, 'owner links to their own person');
select throws_ok($$ update public.chat_conversations set person_id = '22222222-0000-4000-8000-000000000002' $$,
  '42501', null, 'owner cannot link to someone else''s person');
select throws_ok($$ update public.chat_conversations set messages = '[]' $$, '42501', null, 'owner cannot rewrite messages');
select throws_ok($$ update public.chat_conversations set user_id = '22222222-2222-4222-8222-222222222222' $$,
  '42501', null, 'owner cannot give the conversation away');
select throws_ok($$ insert into public.chat_conversations (user_id, platform, external_conversation_id)
  values ('11111111-1111-4111-8111-111111111111', 'whatsapp', 'x') $$, '42501', null, 'owner cannot insert directly');
select throws_ok($$ delete from public.chat_conversation_archives $$, '42501', null, 'archives are not deletable directly');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is_empty($$ select 1 from public.chat_conversations $$, 'other user sees no conversation');
select is_empty($$ select 1 from public.chat_conversation_list $$, 'other user sees nothing in the list');
select is_empty($$ select 1 from public.chat_conversation_archives $$, 'other user sees no archive');
select is_empty($$ update public.chat_conversations set entity_table = 'x' returning 1 $$, 'other user updates nothing');
select is_empty($$ delete from public.chat_conversations returning 1 $$, 'other user deletes nothing');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select * from public.chat_conversations $$, '42501', null, 'anon cannot read conversations');
select throws_ok($$ select * from public.chat_conversation_list $$, '42501', null, 'anon cannot read the list');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select results_eq($$ select count(*)::int from public.chat_conversation_archives a
  join public.chat_conversations c on c.id = a.conversation_id where c.external_conversation_id = 'chat-1' $$,
  array[1], 'service_role reads archives');

-- ============================== owner deletes ================================
select tests.authenticate_as('owner');
select isnt_empty($$ delete from public.chat_conversations returning 1 $$, 'owner deletes the conversation');

select * from finish();
rollback;
