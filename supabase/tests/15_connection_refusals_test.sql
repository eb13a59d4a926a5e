-- What a connection records about its deliveries (issue 30, item 6): refusals by reason
-- with the last one's reason and time (record_webhook_refusals, service_role only), the
-- last error's time and whether a later delivery made it past, what a pause dropped, and
-- a delivery verified against rotated secrets (stale_secrets). A user sees only their own.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(30);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');

select function_privs_are('public', 'record_webhook_refusals', array['uuid', 'jsonb', 'text', 'text', 'timestamp with time zone'],
  'anon', array[]::text[], 'anon cannot record refusals');
select function_privs_are('public', 'record_webhook_refusals', array['uuid', 'jsonb', 'text', 'text', 'timestamp with time zone'],
  'authenticated', array[]::text[], 'nor a signed-in user');
select function_privs_are('public', 'record_webhook_refusals', array['uuid', 'jsonb', 'text', 'text', 'timestamp with time zone'],
  'service_role', array['EXECUTE'], 'the function (service_role) can');
select col_default_is('public', 'messaging_connections', 'refused_by_reason', '{}'::jsonb, 'no refusals at first');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select set_config('test.tg', (select create_messaging_connection('telegram', 'owner_bot') ->> 'id'), true);
select is((select array[refused_count, paused_dropped_count] from messaging_connections
            where id = current_setting('test.tg')::uuid), array[0, 0]::bigint[], 'a new connection: nothing counted');
select throws_ok(format($$ select public.record_webhook_refusals(%L, '{"bad_signature": 1}', 'bad_signature') $$,
  current_setting('test.tg')), '42501', null, 'the owner cannot record refusals on their own connection');

-- ============================== service_role ==================================
select tests.authenticate_as_service_role();
select lives_ok(format($$ select public.record_webhook_refusals(%L, '{"bad_signature": 40, "bad_body": 2}', 'bad_signature',
  '401 missing or wrong signature or token', now() - interval '1 second') $$, current_setting('test.tg')),
  'a flush of summed refusals');
select is((select refused_by_reason from messaging_connections where id = current_setting('test.tg')::uuid),
  '{"bad_signature": 40, "bad_body": 2}'::jsonb, 'counted by reason');
select lives_ok(format($$ select public.record_webhook_refusals(%L, '{"bad_signature": 3, "wrong_verify_token": 1}',
  'wrong_verify_token', '403 wrong verify token') $$, current_setting('test.tg')), 'a second flush');
select is((select array[refused_count::text, last_refused_reason, last_error]
             from messaging_connections where id = current_setting('test.tg')::uuid),
  array['46', 'wrong_verify_token', '403 wrong verify token'], 'the counts add up; the last reason and error are the newest');
select is((select refused_by_reason from messaging_connections where id = current_setting('test.tg')::uuid),
  '{"bad_signature": 43, "bad_body": 2, "wrong_verify_token": 1}'::jsonb, 'each reason summed');
select ok((select last_error_at = last_refused_at and last_refused_at <= now()
             from messaging_connections where id = current_setting('test.tg')::uuid), 'with their time');
select lives_ok(format($$ select public.record_webhook_refusals(%L, '{"bad_signature": 1}', 'bad_signature', 'older',
  now() - interval '1 minute') $$, current_setting('test.tg')), 'a flush of older refusals (written late)');
select is((select array[refused_count::text, last_refused_reason, last_error]
             from messaging_connections where id = current_setting('test.tg')::uuid),
  array['47', 'wrong_verify_token', '403 wrong verify token'], 'is counted, and hides no newer error');
select throws_ok(format($$ select public.record_webhook_refusals(%L, '{"Bad Reason": 1}', 'x') $$, current_setting('test.tg')),
  '22023', null, 'a reason must be a short snake_case word');
select throws_ok(format($$ select public.record_webhook_refusals(%L, '{"bad_signature": -1}', 'x') $$, current_setting('test.tg')),
  '22023', null, 'a count is at least 1');
select throws_ok(format($$ select public.record_webhook_refusals(%L, '{}', 'x') $$, current_setting('test.tg')),
  '22023', null, 'some count is required');
select lives_ok(format($$ select public.record_webhook_failure(%L, 'refused whole', true) $$, current_setting('test.tg')),
  'record_webhook_failure keeps working for a refusal');
select is((select refused_by_reason ->> 'refused' from messaging_connections where id = current_setting('test.tg')::uuid),
  '1', 'counted as refused');

-- a stored delivery marks the error as past; a delivery verified against replaced secrets stores nothing
select is((select last_error_resolved_at from messaging_connections where id = current_setting('test.tg')::uuid), null,
  'the last error is current');
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', current_setting('test.tg'),
  'secrets_version', 'not-the-current-one', 'messages', '[]'::jsonb)) -> 'rejected' ->> 'kind', 'stale_secrets',
  'a delivery verified against rotated secrets: stale_secrets');
select is((select last_error_resolved_at from messaging_connections where id = current_setting('test.tg')::uuid), null,
  'which changes nothing');
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', current_setting('test.tg'),
  'secrets_version', (public.webhook_connection(current_setting('test.tg')::uuid) ->> 'secrets_version'),
  'messages', '[]'::jsonb)) ? 'rejected', false, 'the current secrets_version is taken');
select ok((select last_error_resolved_at >= last_error_at and last_error = 'refused whole'
             from messaging_connections where id = current_setting('test.tg')::uuid),
  'a stored delivery keeps the last error, marked as past');

-- a paused connection counts what it drops
update public.messaging_connections set status = 'paused' where id = current_setting('test.tg')::uuid;
select is(public.ingest_webhook_delivery(jsonb_build_object('connection_id', current_setting('test.tg'),
  'messages', '[]'::jsonb)) -> 'rejected' ->> 'kind', 'paused', 'paused: rejected');
select is((select paused_dropped_count from messaging_connections where id = current_setting('test.tg')::uuid), 1::bigint,
  'and counted as dropped');
select ok((select last_dropped_at is not null from messaging_connections where id = current_setting('test.tg')::uuid),
  'with its time');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is_empty(format($$ select refused_by_reason, paused_dropped_count from messaging_connections where id = %L $$,
  current_setting('test.tg')), 'another user sees none of the owner''s counts');

-- ============================== owner again ==================================
select tests.authenticate_as('owner');
select is((select array[refused_count, paused_dropped_count] from messaging_connections
            where id = current_setting('test.tg')::uuid), array[48, 1]::bigint[], 'the owner reads their counts');

-- ============================== anon =========================================
select tests.clear_authentication();
set local role anon;
select throws_ok($$ select refused_by_reason from public.messaging_connections $$, '42501', null,
  'anon reads nothing');
reset role;

select * from finish();
rollback;
