-- messaging_connections: each command allowed for the owner, denied to others.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(12);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@test'),
  ('22222222-2222-4222-8222-222222222222', 'other@test');

select ok((select relrowsecurity from pg_class where oid = 'public.messaging_connections'::regclass), 'RLS on');
select policies_are('public', 'messaging_connections', array[
  'Users can view their own connections', 'Users can add connections of their own',
  'Users can update their own connections', 'Users can delete their own connections']);

-- ============================== owner =========================================
set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}', true);
select lives_ok($$ insert into public.messaging_connections (id, platform, account_identifier)
  values ('11111111-0000-4000-8000-0000000000c1', 'whatsapp', '+34600000001') $$, 'owner adds a connection');
select isnt_empty($$ select 1 from public.messaging_connections $$, 'owner sees it');
select isnt_empty($$ update public.messaging_connections set status = 'paused' returning 1 $$, 'owner updates it');
select throws_ok($$ insert into public.messaging_connections (user_id, platform, account_identifier)
  values ('22222222-2222-4222-8222-222222222222', 'signal', 'x') $$, '42501', null,
  'owner cannot create a connection for someone else');

-- ============================== other user ===================================
select set_config('request.jwt.claims', '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}', true);
select is_empty($$ select 1 from public.messaging_connections $$, 'other user sees none');
select is_empty($$ update public.messaging_connections set status = 'error' returning 1 $$, 'other user updates none');
select is_empty($$ delete from public.messaging_connections returning 1 $$, 'other user deletes none');

-- ============================== anon =========================================
reset role;
set local role anon;
select throws_ok($$ select * from public.messaging_connections $$, '42501', null, 'anon cannot read');

-- ============================== service_role =================================
reset role;
set local role service_role;
select isnt_empty($$ select 1 from public.messaging_connections where user_id = '11111111-1111-4111-8111-111111111111' $$,
  'service_role reads all');

-- ============================== owner deletes ================================
reset role;
set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}', true);
select isnt_empty($$ delete from public.messaging_connections returning 1 $$, 'owner deletes it');

select * from finish();
rollback;
