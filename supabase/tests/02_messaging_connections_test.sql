-- messaging_connections: each command allowed for the owner, denied to others.
begin;
set local search_path = extensions, public;
select plan(12);

select tests.create_supabase_user('owner');
select tests.create_supabase_user('other');

select tests.rls_enabled('public', 'messaging_connections');
select policies_are('public', 'messaging_connections', array[
  'Users can view their own connections', 'Users can add connections of their own',
  'Users can update their own connections', 'Users can delete their own connections']);

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select lives_ok($$ insert into public.messaging_connections (id, platform, account_identifier)
  values ('11111111-0000-4000-8000-0000000000c1', 'whatsapp', '+34600000001') $$, 'owner adds a connection');
select isnt_empty($$ select 1 from public.messaging_connections $$, 'owner sees it');
select isnt_empty($$ update public.messaging_connections set status = 'paused' returning 1 $$, 'owner updates it');
select throws_ok(format($$ insert into public.messaging_connections (user_id, platform, account_identifier)
  values (%L, 'signal', 'x') $$, tests.get_supabase_uid('other')), '42501', null,
  'owner cannot create a connection for someone else');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is_empty($$ select 1 from public.messaging_connections $$, 'other user sees none');
select is_empty($$ update public.messaging_connections set status = 'error' returning 1 $$, 'other user updates none');
select is_empty($$ delete from public.messaging_connections returning 1 $$, 'other user deletes none');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select * from public.messaging_connections $$, '42501', null, 'anon cannot read');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select isnt_empty(format($$ select 1 from public.messaging_connections where user_id = %L $$,
  tests.get_supabase_uid('owner')), 'service_role reads all');

-- ============================== owner deletes ================================
select tests.authenticate_as('owner');
select isnt_empty($$ delete from public.messaging_connections returning 1 $$, 'owner deletes it');

select * from finish();
rollback;
