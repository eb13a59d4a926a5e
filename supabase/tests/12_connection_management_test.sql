-- Connection management from the screens: create with generated secrets (shown once),
-- rotate, pause/resume, delete; the secrets are never readable afterwards.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(20);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');

select function_privs_are('public', 'create_messaging_connection', array['text', 'text', 'text', 'text'],
  'anon', array[]::text[], 'anon cannot create');
select function_privs_are('public', 'rotate_messaging_connection_secrets', array['uuid', 'text'],
  'anon', array[]::text[], 'anon cannot rotate');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select set_config('test.tg', (select create_messaging_connection('telegram', 'alice_bot', 'Alice bot'))::text, true);
select ok(current_setting('test.tg')::jsonb #>> '{secrets,secret_token}' ~ '^[0-9a-f]{64}$',
  'a generated Telegram secret token, returned once');
select is((select has_secrets from messaging_connection_webhooks()
            where connection_id = (current_setting('test.tg')::jsonb ->> 'id')::uuid), true, 'it has secrets');
select throws_ok($$ select * from messaging_private.connection_secrets $$, '42501', null,
  'the owner cannot read the secrets table');
select throws_ok($$ select create_messaging_connection('whatsapp', '+34600000001') $$, '22023', null,
  'WhatsApp needs its Meta app secret');
select ok((select create_messaging_connection('whatsapp', '+34600000001', null, 'meta-app-secret')) #>> '{secrets,verify_token}' is not null
          and (select create_messaging_connection('wechat', 'gh_shop')) #>> '{secrets,token}' ~ '^[0-9a-f]{32}$',
  'WhatsApp gets a verify token (its app secret is not echoed), WeChat a 32-digit token');
select is((select count(*)::int from messaging_connections), 3, 'three connections');
select throws_ok($$ select create_messaging_connection('telegram', 'x', null, 'nope') $$, '22023', null,
  'only WhatsApp takes an app secret');

-- an import-made connection has no secrets until they are set up
insert into messaging_connections (platform, account_identifier) values ('signal', '+34600000002');
select is((select has_secrets from messaging_connection_webhooks() w join messaging_connections mc on mc.id = w.connection_id
            where mc.platform = 'signal'), false, 'an import-made connection has no secrets');
select ok((select rotate_messaging_connection_secrets((select id from messaging_connections where platform = 'signal')))
            #>> '{secrets,token}' is not null, 'rotating sets them up');
select isnt((select rotate_messaging_connection_secrets((current_setting('test.tg')::jsonb ->> 'id')::uuid)) #>> '{secrets,secret_token}',
  current_setting('test.tg')::jsonb #>> '{secrets,secret_token}', 'rotating replaces the secret');
select ok((select rotate_messaging_connection_secrets((select id from messaging_connections where platform = 'whatsapp')))
            #>> '{secrets,verify_token}' is not null, 'WhatsApp rotates its verify token, keeping the stored app secret');

select is(set_messaging_connection_status((current_setting('test.tg')::jsonb ->> 'id')::uuid, 'paused'), 'paused', 'pause');
select is((select status from messaging_connections where id = (current_setting('test.tg')::jsonb ->> 'id')::uuid), 'paused',
  'the connection is paused');
select throws_ok($$ select set_messaging_connection_status((current_setting('test.tg')::jsonb ->> 'id')::uuid, 'error') $$,
  '22023', null, 'only active or paused');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select throws_ok($$ select rotate_messaging_connection_secrets((current_setting('test.tg')::jsonb ->> 'id')::uuid) $$,
  'P0002', null, 'another user cannot rotate it');
select throws_ok($$ select delete_messaging_connection((current_setting('test.tg')::jsonb ->> 'id')::uuid) $$,
  'P0002', null, 'nor delete it');

-- ============================== owner again ==================================
select tests.authenticate_as('owner');
select ok(delete_messaging_connection((current_setting('test.tg')::jsonb ->> 'id')::uuid), 'delete');
reset role;
select is((select count(*)::int from messaging_private.connection_secrets
            where connection_id = (current_setting('test.tg')::jsonb ->> 'id')::uuid), 0, 'its secrets went with it');

select * from finish();
rollback;
