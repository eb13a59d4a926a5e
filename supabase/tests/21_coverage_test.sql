-- chat_conversation_sources and conversation_coverage: where a conversation's history comes
-- from, kept at ingest, read by its owner only (docs/contract.md "Coverage").
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(26);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');

-- an export of March (two calls: the second repeats the first message), then live in May
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp',
  'source', 'export', 'source_name', 'WhatsApp Chat with Ana.txt',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', '+34600000001', 'id', 'e1', 'direction', 'inbound',
      'content', 'hola', 'sent_at', '2026-03-01T10:00:00Z'),
    jsonb_build_object('external_conversation_id', '+34600000001', 'id', 'e2', 'direction', 'outbound',
      'content', 'hasta luego', 'sent_at', '2026-03-31T18:00:00Z'))));
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp',
  'source', 'export', 'source_name', 'WhatsApp Chat with Ana.txt',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', '+34600000001', 'id', 'e1', 'direction', 'inbound',
      'content', 'hola', 'sent_at', '2026-03-01T10:00:00Z'))));
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp', 'source', 'webhook',
  'messages', jsonb_build_array(
    jsonb_build_object('external_conversation_id', '+34600000001', 'id', 'w1', 'direction', 'inbound',
      'content', 'ya estoy', 'sent_at', '2026-05-02T09:00:00Z'))));
-- no source named: an app
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '22222222-2222-4222-8222-222222222222', 'platform', 'signal',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'o1', 'id', 'o',
    'direction', 'inbound', 'content', 'mine', 'sent_at', '2026-01-01T10:00:00Z'))));
select set_config('test.conv', (select id::text from public.chat_conversations where user_id = '11111111-1111-4111-8111-111111111111' and external_conversation_id = '+34600000001'), true);
select set_config('test.other_conv', (select id::text from public.chat_conversations where user_id = '22222222-2222-4222-8222-222222222222' and external_conversation_id = 'o1'), true);

select tests.rls_enabled('public', 'chat_conversation_sources');
select policies_are('public', 'chat_conversation_sources',
  array['Users can view the sources of their own conversations'], 'one policy: the owner reads');
select function_privs_are('public', 'conversation_coverage', array['uuid'], 'anon', array[]::text[], 'anon cannot execute');
select function_privs_are('messaging_private', 'record_coverage', array['uuid', 'uuid', 'jsonb', 'jsonb[]'],
  'authenticated', array[]::text[], 'no API role calls the recorder');
select table_privs_are('public', 'chat_conversation_sources', 'authenticated', array['SELECT'],
  'authenticated may only read the records');
select throws_ok($$ select messaging_private.ingest_messages(jsonb_build_object(
    'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp', 'source', 'fax',
    'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', '+34600000002', 'id', 'x',
      'direction', 'inbound', 'content', 'x', 'sent_at', '2026-03-01T10:00:00Z')))) $$,
  '22023', null, 'a source outside message_source is refused');
select is((select count(*)::int from public.chat_conversations where user_id = '11111111-1111-4111-8111-111111111111' and external_conversation_id = '+34600000002'), 0,
  'and nothing of that call is stored');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select is((select count(*)::int from chat_conversation_sources), 2, 'one record per conversation and source');
select is((select array_agg(s ->> 'kind' order by o) from jsonb_array_elements(
             conversation_coverage(current_setting('test.conv')::uuid) -> 'sources') with ordinality x(s, o)),
  array['export', 'webhook'], 'the sources, oldest first');
select is((conversation_coverage(current_setting('test.conv')::uuid) #>> '{sources,0,name}'),
  'WhatsApp Chat with Ana.txt', 'the export''s file name');
select is((select (s ->> 'inserted', s ->> 'duplicates', s ->> 'batches')::text
             from jsonb_array_elements(conversation_coverage(current_setting('test.conv')::uuid) -> 'sources') s
            where s ->> 'kind' = 'export'), '(2,1,2)', 'the export: 2 new, 1 duplicate skipped, in 2 calls');
select is((conversation_coverage(current_setting('test.conv')::uuid) #>> '{sources,0,covers_until}')::timestamptz,
  '2026-03-31T18:00:00Z'::timestamptz, 'an export covers up to its last message');
select is((conversation_coverage(current_setting('test.conv')::uuid) #> '{sources,1,covers_until}'),
  'null'::jsonb, 'a live webhook covers from its first message onwards');
select is((conversation_coverage(current_setting('test.conv')::uuid) -> 'gaps'),
  jsonb_build_array(jsonb_build_object('from', '2026-03-31T18:00:00+00:00', 'to', '2026-05-02T09:00:00+00:00')),
  'the gap between the export''s last message and the first live one');
select is((conversation_coverage(current_setting('test.conv')::uuid) ->> 'message_count')::int, 3, 'the conversation''s count');
select throws_ok($$ select conversation_coverage(current_setting('test.other_conv')::uuid) $$, 'P0002', null,
  'another user''s conversation is not found');
select throws_ok($$ select conversation_coverage('00000000-0000-4000-8000-000000000000') $$, 'P0002', null,
  'an unknown conversation is not found');
select throws_ok($$ insert into chat_conversation_sources (user_id, conversation_id, kind, first_message_at, last_message_at)
                    values ('11111111-1111-4111-8111-111111111111', current_setting('test.conv')::uuid, 'app', now(), now()) $$,
  '42501', null, 'the owner cannot write a record: only the ingest does');
select set_config('request.method', 'POST', true);
select throws_ok($$ select conversation_coverage(current_setting('test.other_conv')::uuid) $$, 'PGRST',
  pg_catalog.format('{"code": "P0002", "hint": "conversation_not_found", "details": null, "message": "conversation_id: no such conversation (%s)"}',
                    current_setting('test.other_conv')),
  'over HTTP: 404 with code P0002 and the kind');
select set_config('request.method', '', true);

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is((select array_agg(kind) from chat_conversation_sources), array['app'],
  'sees only their own record; a call naming no source is an app');
select throws_ok($$ select conversation_coverage(current_setting('test.conv')::uuid) $$, 'P0002', null,
  'cannot read the owner''s coverage');

-- ============================== anon =========================================
select tests.clear_authentication();
set local role anon;
select throws_ok($$ select conversation_coverage(current_setting('test.conv')::uuid) $$, '42501', null, 'anon is refused');
select throws_ok($$ select 1 from chat_conversation_sources $$, '42501', null, 'anon reads no record');
reset role;

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select is((conversation_coverage(current_setting('test.conv')::uuid) -> 'sources' -> 0 ->> 'kind'), 'export',
  'the service role reads any conversation''s coverage');
reset role;
-- a conversation with no record at all (stored before coverage): one unknown source
delete from public.chat_conversation_sources where conversation_id = current_setting('test.conv')::uuid;
select is((conversation_coverage(current_setting('test.conv')::uuid) -> 'sources'),
  jsonb_build_array(jsonb_build_object('kind', 'unknown', 'name', null, 'phase', null, 'connection_id', null,
    'first_message_at', '2026-03-01T10:00:00+00:00', 'last_message_at', '2026-05-02T09:00:00+00:00',
    'covers_from', '2026-03-01T10:00:00+00:00', 'covers_until', '2026-05-02T09:00:00+00:00',
    'inserted', 3, 'duplicates', 0, 'updated', 0, 'matched', 0, 'batches', 0,
    'first_seen_at', (select created_at from public.chat_conversations where id = current_setting('test.conv')::uuid),
    'last_seen_at', (select updated_at from public.chat_conversations where id = current_setting('test.conv')::uuid))),
  'no record: one unknown source spanning the stored messages');
select is((conversation_coverage(current_setting('test.conv')::uuid) -> 'gaps'), '[]'::jsonb, 'and no gap');

select * from finish();
rollback;
