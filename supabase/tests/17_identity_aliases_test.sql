-- Identity aliases (docs/contract.md): the identifier kinds, participant_ids of a message
-- recorded as a conversation's aliases, routing by them, link suggestions, people linked by
-- ids that are not phones, and the system line of a change; RLS in role sections.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(40);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
insert into public.people (id, user_id, full_name) values
  ('11111111-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Ana'),
  ('22222222-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Other''s client');

select tests.rls_enabled('public', 'chat_conversation_identifiers');
select tests.rls_enabled('public', 'chat_conversation_link_suggestions');
select policies_are('public', 'chat_conversation_identifiers', array[
  'Users can view the identifiers of their own conversations']);
select policies_are('public', 'chat_conversation_link_suggestions', array[
  'Users can view their own link suggestions', 'Users can dismiss their own link suggestions']);
select indexes_are('public', 'chat_conversation_identifiers', array[
  'chat_conversation_identifiers_pkey', 'chat_conversation_identifiers_unique',
  'chat_conversation_identifiers_conversation_id_idx', 'chat_conversation_identifiers_user_kind_value_idx']);

-- the kinds' forms
select is(messaging_private.normalize_identifier('whatsapp_user_id', ' us.13491208655302741918 '), 'US.13491208655302741918',
  'a business-scoped user id: the country upper-case');
select is(messaging_private.normalize_identifier('whatsapp_user_id', 'US.ENT.1181'), null, 'a parent id is not a user id');
select is(messaging_private.normalize_identifier('whatsapp_parent_user_id', 'us.ent.11815799212886844830'),
  'US.ENT.11815799212886844830', 'a parent business-scoped user id');
select is(messaging_private.normalize_identifier('whatsapp_lid', '123456789012345@lid'), '123456789012345', 'a LID jid');
select is(messaging_private.normalize_identifier('telegram_user_id', 'user7770001'), '7770001', 'an export''s user id');
select is(messaging_private.normalize_identifier('telegram_user_id', 'olga'), null, 'a username is no user id');
select is(messaging_private.normalize_identifier('signal_aci', 'ACI:7CCAE375-CD51-4C82-8B1E-7BE3280AA485'),
  '7ccae375-cd51-4c82-8b1e-7be3280aa485', 'an ACI, lower-case, without its prefix');
select is(messaging_private.normalize_identifier('signal_aci', 'PNI:7ccae375-cd51-4c82-8b1e-7be3280aa485'), null,
  'a PNI is not an ACI');
select is(messaging_private.normalize_identifier('wechat_openid', 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'),
  'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 'an openid keeps its case');
select results_eq($$ select pg_catalog.count(*)::int from messaging_private.identifier_kinds $$, array[10], 'ten kinds');

-- ============================== owner =========================================
select tests.authenticate_as('owner');

select lives_ok($$ select public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "US.13491208655302741918", "id": "u1", "direction": "inbound",
   "sent_at": "2026-12-01T10:00:00Z", "content": "sin teléfono",
   "participant_ids": {"whatsapp_user_id": "US.13491208655302741918", "username": "@Ana.Lopez"}}]}') $$,
  'a message keyed by the user id, with its ids');
select results_eq($$ select kind, value from public.chat_conversation_identifiers order by kind $$,
  $$ values ('username', 'ana.lopez'), ('whatsapp_user_id', 'US.13491208655302741918') $$,
  'its ids are the conversation''s aliases, normalised');
select lives_ok($$ select public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "+34612000111", "id": "u2", "direction": "inbound",
   "sent_at": "2026-12-01T10:01:00Z", "content": "con teléfono",
   "participant_ids": {"whatsapp_user_id": "US.13491208655302741918", "phone": "+34612000111"}},
  {"external_conversation_id": "+34612000111", "id": "u3", "direction": "inbound",
   "sent_at": "2026-12-01T10:02:00Z", "content": "otra", "participant_ids": {"phone": "+34612000111"}}]}') $$,
  'a message keyed by the phone, carrying the user id');
select results_eq($$ select external_conversation_id, message_count from public.chat_conversations $$,
  $$ values ('US.13491208655302741918', 3) $$, 'lands in the conversation the user id names: one conversation');
select throws_ok($$ select public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "+34612000111", "id": "u4", "direction": "inbound",
   "sent_at": "2026-12-01T10:03:00Z", "participant_ids": {"icq": "1"}}]}') $$,
  '22023', null, 'an unknown kind refuses the message');
select results_eq($$ select message_count from public.chat_conversations $$, array[3], 'and changes nothing');

-- a person given the user id is linked at once; the conversation's phone is theirs from then
select lives_ok($$ insert into public.person_identifiers (person_id, kind, platform, value)
  values ('11111111-0000-4000-8000-000000000001', 'whatsapp_user_id', 'whatsapp', 'us.13491208655302741918') $$,
  'owner adds a user id to a person');
select results_eq($$ select person_id from public.chat_conversations $$,
  array['11111111-0000-4000-8000-000000000001'::uuid], 'the conversation with that alias is linked');
select throws_ok($$ insert into public.person_identifiers (person_id, kind, value)
  values ('11111111-0000-4000-8000-000000000001', 'icq', '1') $$, '22023', null, 'an unknown kind is refused');
select throws_ok($$ insert into public.person_identifiers (person_id, kind, value)
  values ('11111111-0000-4000-8000-000000000001', 'signal_aci', 'not-a-uuid') $$, '22023', null,
  'a malformed id is refused');

-- a new number without WhatsApp's line: the store's own system line, the person gains it
select lives_ok($$ select public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "+34699000222", "id": "u5", "direction": "inbound",
   "sent_at": "2026-12-01T11:00:00Z", "content": "número nuevo",
   "participant_ids": {"whatsapp_user_id": "US.13491208655302741918", "phone": "+34699000222"}}]}') $$,
  'a message from a new number with the same user id');
select results_eq($$ select m ->> 'id', m ->> 'type' from public.chat_conversations c,
    pg_catalog.jsonb_array_elements(c.messages) m where m ->> 'sent_at' >= '2026-12-01T10:59' order by m ->> 'sent_at' $$,
  $$ values ('identity:phone:+34699000222', 'system'), ('u5', 'text') $$, 'the change is a system line before it');
select results_eq($$ select count(*)::int from public.person_identifiers where kind = 'phone' and value = '+34699000222' $$,
  array[1], 'the person gains the new number');

-- an id already an alias of another conversation: a suggestion, no merge
select lives_ok($$ select public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "+34655000333", "id": "x1", "direction": "inbound",
   "sent_at": "2026-12-01T12:00:00Z", "content": "otra conversación"}]}') $$, 'another conversation');
select lives_ok($$ select public.ingest_messages('{"platform": "whatsapp", "messages": [
  {"external_conversation_id": "+34655000333", "id": "x2", "direction": "inbound",
   "sent_at": "2026-12-01T12:01:00Z", "participant_ids": {"whatsapp_user_id": "US.13491208655302741918"}}]}') $$,
  'it carries the first conversation''s user id');
select results_eq($$ select count(*)::int from public.chat_conversations $$, array[2], 'both conversations stay');
select results_eq($$ select kind, value from public.chat_conversation_link_suggestions $$,
  $$ values ('whatsapp_user_id', 'US.13491208655302741918') $$, 'the shared id is a suggestion');

-- ============================== other user ===================================
select tests.authenticate_as('other');

select is_empty($$ select 1 from public.chat_conversation_identifiers $$, 'other user sees no aliases of the owner');
select is_empty($$ select 1 from public.chat_conversation_link_suggestions $$, 'nor their suggestions');
select is_empty($$ delete from public.chat_conversation_link_suggestions returning 1 $$, 'and dismisses none');
select throws_ok($$ insert into public.chat_conversation_identifiers (user_id, conversation_id, platform, kind, value)
  select user_id, id, platform, 'phone', '+34600000000' from public.chat_conversations $$, '42501', null,
  'nobody writes aliases through the API');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select * from public.chat_conversation_identifiers $$, '42501', null, 'anon cannot read aliases');
select throws_ok($$ select * from public.chat_conversation_link_suggestions $$, '42501', null,
  'anon cannot read suggestions');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select results_eq($$ select count(*)::int from public.chat_conversation_identifiers
  where user_id = '11111111-1111-4111-8111-111111111111' $$, array[4], 'service_role reads every user''s aliases');
select throws_ok($$ delete from public.chat_conversation_identifiers $$, '42501', null,
  'service_role writes no aliases either: the store does');

select * from finish();
rollback;
