-- person_timeline, export_person, erase_person: a person's messages across conversations and
-- the archive, only for the owner; erase keeps hashes only, and ingest skips what was erased.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(21);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
update messaging_private.settings set value = 5 where key = 'hot_max_messages';
update messaging_private.settings set value = 3 where key = 'hot_keep_messages';
update messaging_private.settings set value = 4 where key = 'archive_chunk_messages';
insert into public.people (id, user_id, full_name, phone)
values ('33333333-3333-4333-8333-333333333333', '11111111-1111-4111-8111-111111111111', 'Ana', '+34612340099');
-- two conversations of Ana a minute apart each (w01..w12 on WhatsApp at even minutes, s01..s12
-- on Signal at odd minutes), and one of someone else
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111',
  'messages', (select jsonb_agg(jsonb_build_object('platform', p.platform, 'external_conversation_id', p.conv,
      'id', p.prefix || lpad(i::text, 2, '0'), 'direction', 'inbound', 'content', 'quokka ' || p.prefix || i,
      'person_id', p.person, 'participant_identifier', '+34612340099',
      'sent_at', '2026-01-01T10:00:00Z'::timestamptz + (2 * i + p.shift) * interval '1 minute'))
    from generate_series(1, 12) i,
         (values ('whatsapp', 'ana-wa', 'w', 0, '33333333-3333-4333-8333-333333333333'),
                 ('signal', 'ana-sig', 's', 1, '33333333-3333-4333-8333-333333333333'),
                 ('signal', 'someone', 'x', 0, null)) p(platform, conv, prefix, shift, person))));

select function_privs_are('public', 'person_timeline', array['uuid', 'text', 'text', 'text', 'integer'],
  'anon', array[]::text[], 'anon cannot execute person_timeline');
select function_privs_are('public', 'erase_person', array['uuid'], 'anon', array[]::text[], 'anon cannot execute erase_person');
select tests.rls_enabled('messaging_private', 'erased_conversations');
select tests.rls_enabled('messaging_private', 'erased_messages');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select is(jsonb_path_query_array(person_timeline('33333333-3333-4333-8333-333333333333', max_count => 4), '$.messages[*].message.id'),
  '["w11", "s11", "w12", "s12"]', 'the newest page, oldest first, both platforms inline');
select set_config('test.older', person_timeline('33333333-3333-4333-8333-333333333333', max_count => 4) ->> 'older', true);
select is(jsonb_path_query_array(person_timeline('33333333-3333-4333-8333-333333333333', before => current_setting('test.older'),
  max_count => 5), '$.messages[*].message.id'), '["s08", "w09", "s09", "w10", "s10"]', 'the older page from the archive chunks');
select is(jsonb_path_query_array(person_timeline('33333333-3333-4333-8333-333333333333',
  after => (person_timeline('33333333-3333-4333-8333-333333333333', max_count => 24) -> 'messages' -> 0 ->> 'cursor'),
  max_count => 3), '$.messages[*].message.id'), '["s01", "w02", "s02"]', 'a newer page from the oldest message');
select is(jsonb_path_query_array(person_timeline('33333333-3333-4333-8333-333333333333', query => 'w7'),
  '$.messages[*].message.id'), '["w07"]', 'a search within the person');
select is(person_timeline('33333333-3333-4333-8333-333333333333', max_count => 24) ->> 'older', null, 'the first message: no older page');
select throws_ok($$ select person_timeline('33333333-3333-4333-8333-333333333333', before => 'nonsense') $$,
  '22023', null, 'a cursor no page returned is refused');
select is(jsonb_array_length(export_person('33333333-3333-4333-8333-333333333333') #> '{conversations,0,messages}'), 12,
  'the export holds every message, archive included');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select throws_ok($$ select person_timeline('33333333-3333-4333-8333-333333333333') $$, 'P0002', null,
  'another user''s person: not found');
select throws_ok($$ select export_person('33333333-3333-4333-8333-333333333333') $$, 'P0002', null, 'nor exported');
select throws_ok($$ select erase_person('33333333-3333-4333-8333-333333333333') $$, 'P0002', null, 'nor erased');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select erase_person('33333333-3333-4333-8333-333333333333') $$, '42501', null, 'anon is refused');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select is(jsonb_array_length(export_person('33333333-3333-4333-8333-333333333333') -> 'conversations'), 2,
  'service_role exports the person it names');

-- ============================== owner erases ==================================
select tests.authenticate_as('owner');
select is(erase_person('33333333-3333-4333-8333-333333333333'),
  '{"person_id": "33333333-3333-4333-8333-333333333333", "conversations": 2, "messages": 24}', 'the owner erases Ana');
select is((select count(*) from public.chat_conversations), 1::bigint, 'only the other conversation is left');

-- ============================== what is left (as the database owner) =========
reset role;
select is((select count(*) from messaging_private.search_segments s
            where s.user_id = '11111111-1111-4111-8111-111111111111'
              and (s.document like '%quokka w%' or s.document like '%quokka s%')), 0::bigint, 'no search segment holds her words');
select is((select count(*) from messaging_private.erased_messages
            where user_id = '11111111-1111-4111-8111-111111111111'), 24::bigint, 'a hash per erased message is kept');
select is((messaging_private.ingest_messages(jsonb_build_object('user_id', '11111111-1111-4111-8111-111111111111',
  'messages', jsonb_build_array(
    jsonb_build_object('platform', 'whatsapp', 'external_conversation_id', 'ana-wa', 'id', 'w03', 'direction', 'inbound',
      'content', 'again', 'sent_at', '2026-01-01T10:06:00Z'),
    jsonb_build_object('platform', 'whatsapp', 'external_conversation_id', 'ana-wa', 'id', 'w99', 'direction', 'inbound',
      'content', 'new', 'sent_at', '2026-01-02T10:00:00Z')))) ->> 'inserted')::integer, 1,
  'an erased message sent again is dropped; a new one is stored');

select * from finish();
rollback;
