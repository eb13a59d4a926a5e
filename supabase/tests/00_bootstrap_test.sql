-- The bootstrap (supabase/sql/bootstrap.sql) gives the cluster what Supabase has.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(17);

-- ============================== roles ========================================
select has_role('anon');
select has_role('authenticated');
select has_role('service_role');
select has_role('authenticator');
select has_role('supabase_admin');
select ok((select rolbypassrls from pg_roles where rolname = 'service_role'), 'service_role bypasses RLS');
select ok((select rolcanlogin and not rolinherit from pg_roles where rolname = 'authenticator'),
  'authenticator logs in and does not inherit');
select ok(pg_has_role('authenticator', 'anon', 'member')
  and pg_has_role('authenticator', 'authenticated', 'member')
  and pg_has_role('authenticator', 'service_role', 'member'), 'authenticator can become each API role');

-- ============================== schemas and functions ========================
select has_schema('auth');
select has_schema('extensions');
select is((select nspowner::regrole::text from pg_namespace where nspname = 'auth'), 'supabase_admin',
  'auth belongs to supabase_admin, so db reset keeps it');
select has_table('auth', 'users', 'auth.users exists');
select has_function('auth', 'uid', 'auth.uid() exists');

-- ============================== auth.uid() reads the JWT claims ==============
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-a000-00000000a11c", "role": "authenticated", "email": "a@x"}', true);
select is(auth.uid(), '00000000-0000-4000-a000-00000000a11c'::uuid, 'auth.uid() is the sub claim');
select is(auth.role(), 'authenticated', 'auth.role() is the role claim');
select is(auth.email(), 'a@x', 'auth.email() is the email claim');
select is(auth.jwt() ->> 'sub', '00000000-0000-4000-a000-00000000a11c', 'auth.jwt() has all claims');

select * from finish();
rollback;
