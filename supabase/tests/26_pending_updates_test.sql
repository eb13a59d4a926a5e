-- Updates that arrive before or without their message (issue 28): a reaction, status or
-- vote naming no stored message is kept (pending_updates) and applied once when the message
-- is stored by any path; the played status; votes and later counts of a poll by message or
-- by poll id.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(42);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');

select tests.rls_enabled('messaging_private', 'pending_updates');
select tests.rls_enabled('messaging_private', 'poll_messages');
select ok(not has_table_privilege(r, t, 'select'), 'no select grant on ' || t || ' to ' || r)
  from unnest(array['anon', 'authenticated', 'service_role']) r,
       unnest(array['messaging_private.pending_updates', 'messaging_private.poll_messages']) t;
select has_index('messaging_private', 'pending_updates', 'pending_updates_kept_at_idx', 'the owner''s probe and age-out index');
select is((select rank from messaging_private.delivery_statuses where status = 'played'), 5, 'played ranks above read');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select public.add_messaging_connection('whatsapp', '+34600000001', 'Shop', '{"app_secret": "s", "verify_token": "v"}',
  '11111111-1111-4111-8111-111111111111') as wa \gset
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'updates', '[
  {"kind": "reaction", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.later",
   "reactor": "+34611111111", "emoji": "👍", "at": "2026-01-01T10:01:00Z"},
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.later",
   "status": "delivered", "at": "2026-01-01T10:00:30Z"}]'::jsonb)) -> 'updates',
  '{"applied": 0, "unchanged": 0, "missing": 0, "pending": 2}'::jsonb,
  'a reaction and a status before their message are kept pending');
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'updates', '[
  {"kind": "reaction", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.later",
   "reactor": "+34611111111", "emoji": "👍", "at": "2026-01-01T10:01:00Z"}]'::jsonb)) -> 'updates' -> 'pending',
  '1'::jsonb, 'the same reaction delivered again is answered pending');
reset role;
select is((select count(*)::int from messaging_private.pending_updates), 2, 'and kept once');
select tests.authenticate_as_service_role();
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'messages', '[
  {"platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.later", "direction": "outbound",
   "type": "voice", "content": null, "sent_at": "2026-01-01T10:00:00Z"}]'::jsonb)) ->> 'inserted', '1',
  'then the message arrives');
select is((select m -> 'metadata' from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where m ->> 'id' = 'wamid.later'),
  '{"status": "delivered", "status_at": "2026-01-01T10:00:30Z", "reactions": {"+34611111111": {"emoji": "👍", "at": "2026-01-01T10:01:00Z"}}}'::jsonb,
  'carrying the kept status and reaction');
reset role;
select is((select count(*)::int from messaging_private.pending_updates), 0, 'which are applied once and gone');
select tests.authenticate_as_service_role();
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'updates', '[
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.later",
   "status": "played", "at": "2026-01-01T10:02:00Z"},
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.later",
   "status": "read", "at": "2026-01-01T10:01:30Z"},
  {"kind": "reaction", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.later",
   "reactor": "+34611111111", "emoji": "👍", "at": "2026-01-01T10:01:00Z"}]'::jsonb)) -> 'updates',
  '{"applied": 1, "unchanged": 2, "missing": 0, "pending": 0}'::jsonb,
  'played applies, a late read does not move it back, the reaction again changes nothing');
select is((select m #>> '{metadata,status}' from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where m ->> 'id' = 'wamid.later'), 'played', 'the voice message is played');
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa',
  'updates', '[{"kind": "vote", "platform": "telegram", "poll_id": "P", "voter": "ana", "options": ["Azul"],
                "at": "2026-01-01T10:00:00Z"}]'::jsonb)) -> 'refused' -> 0 ->> 'kind',
  'invalid_update',
  'a vote whose options are no indexes is refused alone');

-- a poll: votes and counts by poll id before and after its message
reset role;
select is(messaging_private.apply_message_updates('11111111-1111-4111-8111-111111111111', '[
  {"kind": "vote", "platform": "telegram", "poll_id": "P1", "voter": "anag", "options": [1], "at": "2026-01-01T10:00:00Z"}]'),
  '{"applied": 0, "unchanged": 0, "missing": 0, "pending": 1}'::jsonb, 'a vote for a poll not stored yet is kept');
select lives_ok($$ select public.ingest_messages('{"user_id": "11111111-1111-4111-8111-111111111111", "platform": "telegram",
  "messages": [{"external_conversation_id": "-100", "id": "-100:7", "direction": "outbound", "type": "other",
  "content": "¿Color?", "sent_at": "2026-01-01T09:00:00Z", "metadata": {"poll": {"id": "P1", "question": "¿Color?",
  "options": [{"text": "Azul", "votes": 0}, {"text": "Rojo", "votes": 0}], "total_votes": 0}}}]}') $$,
  'the poll message is stored through public.ingest_messages');
select is((select m #> '{metadata,poll_votes}' from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where m ->> 'id' = '-100:7'), '{"anag": {"options": [1], "at": "2026-01-01T10:00:00Z"}}'::jsonb,
  'with the kept vote');
select is(messaging_private.apply_message_updates('11111111-1111-4111-8111-111111111111', '[
  {"kind": "poll", "platform": "telegram", "poll_id": "P1", "at": "2026-01-01T10:05:00Z",
   "poll": {"options": [{"text": "Azul", "votes": 2}, {"text": "Rojo", "votes": 1}], "total_votes": 3, "closed": true}},
  {"kind": "poll", "platform": "telegram", "poll_id": "P1", "at": "2026-01-01T10:04:00Z",
   "poll": {"options": [{"text": "Azul", "votes": 1}, {"text": "Rojo", "votes": 1}], "total_votes": 2, "closed": false}}]'),
  '{"applied": 1, "unchanged": 1, "missing": 0, "pending": 0}'::jsonb, 'later counts by poll id apply, older ones do not');
select is((select (m #> '{metadata,poll}') - 'counted_at' from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where m ->> 'id' = '-100:7'),
  '{"id": "P1", "question": "¿Color?", "options": [{"text": "Azul", "votes": 2}, {"text": "Rojo", "votes": 1}], "total_votes": 3, "closed": true}'::jsonb,
  'the poll has the new counts and is closed');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select throws_ok($$ select * from messaging_private.pending_updates $$, '42501', null, 'owner cannot read kept updates');
select throws_ok($$ select messaging_private.keep_pending('11111111-1111-4111-8111-111111111111', '{}') $$, '42501', null,
  'nor keep one');
reset role;
select messaging_private.apply_message_updates('11111111-1111-4111-8111-111111111111', '[
  {"kind": "reaction", "platform": "signal", "external_conversation_id": "+34622222222", "id": "+34622222222:5",
   "reactor": "+34622222222", "emoji": "❤", "at": "2026-01-01T10:00:00Z"}]');
select tests.authenticate_as('owner');
select lives_ok($$ select public.ingest_messages('{"platform": "signal", "messages": [{"external_conversation_id": "+34622222222",
  "id": "+34622222222:5", "direction": "inbound", "type": "text", "content": "hola", "sent_at": "2026-01-01T09:59:00Z"}]}') $$,
  'the signed-in owner imports the message');
select is((select m #>> '{metadata,reactions,+34622222222,emoji}' from public.chat_conversations c,
           jsonb_array_elements(c.messages) m where m ->> 'id' = '+34622222222:5'), '❤', 'and the kept reaction is on it');

-- ============================== other user ===================================
reset role;
select messaging_private.apply_message_updates('11111111-1111-4111-8111-111111111111', '[
  {"kind": "reaction", "platform": "signal", "external_conversation_id": "+34633333333", "id": "+34633333333:9",
   "reactor": "+34633333333", "emoji": "😂", "at": "2026-01-01T10:00:00Z"}]');
select tests.authenticate_as('other');
select lives_ok($$ select public.ingest_messages('{"platform": "signal", "messages": [{"external_conversation_id": "+34633333333",
  "id": "+34633333333:9", "direction": "inbound", "type": "text", "content": "jaja", "sent_at": "2026-01-01T09:59:00Z"}]}') $$,
  'another user stores a message of the same id');
select is((select m -> 'metadata' from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where m ->> 'id' = '+34633333333:9'), null, 'the owner''s kept reaction is not applied to it');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select * from messaging_private.poll_messages $$, '42501', null, 'anon reads no poll ids');

-- ============================== placeholders =================================
-- statuses of an outbound message sent by another tool: a placeholder until its echo
reset role;
select messaging_private.apply_message_updates('11111111-1111-4111-8111-111111111111', '[
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.api",
   "status": "sent", "at": "2026-01-01T11:00:00Z", "placeholder": true},
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.api",
   "status": "delivered", "at": "2026-01-01T11:00:05Z", "placeholder": true},
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.receipt",
   "status": "read", "at": "2026-01-01T11:00:05Z"}]');
select set_config('test.conv', (select id::text from public.chat_conversations
                                 where external_conversation_id = '+34611111111'), true);
select tests.authenticate_as('owner');
select is(public.get_conversation_placeholders(current_setting('test.conv')::uuid),
  '[{"id": "wamid.api", "direction": "outbound", "type": "other", "content": null, "media_url": null,
     "sent_at": "2026-01-01T11:00:00Z",
     "metadata": {"placeholder": true, "status": "delivered", "status_at": "2026-01-01T11:00:05Z"}}]'::jsonb,
  'owner sees a placeholder: the first status''s time, the highest status (an unmarked status shows none)');
select is((select (message_count, last_message_at) from public.chat_conversation_list
            where id = current_setting('test.conv')::uuid), (1, '2026-01-01T10:00:00Z'::timestamptz),
  'which counts in no summary');
select tests.authenticate_as('other');
select is(public.get_conversation_placeholders(current_setting('test.conv')::uuid), '[]'::jsonb,
  'another user gets none of them');
select tests.clear_authentication();
select throws_ok($$ select public.get_conversation_placeholders(gen_random_uuid()) $$, '42501', null,
  'anon cannot ask');
select tests.authenticate_as_service_role();
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'messages', '[
  {"platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.api", "direction": "outbound",
   "type": "text", "content": "Pedido enviado", "sent_at": "2026-01-01T10:59:59Z"}]'::jsonb)) ->> 'inserted', '1',
  'the echo of the message arrives');
select is(public.get_conversation_placeholders(current_setting('test.conv')::uuid), '[]'::jsonb, 'and fills the placeholder');
select is((select m -> 'metadata' ->> 'status' from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where m ->> 'id' = 'wamid.api'), 'delivered', 'with its content and the kept status');

-- ============================== erasure ======================================
-- erasing a person erases the updates kept for their conversations' messages
reset role;
insert into public.people (id, user_id, full_name) values
  ('11111111-0000-4000-8000-0000000000e1', '11111111-1111-4111-8111-111111111111', 'Erased customer');
select public.ingest_messages('{"user_id": "11111111-1111-4111-8111-111111111111", "platform": "signal",
  "messages": [{"external_conversation_id": "+34655555555", "id": "+34655555555:1", "direction": "inbound",
  "type": "text", "content": "borrame", "sent_at": "2026-01-01T09:00:00Z"}]}');
update public.chat_conversations set person_id = '11111111-0000-4000-8000-0000000000e1'
 where external_conversation_id = '+34655555555';
select messaging_private.apply_message_updates('11111111-1111-4111-8111-111111111111', '[
  {"kind": "reaction", "platform": "signal", "external_conversation_id": "+34655555555", "id": "+34655555555:2",
   "reactor": "+34655555555", "emoji": "👋", "at": "2026-01-01T10:00:00Z"}]');
select tests.authenticate_as('owner');
select lives_ok($$ select public.erase_person('11111111-0000-4000-8000-0000000000e1') $$, 'owner erases the person');
reset role;
select is((select count(*)::int from messaging_private.pending_updates where external_conversation_id = '+34655555555'), 0,
  'and the update kept for their conversation is gone');

-- ============================== limits =======================================
reset role;
update messaging_private.contract_limits set value = 1 where name = 'pending_updates_per_user';
update messaging_private.pending_updates set kept_at = now() - interval '31 days';
select is(messaging_private.apply_message_updates('11111111-1111-4111-8111-111111111111', '[
  {"kind": "reaction", "platform": "signal", "external_conversation_id": "+34644444444", "id": "a", "reactor": "x",
   "emoji": "1", "at": "2026-01-01T10:00:00Z"},
  {"kind": "reaction", "platform": "signal", "external_conversation_id": "+34644444444", "id": "b", "reactor": "x",
   "emoji": "2", "at": "2026-01-01T10:00:00Z"}]'),
  '{"applied": 0, "unchanged": 0, "missing": 1, "pending": 1}'::jsonb,
  'past the cap an update is counted missing (the one kept 31 days ago aged out first)');
select is((select array_agg(message_id order by id) from messaging_private.pending_updates
            where user_id = '11111111-1111-4111-8111-111111111111'), array['a'], 'only the new one is kept');

select * from finish();
rollback;
