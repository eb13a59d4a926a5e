-- The live call's short paths (session 8, issues 27 and 31: the speed won back) give what
-- the general paths give: one conversation's coverage row updated in place, change_xid
-- stamped by the ingest itself and by the trigger for every other writer, new
-- conversations' search names from one statement trigger, and the erased / merged steps
-- skipped only for an owner who has neither.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(17);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');

-- a first call creates the conversation and its webhook source; then one-message calls
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp', 'source', 'webhook',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', 'L1', 'id', 'a', 'direction', 'inbound',
      'content', 'hola', 'sent_at', '2026-05-02T09:00:00Z'),
    jsonb_build_object('external_conversation_id', 'L1', 'id', 'b', 'direction', 'outbound',
      'content', 'buenas', 'sent_at', '2026-05-02T09:05:00Z'))));
select set_config('test.conv', (select id::text from public.chat_conversations where external_conversation_id = 'L1'), true);
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp', 'source', 'webhook',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'L1', 'id', 'c',
    'direction', 'inbound', 'content', 'antes', 'sent_at', '2026-05-01T08:00:00Z'))));
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp', 'source', 'webhook',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'L1', 'id', 'd',
    'direction', 'inbound', 'content', 'despues', 'sent_at', '2026-05-03T10:00:00Z'))));
-- a retry of the last one: a duplicate
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp', 'source', 'webhook',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'L1', 'id', 'd',
    'direction', 'inbound', 'content', 'despues', 'sent_at', '2026-05-03T10:00:00Z'))));

-- ============================== coverage ======================================
select results_eq($$ select kind, first_message_at, last_message_at, inserted, duplicates, batches
                      from chat_conversation_sources where conversation_id = current_setting('test.conv')::uuid $$,
  $$ values ('webhook'::text, '2026-05-01T08:00:00Z'::timestamptz, '2026-05-03T10:00:00Z'::timestamptz,
             4::bigint, 1::bigint, 4::bigint) $$,
  'one-message calls update the source''s one row in place: span stretched both ways, counts and calls added');
-- another source of the same conversation, one message: a row of its own (the insert)
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp', 'source', 'export',
  'source_name', 'chat.txt',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'L1', 'id', 'e',
    'direction', 'inbound', 'content', 'viejo', 'sent_at', '2026-04-01T08:00:00Z'))));
select results_eq($$ select kind, name, inserted, batches from chat_conversation_sources
                      where conversation_id = current_setting('test.conv')::uuid order by kind $$,
  $$ values ('export'::text, 'chat.txt'::text, 1::bigint, 1::bigint), ('webhook', '', 4, 4) $$,
  'a one-message call of a new source gets its own row');
-- a call into two conversations at once: the general upsert, one row each
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp', 'source', 'webhook',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', 'L1', 'id', 'f', 'direction', 'inbound',
      'content', 'otra', 'sent_at', '2026-05-04T10:00:00Z'),
    jsonb_build_object('external_conversation_id', 'L2', 'id', 'g', 'direction', 'inbound',
      'content', 'nueva', 'sent_at', '2026-05-04T11:00:00Z'))));
select results_eq($$ select c.external_conversation_id, s.inserted, s.batches, s.last_message_at
                      from chat_conversation_sources s join chat_conversations c on c.id = s.conversation_id
                     where s.kind = 'webhook' order by 1 $$,
  $$ values ('L1'::text, 5::bigint, 5::bigint, '2026-05-04T10:00:00Z'::timestamptz),
            ('L2', 1, 1, '2026-05-04T11:00:00Z') $$,
  'a call into two conversations keeps both rows as before');

-- ============================== change_xid ====================================
select is((select change_xid from chat_conversations where id = current_setting('test.conv')::uuid),
  pg_current_xact_id()::text::bigint, 'the ingest''s update stamps the row itself');
select is((select count(*)::int from chat_conversations where external_conversation_id = 'L2'
            and change_xid = pg_current_xact_id()::text::bigint), 1, 'and so does its insert');
update chat_conversations set participant_name = 'Ana', change_xid = 0
 where id = current_setting('test.conv')::uuid;
select is((select change_xid from chat_conversations where id = current_setting('test.conv')::uuid),
  pg_current_xact_id()::text::bigint, 'a writer that sets another stamp is stamped by the trigger');
insert into chat_conversations (user_id, platform, external_conversation_id, change_xid)
values ('11111111-1111-4111-8111-111111111111', 'telegram', 'T1', 42);
select is((select change_xid from chat_conversations where external_conversation_id = 'T1'),
  pg_current_xact_id()::text::bigint, 'and an insert that sets another stamp too');
insert into chat_conversations (user_id, platform, external_conversation_id)
values ('11111111-1111-4111-8111-111111111111', 'telegram', 'T2');
select is((select change_xid from chat_conversations where external_conversation_id = 'T2'),
  pg_current_xact_id()::text::bigint, 'an insert that sets none is stamped');
select is((select count(*)::int from pg_trigger
            where tgrelid = 'public.chat_conversations'::regclass and tgname = 'chat_conversations_stamp_change'
              and tgtype & 2 = 2), 1, 'the stamp is a row trigger, before the write');

-- ============================== search names ==================================
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'S' || i, 'id', 'm',
                 'direction', 'inbound', 'content', 'hola', 'sent_at', '2026-05-05T10:00:00Z',
                 'participant_name', 'Múller ' || i, 'participant_identifier', '+3460000000' || i))
                 from generate_series(1, 3) i)));
select results_eq($$ select c.external_conversation_id, n.names, n.user_id
                      from chat_conversations c join messaging_private.conversation_names n on n.conversation_id = c.id
                     where c.platform = 'signal' order by 1 $$,
  $$ select 'S' || i, messaging_private.conversation_search_text('Múller ' || i, '+3460000000' || i, 'S' || i),
            '11111111-1111-4111-8111-111111111111'::uuid from generate_series(1, 3) i $$,
  'the conversations one call creates each get their search names');
select is((select count(*)::int from messaging_private.conversation_names n
             join chat_conversations c on c.id = n.conversation_id
            where c.external_conversation_id in ('T1', 'T2', 'L2')), 3,
  'so does a conversation any other insert creates');
select is((select n.names from messaging_private.conversation_names n where n.conversation_id = current_setting('test.conv')::uuid),
  messaging_private.conversation_search_text('Ana', null, 'L1'), 'a renamed conversation''s names follow');
select is((select count(*)::int from messaging_private.conversation_names), (select count(*)::int from chat_conversations),
  'one names row per conversation, no more');

-- ============================== erased and merged steps =======================
select is(messaging_private.ingest_destinations('11111111-1111-4111-8111-111111111111',
  jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(jsonb_build_object(
    'external_conversation_id', 'L1', 'id', 'z', 'direction', 'inbound', 'content', 'x',
    'sent_at', '2026-05-06T10:00:00Z')))) -> 0 -> 'messages' -> 0 ->> 'id',
  'z', 'an owner with no erasure and no merge: the group as ingest_groups made it');
insert into messaging_private.erased_conversations (user_id, platform, conversation_key, message_count)
values ('11111111-1111-4111-8111-111111111111', 'whatsapp',
        messaging_private.erased_key('11111111-1111-4111-8111-111111111111', 'whatsapp', 'L9', null), 1);
insert into messaging_private.erased_messages (user_id, message_key, erasure_id)
select '11111111-1111-4111-8111-111111111111',
       messaging_private.erased_key('11111111-1111-4111-8111-111111111111', 'whatsapp', 'L9', 'gone'),
       max(id) from messaging_private.erased_conversations;
select is(messaging_private.ingest_destinations('11111111-1111-4111-8111-111111111111',
  jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', 'L9', 'id', 'gone', 'direction', 'inbound', 'content', 'x',
      'sent_at', '2026-05-06T10:00:00Z'),
    jsonb_build_object('external_conversation_id', 'L1', 'id', 'kept', 'direction', 'inbound', 'content', 'x',
      'sent_at', '2026-05-06T10:00:00Z')))),
  messaging_private.ingest_groups(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', 'L1', 'id', 'kept', 'direction', 'inbound', 'content', 'x',
      'sent_at', '2026-05-06T10:00:00Z')))),
  'once the owner erased something, an erased message is dropped (its group with it)');
select is((messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'L9', 'id', 'gone',
    'direction', 'inbound', 'content', 'x', 'sent_at', '2026-05-06T10:00:00Z')))) ->> 'inserted')::int,
  0, 'and the ingest stores nothing of it');
select is((select count(*)::int from chat_conversations where external_conversation_id = 'L9'), 0,
  'no conversation comes back');

select * from finish();
rollback;
