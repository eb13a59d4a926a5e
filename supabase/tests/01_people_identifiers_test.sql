-- people and person_identifiers: RLS by owner, in role sections.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(22);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
insert into public.people (id, user_id, full_name) values
  ('11111111-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Owner''s client'),
  ('22222222-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Other''s client');

select tests.rls_enabled('public', 'people');
select tests.rls_enabled('public', 'person_identifiers');
select policies_are('public', 'person_identifiers', array[
  'Users can view their own person identifiers', 'Users can add identifiers to their own people',
  'Users can update identifiers of their own people', 'Users can delete their own person identifiers']);
select is(messaging_private.normalize_identifier('phone', '+34 612-34-56 78'), '+34612345678', 'phones normalise to E.164');
select is(messaging_private.normalize_identifier('any', '34612345678@s.whatsapp.net'), '+34612345678', 'WhatsApp JIDs are phones');
select is(messaging_private.normalize_identifier('username', '@JoaoSilva'), 'joaosilva', 'usernames lose @ and case');

-- ============================== owner =========================================
select tests.authenticate_as('owner');

select results_eq($$ select full_name from public.people $$, array['Owner''s client'], 'owner sees only their people');
select lives_ok($$ insert into public.person_identifiers (person_id, kind, value)
  values ('11111111-0000-4000-8000-000000000001', 'phone', '+34 612 34 56 78') $$, 'owner adds an identifier');
select results_eq($$ select value, user_id from public.person_identifiers $$,
  $$ values ('+34612345678', '11111111-1111-4111-8111-111111111111'::uuid) $$, 'stored normalised, owned by the caller');
select throws_ok($$ insert into public.person_identifiers (person_id, kind, value)
  values ('11111111-0000-4000-8000-000000000001', 'phone', 'call me') $$, '22023', null, 'a phone that is no phone is refused');
select isnt_empty($$ update public.person_identifiers set platform = 'whatsapp' returning 1 $$, 'owner updates');
select isnt_empty($$ update public.people set full_name = 'Renamed' returning 1 $$, 'owner updates a person');

-- ============================== other user ===================================
select tests.authenticate_as('other');

select is_empty($$ select 1 from public.person_identifiers $$, 'other user sees no identifiers of the owner');
select throws_ok($$ insert into public.person_identifiers (person_id, kind, value)
  values ('11111111-0000-4000-8000-000000000001', 'username', 'x') $$, '42501', null,
  'other user cannot add identifiers to the owner''s person');
select throws_ok($$ insert into public.people (user_id, full_name)
  values ('11111111-1111-4111-8111-111111111111', 'Planted') $$, '42501', null,
  'other user cannot create people for the owner');
select is_empty($$ update public.people set full_name = 'x' where id = '11111111-0000-4000-8000-000000000001' returning 1 $$,
  'other user cannot update the owner''s person');
select is_empty($$ delete from public.person_identifiers returning 1 $$, 'other user deletes nothing of the owner');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select * from public.people $$, '42501', null, 'anon cannot read people');
select throws_ok($$ select * from public.person_identifiers $$, '42501', null, 'anon cannot read identifiers');
select throws_ok($$ insert into public.people (full_name) values ('x') $$, '42501', null, 'anon cannot insert people');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select results_eq($$ select count(*)::int from public.people
  where id in ('11111111-0000-4000-8000-000000000001', '22222222-0000-4000-8000-000000000002') $$,
  array[2], 'service_role sees every user''s people');
select lives_ok($$ delete from public.person_identifiers where user_id = '11111111-1111-4111-8111-111111111111' $$,
  'service_role deletes');

select * from finish();
rollback;
