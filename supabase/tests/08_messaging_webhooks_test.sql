-- Webhook support: connection secrets nobody reads through the API, the service-role-only
-- RPCs of the messaging-ingest function, and updates of stored messages (statuses never
-- move backwards, reactions, deletions) that never create messages.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(68);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');

select tests.rls_enabled('messaging_private', 'connection_secrets');
select is_empty($$ select 1 from pg_policies where schemaname = 'messaging_private' and tablename = 'connection_secrets' $$,
  'and no policy: only the definer functions read them');
select ok(not has_table_privilege(r, 'messaging_private.connection_secrets', 'select'), 'no select grant to ' || r)
  from unnest(array['anon', 'authenticated', 'service_role']) r;
select has_index('messaging_private', 'connection_secrets', 'connection_secrets_user_id_idx', 'an index under the user_id FK');
select function_privs_are('public', 'webhook_connection', array['uuid'], 'authenticated', array[]::text[]);
select function_privs_are('public', 'webhook_connection', array['uuid'], 'service_role', array['EXECUTE']);
select function_privs_are('public', 'ingest_webhook_delivery', array['jsonb'], 'authenticated', array[]::text[]);
select function_privs_are('public', 'ingest_webhook_deliveries', array['jsonb'], 'authenticated', array[]::text[]);
select function_privs_are('public', 'ingest_webhook_deliveries', array['jsonb'], 'service_role', array['EXECUTE']);
select function_privs_are('public', 'record_webhook_failure', array['uuid', 'text', 'boolean'], 'anon', array[]::text[]);
select tests.rls_enabled('messaging_private', 'webhook_nonces');
select ok(not has_table_privilege(r, 'messaging_private.webhook_nonces', 'select'), 'no select grant on nonces to ' || r)
  from unnest(array['anon', 'authenticated', 'service_role']) r;
select function_privs_are('public', 'add_messaging_connection', array['text', 'text', 'text', 'jsonb', 'uuid'], 'anon', array[]::text[]);
select function_privs_are('public', 'add_messaging_connection', array['text', 'text', 'text', 'jsonb', 'uuid'], 'authenticated', array['EXECUTE']);

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select lives_ok($$ select public.add_messaging_connection('telegram', 'crm_shop_bot', 'Shop bot', '{"secret_token": "tg_Secret-1"}') $$,
  'owner adds a connection with its secret');
select is((select count(*)::int from public.messaging_connections where account_identifier = 'crm_shop_bot'), 1,
  'owner sees the connection');
select throws_ok($$ select * from messaging_private.connection_secrets $$, '42501', null, 'owner cannot read secrets');
select throws_ok($$ select public.webhook_connection(id) from public.messaging_connections $$, '42501', null,
  'owner cannot call webhook_connection');
select throws_ok($$ select messaging_private.webhook_connection(id) from public.messaging_connections $$, '42501', null,
  'nor its private body');
select throws_ok($$ select public.ingest_webhook_delivery('{}') $$, '42501', null, 'owner cannot call ingest_webhook_delivery');
select throws_ok($$ select public.ingest_webhook_deliveries('{"deliveries": [{}]}') $$, '42501', null,
  'nor ingest_webhook_deliveries');
select throws_ok($$ select public.add_messaging_connection('whatsapp', '+34600000001', null, '{"app_secret": "x"}') $$,
  '22023', 'invalid connection: secrets.verify_token: required for whatsapp, a non-empty string',
  'whatsapp needs both secrets, named');
select throws_ok($$ select public.add_messaging_connection('telegram', 'b', null, '{"secret_token": "no spaces"}') $$,
  '22023', null, 'a Telegram secret token Telegram would refuse');
select throws_ok($$ select public.add_messaging_connection('wechat', 'gh_1', null, '{"token": "tok", "app_secret": "x"}') $$,
  '22023', null, 'a secret of another platform');
select throws_ok($$ select public.add_messaging_connection('sms', 'x', null, '{}') $$, '22023', null, 'an unknown platform');
select throws_ok($$ select public.add_messaging_connection('signal', '+34600000001', null, '{"token": "t"}',
  '22222222-2222-4222-8222-222222222222') $$, '42501', null, 'owner cannot add a connection for someone else');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is_empty($$ select 1 from public.messaging_connections where account_identifier = 'crm_shop_bot' $$,
  'other user does not see it');
select lives_ok($$ select public.add_messaging_connection('telegram', 'crm_shop_bot', null, '{"secret_token": "other"}') $$,
  'the same account name for another user is another connection');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select public.add_messaging_connection('telegram', 'x', null, '{"secret_token": "x"}') $$, '42501', null,
  'anon cannot add connections');
select throws_ok($$ select public.webhook_connection(gen_random_uuid()) $$, '42501', null, 'anon cannot read connections');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select is(public.webhook_connection(c.id) -> 'secrets', '{"secret_token": "tg_Secret-1"}'::jsonb,
  'service_role reads the secrets through webhook_connection')
  from public.messaging_connections c
 where c.user_id = '11111111-1111-4111-8111-111111111111' and c.account_identifier = 'crm_shop_bot';
select is(public.webhook_connection(gen_random_uuid()), null, 'an unknown connection is null');
select throws_ok($$ select public.add_messaging_connection('whatsapp', '+34600000001', null,
  '{"app_secret": "s", "verify_token": "v"}') $$, '22023', null, 'service_role must name the user');
select public.add_messaging_connection('whatsapp', '+34600000001', 'Shop', '{"app_secret": "s", "verify_token": "v"}',
  '11111111-1111-4111-8111-111111111111') as wa \gset
select is(public.add_messaging_connection('whatsapp', '+34600000001', null, '{"app_secret": "s2", "verify_token": "v"}',
  '11111111-1111-4111-8111-111111111111'), :'wa'::uuid, 're-adding re-keys the same connection');
select is(public.webhook_connection(:'wa') -> 'secrets' ->> 'app_secret', 's2', 'with the new secret');

-- a delivery: two messages, then updates
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'messages', '[
  {"platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.out", "direction": "outbound",
   "type": "text", "content": "Your order ships today", "sent_at": "2026-01-01T10:00:00Z"},
  {"platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.in", "direction": "inbound",
   "type": "text", "content": "Thanks!", "sent_at": "2026-01-01T10:05:00Z"}]'::jsonb)) - 'conversations',
  '{"inserted": 2, "duplicates": 0, "updated": 0, "matched": 0, "updates": {"applied": 0, "missing": 0, "unchanged": 0, "pending": 0}, "accepted": 2, "refused": []}'::jsonb,
  'messages are ingested for the connection''s owner');
select isnt((select last_synced_at from public.messaging_connections where id = :'wa'), null, 'and last_synced_at is set');

select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'updates', '[
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.out", "status": "read", "at": "2026-01-01T10:02:00Z"},
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.out", "status": "delivered", "at": "2026-01-01T10:01:00Z"},
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.gone", "status": "read", "at": "2026-01-01T10:01:00Z"},
  {"kind": "status", "platform": "whatsapp", "external_conversation_id": "+34699999999", "id": "wamid.x", "status": "sent", "at": "2026-01-01T10:01:00Z"}
  ]'::jsonb)) -> 'updates', '{"applied": 1, "unchanged": 1, "missing": 0, "pending": 2}'::jsonb,
  'read applies, a late delivered does not move it back, statuses of unknown messages are kept pending');
select is((select m -> 'metadata' from public.chat_conversations c, jsonb_array_elements(c.messages) m
  where c.external_conversation_id = '+34611111111' and m ->> 'id' = 'wamid.out'),
  '{"status": "read", "status_at": "2026-01-01T10:02:00Z"}'::jsonb, 'the message says read');
select is((select count(*)::int from public.chat_conversations where external_conversation_id = '+34699999999'), 0,
  'a status never creates a conversation');
select is((select message_count from public.chat_conversations where external_conversation_id = '+34611111111'), 2,
  'nor a message');

select public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'updates', '[
  {"kind": "reaction", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.out", "reactor": "+34611111111", "emoji": "👍", "at": "2026-01-01T10:03:00Z"},
  {"kind": "reaction", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.out", "reactor": "+34611111111", "emoji": "❤", "at": "2026-01-01T10:02:30Z"}]'::jsonb));
select is((select m -> 'metadata' -> 'reactions' from public.chat_conversations c, jsonb_array_elements(c.messages) m
  where c.external_conversation_id = '+34611111111' and m ->> 'id' = 'wamid.out'),
  '{"+34611111111": {"emoji": "👍", "at": "2026-01-01T10:03:00Z"}}'::jsonb, 'the newest reaction of a reactor wins');

select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'messages', '[
  {"platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.out", "direction": "outbound",
   "type": "text", "content": "Your order ships tomorrow", "sent_at": "2026-01-01T10:00:00Z", "edited_at": "2026-01-01T10:04:00Z"}]'::jsonb))
  ->> 'updated', '1', 'an edit replaces the message');
select is((select array[m ->> 'content', m -> 'metadata' ->> 'status', m -> 'metadata' -> 'reactions' -> '+34611111111' ->> 'emoji']
  from public.chat_conversations c, jsonb_array_elements(c.messages) m
  where c.external_conversation_id = '+34611111111' and m ->> 'id' = 'wamid.out'),
  array['Your order ships tomorrow', 'read', '👍'], 'and keeps the status and reactions recorded on it');

select public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'updates', '[
  {"kind": "delete", "platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.in", "at": "2026-01-01T10:06:00Z"}]'::jsonb));
select is((select array[c.last_message_preview, m ->> 'content', m -> 'metadata' ->> 'deleted']
  from public.chat_conversations c, jsonb_array_elements(c.messages) m
  where c.external_conversation_id = '+34611111111' and m ->> 'id' = 'wamid.in'),
  array['[deleted]', null, 'true'], 'a deletion empties the text, flags it and refreshes the preview');

select throws_ok($$ select public.ingest_webhook_delivery('{"connection_id": "00000000-0000-4000-8000-000000000000", "messages": []}') $$,
  '22023', null, 'an unknown connection');
select is(public.ingest_webhook_delivery(format('{"connection_id": "%s", "updates": [{"kind": "status", "status": "seen"}]}', :'wa')::jsonb)
  -> 'refused' -> 0 ->> 'kind', 'invalid_update', 'a malformed update is refused alone, named');
select is((select refused_count from public.messaging_connections where id = :'wa'), 1::bigint, 'and counted on the connection');
select is(public.ingest_webhook_delivery(format('{"connection_id": "%s", "messages": [
  {"platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.bad", "direction": "sideways",
   "type": "text", "content": "x", "sent_at": "2026-01-01T10:07:00Z"},
  {"platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.good", "direction": "inbound",
   "type": "text", "content": "fine", "sent_at": "2026-01-01T10:08:00Z"}]}', :'wa')::jsonb)
  - 'conversations' - 'refused', '{"inserted": 1, "duplicates": 0, "updated": 0, "matched": 0, "accepted": 1, "updates": {"applied": 0, "missing": 0, "unchanged": 0, "pending": 0}}'::jsonb,
  'an invalid message is left out, the good one beside it stored');
select is((select array[refused_count::text, (last_refused_at is not null)::text] from public.messaging_connections where id = :'wa'),
  array['2', 'true'], 'the refusal is counted with its time');

update public.messaging_connections set status = 'paused' where id = :'wa';
select is(public.ingest_webhook_delivery(format('{"connection_id": "%s", "messages": [
  {"platform": "whatsapp", "external_conversation_id": "+34611111111", "id": "wamid.paused", "direction": "inbound",
   "type": "text", "content": "x", "sent_at": "2026-01-01T10:09:00Z"}]}', :'wa')::jsonb) -> 'rejected' ->> 'kind', 'paused',
  'a paused connection takes nothing');
select is((select message_count from public.chat_conversations where external_conversation_id = '+34611111111'), 3,
  'and nothing was stored');
update public.messaging_connections set status = 'active' where id = :'wa';

select is(public.ingest_webhook_delivery(format('{"connection_id": "%s", "replay_guard": {"nonce": "n1", "digest": "aa"}}', :'wa')::jsonb) ? 'rejected',
  false, 'a new nonce is taken');
select is(public.ingest_webhook_delivery(format('{"connection_id": "%s", "replay_guard": {"nonce": "n1", "digest": "aa"}}', :'wa')::jsonb) ? 'rejected',
  false, 'the same nonce with the same body is a retry');
select is(public.ingest_webhook_delivery(format('{"connection_id": "%s", "replay_guard": {"nonce": "n1", "digest": "bb"}}', :'wa')::jsonb) -> 'rejected' ->> 'kind',
  'replay', 'the same nonce with another body is a replay');

select lives_ok(format($$ select public.record_webhook_failure('%s', 'HTTP 503') $$, :'wa'), 'a failure is recorded');
select is((select array[status, last_error] from public.messaging_connections where id = :'wa'), array['error', 'HTTP 503'],
  'status error with the reason');
select public.ingest_webhook_delivery(jsonb_build_object('connection_id', :'wa', 'messages', '[]'::jsonb));
select is((select array[status, last_error] from public.messaging_connections where id = :'wa'), array['active', 'HTTP 503'],
  'the next good delivery makes it active again (the error stays, as past)');
select ok((select last_error_resolved_at >= last_error_at from public.messaging_connections where id = :'wa'),
  'the last error is marked as past, after it happened');

-- several deliveries in one call: each stored as alone; one refused whole costs the others nothing
select public.ingest_webhook_deliveries(format('{"connection_id": "%s", "deliveries": [
  {"messages": [{"platform": "whatsapp", "external_conversation_id": "+34622222222", "id": "wamid.b1", "direction": "inbound",
                 "type": "text", "content": "uno", "sent_at": "2026-01-02T10:00:00Z"}]},
  {"messages": "not an array"},
  {"messages": [{"platform": "whatsapp", "external_conversation_id": "+34622222222", "id": "wamid.b1", "direction": "inbound",
                 "type": "text", "content": "uno", "sent_at": "2026-01-02T10:00:00Z"},
                {"platform": "whatsapp", "external_conversation_id": "+34622222222", "id": "wamid.b2", "direction": "inbound",
                 "type": "text", "content": "dos", "sent_at": "2026-01-02T10:01:00Z"}]},
  7]}', :'wa')::jsonb) -> 'results' as batch \gset
select is(jsonb_array_length(:'batch'::jsonb), 4, 'one result per delivery, in order');
select is(array[(:'batch'::jsonb -> 0 ->> 'inserted'), (:'batch'::jsonb -> 2 ->> 'inserted'), (:'batch'::jsonb -> 2 ->> 'duplicates')],
  array['1', '1', '1'], 'the good deliveries stored, the message they share once');
select is(array[(:'batch'::jsonb -> 1 -> 'error' ->> 'code'), (:'batch'::jsonb -> 1 -> 'error' ->> 'hint'),
                (:'batch'::jsonb -> 3 -> 'error' ->> 'hint')],
  array['22023', 'messages_not_array', 'delivery_invalid'], 'a delivery refused whole gets its error and kind');
select is((select message_count from public.chat_conversations where external_conversation_id = '+34622222222'), 2,
  'two messages stored');
select throws_ok(format($$ select public.ingest_webhook_deliveries('{"connection_id": "%s", "deliveries": []}') $$, :'wa'),
  '22023', 'deliveries: required, a non-empty array', 'an empty batch is refused');

select * from finish();
rollback;
