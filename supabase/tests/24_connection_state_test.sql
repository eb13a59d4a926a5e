-- What the connection knows (issue 28): a delivery's connection_state (history backfill
-- phases and a declined share, the business connection, unknown kinds, the business app's
-- contact names) recorded by ingest_webhook_delivery (service_role only); history messages
-- stored read. A user sees only their own connection's state and contact names.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(20);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');

select tests.rls_enabled('public', 'contact_name_suggestions');
select col_default_is('public', 'messaging_connections', 'unknown_kinds', '{}'::jsonb, 'no unknown kinds at first');
select table_privs_are('public', 'contact_name_suggestions', 'anon', array[]::text[], 'anon has no access to contact names');
select table_privs_are('public', 'contact_name_suggestions', 'authenticated', array['SELECT', 'DELETE'],
  'a user reads and dismisses contact names, never writes them');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select set_config('test.wa', (select create_messaging_connection('telegram', 'state_bot') ->> 'id'), true);
select is((select array[history_backfill, business_connection] from messaging_connections
            where id = current_setting('test.wa')::uuid), array[null, null]::jsonb[], 'a new connection knows nothing yet');
select throws_ok(format($$ select public.ingest_webhook_delivery('{"connection_id": "%s", "connection_state": {"unknown_kinds": {"x": 1}}}') $$,
  current_setting('test.wa')), '42501', null, 'the owner cannot write connection state through the delivery RPC');

-- ============================== service_role ==================================
select tests.authenticate_as_service_role();
select lives_ok(format($$ select public.ingest_webhook_delivery(%L::jsonb) $$, pg_catalog.jsonb_build_object(
  'connection_id', current_setting('test.wa'),
  'connection_state', '{"unknown_kinds": {"hologram": 2, "field:x": 1},
                        "history": {"chunks": [{"phase": 1, "chunk_order": 2, "progress": 60, "at": "2026-01-01T00:00:00Z"},
                                               {"phase": 1, "chunk_order": 1, "progress": 30, "at": "2026-01-01T00:00:00Z"}]},
                        "contacts": [{"identifier": "+34600000009", "name": "Rita Sousa", "first_name": "Rita",
                                      "action": "add", "at": "2026-01-01T00:00:00Z"}]}'::jsonb)),
  'a delivery with connection state');
select is((select history_backfill #>> '{phases,1,progress}' from messaging_connections where id = current_setting('test.wa')::uuid),
  '60', 'per phase the highest progress, whatever order the chunks came in');
select is((select unknown_kinds #>> '{hologram,count}' from messaging_connections where id = current_setting('test.wa')::uuid),
  '2', 'unknown kinds counted');
select lives_ok(format($$ select public.ingest_webhook_delivery(%L::jsonb) $$, pg_catalog.jsonb_build_object(
  'connection_id', current_setting('test.wa'), 'connection_state', '{"unknown_kinds": {"hologram": 1}}'::jsonb)),
  'counted again');
select is((select unknown_kinds #>> '{hologram,count}' from messaging_connections where id = current_setting('test.wa')::uuid),
  '3', 'the counts add up');
select is((select refused_count from messaging_connections where id = current_setting('test.wa')::uuid), 0::bigint,
  'unknown kinds are no refusals');
select lives_ok(format($$ select public.ingest_webhook_delivery(%L::jsonb) $$, pg_catalog.jsonb_build_object(
  'connection_id', current_setting('test.wa'), 'history_phase', '0',
  'history_messages', '[{"platform": "whatsapp", "external_conversation_id": "+34600000009", "id": "wamid.PG1",
                         "direction": "inbound", "content": "old", "sent_at": "2026-01-01T10:00:00Z"}]'::jsonb)),
  'a history message');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select is((select c.message_count - r.read_message_count from chat_conversations c
             join chat_conversation_read_markers r on r.conversation_id = c.id
            where c.external_conversation_id = '+34600000009'), 0, 'a history message is not unread');
select is((select count(*) from chat_conversation_list where external_conversation_id = '+34600000009'
             and last_message_at > (select last_read_at from chat_conversation_read_markers)), 0::bigint,
  'and marks the conversation nothing new');
select is((select full_name from contact_name_suggestions), 'Rita Sousa', 'the owner sees the business''s name for the number');
select is((select unknown_kinds ? 'field:x' from messaging_connections where id = current_setting('test.wa')::uuid), true,
  'and the connection''s unknown kinds');

-- ============================== other user ====================================
select tests.authenticate_as('other');
select is_empty($$ select 1 from contact_name_suggestions $$, 'another user sees no contact name');
select is_empty($$ select history_backfill, unknown_kinds from messaging_connections $$, 'nor the connection''s state');

-- ============================== anon ==========================================
select tests.clear_authentication();
select throws_ok($$ select * from contact_name_suggestions $$, '42501', null, 'anon reads no contact name');

select * from finish();
rollback;
