-- Phone variants and linking from the screens: subscriber keys fold a number's national
-- spellings (the whole table is tests/fixtures/phone_variants.csv, run by pytest through
-- SQL and Python); link_conversation_to_person / create_person_from_conversation record
-- the participant's identifier; suggest_people lists the matching people first.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(22);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');

-- ============================== the key =======================================
select is(messaging_private.subscriber_key('+5511987654321'), '+551187654321', 'Brazil: the ninth digit folds');
select is(messaging_private.subscriber_key('+551187654321'), '+551187654321', 'Brazil: the eight-digit mobile is the key');
select is(messaging_private.subscriber_key('+551132654321'), '+551132654321', 'Brazil: a landline (3) is its own key');
select is(messaging_private.subscriber_key('+5511932654321'), '+5511932654321', 'Brazil: 9 then 3 does not fold onto the landline');
select is(messaging_private.subscriber_key('+5215512345678'), '+525512345678', 'Mexico: 52 1 folds');
select is(messaging_private.subscriber_key('+5491123456789'), '+541123456789', 'Argentina: 54 9 folds');
select is(messaging_private.subscriber_key('joaosilva'), 'joaosilva', 'a username is its own key');

-- ============================== anon ==========================================
select function_privs_are('public', 'link_conversation_to_person', array['uuid', 'uuid'], 'anon', array[]::text[],
  'anon cannot link');
select function_privs_are('public', 'create_person_from_conversation', array['uuid', 'text'], 'anon', array[]::text[],
  'anon cannot create a person');
select function_privs_are('public', 'suggest_people', array['uuid', 'text', 'integer'], 'anon', array[]::text[],
  'anon cannot ask for suggestions');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select ingest_messages(jsonb_build_object('messages', jsonb_build_array(
  jsonb_build_object('platform', 'whatsapp', 'external_conversation_id', 'wa1', 'id', 'm1', 'direction', 'inbound',
    'type', 'text', 'content', 'oi', 'sent_at', '2026-05-01T10:00:00Z', 'participant_identifier', '551187654321@s.whatsapp.net'),
  jsonb_build_object('platform', 'signal', 'external_conversation_id', 'sg1', 'id', 'm2', 'direction', 'inbound',
    'type', 'text', 'content', 'oi', 'sent_at', '2026-05-01T10:01:00Z', 'participant_identifier', '+55 11 98765-4321'))));
select set_config('test.wa1', (select id::text from chat_conversations where external_conversation_id = 'wa1'), true);
select set_config('test.sg1', (select id::text from chat_conversations where external_conversation_id = 'sg1'), true);
select set_config('test.ana', (select create_person_from_conversation(current_setting('test.wa1')::uuid, 'Ana')) ->> 'person_id', true);
select is((select kind || ' ' || value || ' ' || match_key from person_identifiers
            where person_id = current_setting('test.ana')::uuid),
  'phone +551187654321 +551187654321', 'creating a person records the participant''s phone');
select is((select person_id::text from chat_conversations where id = current_setting('test.sg1')::uuid),
  current_setting('test.ana'), 'the Signal chat of the ninth-digit spelling links at once');
select is((select (create_person_from_conversation(current_setting('test.wa1')::uuid, 'Ana')) ->> 'created'), 'false',
  'a retry creates nobody');
insert into people (full_name) values ('Ana Twin');
insert into person_identifiers (person_id, kind, value)
  select id, 'phone', '+55 11 98765-4321' from people where full_name = 'Ana Twin';
select results_eq($$ select reason from suggest_people(current_setting('test.wa1')::uuid) limit 2 $$,
  array['identifier', 'identifier'], 'both people of the key are suggested first');
select throws_ok($$ select create_person_from_conversation(current_setting('test.wa1')::uuid, '  ') $$,
  '22023', 'full_name: give the person a name of 1 to 500 characters', 'an empty name is refused');
select is((select count(*)::int from people), 2, 'and nobody was created');

-- ============================== another user ==================================
select tests.authenticate_as('other');
insert into people (full_name) values ('Not Ana');
select set_config('test.not_ana', (select id::text from people where full_name = 'Not Ana'), true);
select throws_ok(format('select link_conversation_to_person(%L, (select id from people limit 1))', current_setting('test.wa1')),
  'P0002', null, 'another user''s conversation is not found');
select throws_ok(format('select suggest_people(%L)', current_setting('test.wa1')),
  'P0002', null, 'nor suggested for');
select throws_ok(format('select create_person_from_conversation(%L, %L)', current_setting('test.wa1'), 'Mine'),
  'P0002', null, 'nor made into a person');
select is((select count(*)::int from people), 1, 'the other user created nobody');

select tests.authenticate_as('owner');
select throws_ok(format('select link_conversation_to_person(%L, %L)', current_setting('test.wa1'),
    current_setting('test.not_ana')),
  'P0002', null, 'the owner cannot link to another user''s person');
select is((select person_id::text from chat_conversations where id = current_setting('test.wa1')::uuid),
  current_setting('test.ana'), 'the link is unchanged');

select * from finish();
rollback;
