-- search_messages: the owner finds their messages in hot rows and archives; nobody else does.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(14);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
update messaging_private.settings set value = 4 where key = 'hot_max_messages';
update messaging_private.settings set value = 2 where key = 'hot_keep_messages';
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'chat', 'id', 'm' || i,
    'direction', 'inbound', 'content', case i when 1 then 'Um café, por favor' else 'filler ' || i end,
    'sent_at', '2026-01-01T10:00:00Z'::timestamptz + i * interval '1 minute'))
    from generate_series(1, 9) i)));

select has_index('messaging_private', 'search_segments', 'search_segments_fts_idx', 'search segments: full-text index');
select has_index('messaging_private', 'search_segments', 'search_segments_trgm_idx', 'search segments: trigram index');
select function_privs_are('public', 'search_messages',
  array['text', 'uuid', 'integer', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'uuid'],
  'anon', array[]::text[], 'anon cannot execute');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select results_eq($$ select s -> 'message' ->> 'id' from search_messages('cafe') s $$, array['m1'],
  'the owner finds an archived message without its accent');
select results_eq($$ select s ->> 'snippet' from search_messages('CAFÉ') s $$, array['Um [[café]], por favor'],
  'the snippet highlights the original text');
select is_empty($$ select 1 from search_messages('%') $$, 'a lone % matches nothing');
select throws_ok($$ select * from search_messages('cafe', max_count => 501) $$, '22023', null, 'max_count is bounded');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is_empty($$ select 1 from search_messages('cafe') $$, 'another user finds nothing');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select * from search_messages('cafe') $$, '42501', null, 'anon is refused');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select throws_ok($$ select * from search_messages('cafe') $$, '22023',
  'user_id: required (the service role must name the CRM user whose messages it searches)',
  'service_role must name the user it searches for');
select results_eq($$ select s -> 'message' ->> 'id' from search_messages('cafe', user_id => '11111111-1111-4111-8111-111111111111') s $$,
  array['m1'], 'service_role finds the named user''s messages');
select is_empty($$ select 1 from search_messages('cafe', user_id => '22222222-2222-4222-8222-222222222222') $$,
  'and only that user''s');

-- ============================== a user naming another =========================
select tests.authenticate_as('other');
select throws_ok($$ select * from search_messages('cafe', user_id => '11111111-1111-4111-8111-111111111111') $$,
  '42501', null, 'a signed-in user cannot search another user''s messages');

reset role;
select ok(
  (select p.prosecdef and n.nspname = 'messaging_private'
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where p.proname = 'search_messages' and n.nspname = 'messaging_private'),
  'the search body is a definer function in the private schema');

select * from finish();
rollback;
