-- chat_conversation_read_markers and mark_conversation_read: per-user unread state under RLS.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(17);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '22222222-2222-4222-8222-222222222222', 'platform', 'signal',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'o1', 'id', 'o',
    'direction', 'inbound', 'content', 'mine', 'sent_at', '2026-01-01T10:00:00Z'))));
select set_config('test.other_conv', (select id::text from public.chat_conversations where external_conversation_id = 'o1'), true);
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'c1', 'id', 'a',
    'direction', 'inbound', 'content', 'hi', 'sent_at', '2026-01-01T10:00:00Z'))));
select set_config('test.conv', (select id::text from public.chat_conversations where external_conversation_id = 'c1'), true);

select tests.rls_enabled('public', 'chat_conversation_read_markers');
select function_privs_are('public', 'mark_conversation_read', array['uuid'], 'anon', array[]::text[], 'anon cannot execute');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select is(mark_conversation_read(current_setting('test.conv')::uuid), '2026-01-01T10:00:00Z'::timestamptz,
  'marks up to the newest message');
select is((select count(*) from chat_conversation_read_markers)::int, 1, 'one marker, the owner''s');
reset role;
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', jsonb_build_array(jsonb_build_object('external_conversation_id', 'c1', 'id', 'b',
    'direction', 'inbound', 'content', 'again', 'sent_at', '2026-01-01T11:00:00Z'))));
select tests.authenticate_as('owner');
select ok((select c.last_message_at > r.last_read_at from chat_conversation_list c
            join chat_conversation_read_markers r on r.conversation_id = c.id),
  'a newer message makes it unread again');
select is(mark_conversation_read(current_setting('test.conv')::uuid), '2026-01-01T11:00:00Z'::timestamptz, 'read again');
update chat_conversation_read_markers set last_read_at = '2026-01-01T12:00:00Z';
select is(mark_conversation_read(current_setting('test.conv')::uuid), '2026-01-01T12:00:00Z'::timestamptz,
  'never moves backwards');
select throws_ok($$ select mark_conversation_read('00000000-0000-4000-8000-000000000000') $$, 'P0002', null,
  'an unknown conversation is refused');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is((select count(*) from chat_conversation_read_markers)::int, 0, 'sees no one else''s markers');
select throws_ok($$ select mark_conversation_read(current_setting('test.conv')::uuid) $$, 'P0002', null,
  'cannot mark another user''s conversation');
select throws_ok($$ insert into chat_conversation_read_markers (conversation_id, last_read_at)
                    values (current_setting('test.conv')::uuid, now()) $$, '42501', null,
  'cannot add a marker to another user''s conversation');
select throws_ok($$ insert into chat_conversation_read_markers (conversation_id, last_read_at)
                    values ('00000000-0000-4000-8000-000000000000', now()) $$, '42501', null,
  'a marker on an id that exists nowhere is refused alike: the answer tells nothing of other users');
select isnt(mark_conversation_read(current_setting('test.other_conv')::uuid), null, 'marks their own conversation');
select throws_ok($$ update chat_conversation_read_markers set conversation_id = current_setting('test.conv')::uuid $$,
  '42501', null, 'cannot move their marker onto another user''s conversation');
select throws_ok($$ update chat_conversation_read_markers set conversation_id = '00000000-0000-4000-8000-000000000000' $$,
  '42501', null, 'nor onto an id that exists nowhere, with the same answer');
-- through PostgREST (request.method set) the refusal is a PGRST raise: HTTP 404, body code P0002
select set_config('request.method', 'POST', true);
select throws_ok($$ select mark_conversation_read(current_setting('test.conv')::uuid) $$, 'PGRST',
  pg_catalog.format('{"code": "P0002", "hint": "conversation_not_found", "details": null, "message": "conversation_id: no such conversation (%s)"}',
                    current_setting('test.conv')),
  'over HTTP: 404 with code P0002, the same message and hint');
select set_config('request.method', '', true);

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select mark_conversation_read(current_setting('test.conv')::uuid) $$, '42501', null, 'anon is refused');

select * from finish();
rollback;
