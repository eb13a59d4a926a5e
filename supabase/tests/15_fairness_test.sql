-- messaging_gate.admit_request: PostgREST's db-pre-request (fairness per user). The 429s
-- need a second session holding the slots: tests/test_fairness_api.py tests them over HTTP.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(13);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');

select is((select s from pg_catalog.pg_db_role_setting d, unnest(d.setconfig) s
            where d.setrole = 'authenticator'::regrole and s like 'pgrst.db_pre_request=%'),
  'pgrst.db_pre_request=messaging_gate.admit_request', 'PostgREST runs admit_request before every request');
select function_privs_are('messaging_gate', 'admit_request', array[]::text[], 'anon', array['EXECUTE'], 'anon runs it');
select ok(has_schema_privilege('authenticated', 'messaging_gate', 'usage'), 'authenticated may use its schema');
select ok(not has_schema_privilege('anon', 'messaging_private', 'usage'), 'anon still has nothing of messaging_private');
select is((select count(*)::int from messaging_private.contract_limits
            where name in ('requests_per_user', 'requests_signed_in', 'retry_after_seconds', 'read_timeout_ms')),
  4, 'the limits are published rows');
select is((select sqlstate from messaging_private.refusal_kinds where kind = 'too_many_requests'), '53400',
  'too_many_requests is a refusal kind');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select set_config('request.method', 'GET', true);
select set_config('request.path', '/chat_conversation_list', true);
select lives_ok($$ select messaging_gate.admit_request() $$, 'a signed-in read is admitted');
select is((select count(*)::int from pg_catalog.pg_locks
            where locktype = 'advisory' and pid = pg_catalog.pg_backend_pid()
              and classid = 1953000 and objid::bigint = (hashtext('11111111-1111-4111-8111-111111111111') & 4294967295)),
  1, 'it holds one of the user''s slots, keyed by sub');
select is((select count(*)::int from pg_catalog.pg_locks
            where locktype = 'advisory' and pid = pg_catalog.pg_backend_pid() and classid = 1953100),
  1, 'and one of the signed-in users'' slots');
reset role;
select is((select setting::bigint from pg_catalog.pg_settings where name = 'statement_timeout'),
  (select value from messaging_private.contract_limits where name = 'read_timeout_ms'),
  'a read runs under read_timeout_ms');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select lives_ok($$ select messaging_gate.admit_request() $$, 'the service role is admitted');
reset role;
select is((select count(*)::int from pg_catalog.pg_locks
            where locktype = 'advisory' and pid = pg_catalog.pg_backend_pid()), 2,
  'and takes no slot (only the owner''s two are held): it is never limited');

-- ============================== anon =========================================
select tests.clear_authentication();
select lives_ok($$ select messaging_gate.admit_request() $$, 'anon is admitted while it has a slot');

select * from finish();
rollback;
