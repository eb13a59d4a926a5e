-- Test helpers in the style of supabase-test-helpers: a `tests` schema with
-- create_supabase_user / authenticate_as / clear_authentication / rls_enabled, so every
-- pgTAP file reads as roles acting, not as JWT plumbing. pg_prove runs the files in name
-- order, so this one runs first; it commits (the helpers outlive it) and `db reset`
-- removes them again. Never part of a migration: production databases do not get them.
create extension if not exists pgtap with schema extensions;

create schema if not exists tests;
comment on schema tests is 'pgTAP helpers (supabase/tests/000-setup-tests-hooks.sql); test databases only.';
grant usage on schema tests to anon, authenticated, service_role;

-- ============================== users ========================================

drop function if exists tests.create_supabase_user(text, text, text, jsonb);
create or replace function tests.create_supabase_user(
  identifier text, email text default null, phone text default null, metadata jsonb default null,
  fixed_id uuid default null
) returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  user_id uuid;
begin
  -- the identifier is kept in the user's metadata, so tests name users, not uuids; a fixed
  -- id (beyond supabase-test-helpers' arguments) serves files whose expected messages name it
  insert into auth.users (id, email, phone, raw_user_meta_data, raw_app_meta_data, created_at)
  values (coalesce(fixed_id, gen_random_uuid()), coalesce(email, identifier || '@test.example'), phone,
          jsonb_build_object('test_identifier', identifier) || coalesce(metadata, '{}'::jsonb),
          '{"provider": "email", "providers": ["email"]}'::jsonb, now())
  returning id into user_id;
  return user_id;
end;
$$;
comment on function tests.create_supabase_user(text, text, text, jsonb, uuid) is
  'Creates an auth.users row named by identifier (kept in raw_user_meta_data.test_identifier), with the given id or a new one; returns its id.';

create or replace function tests.get_supabase_user(identifier text) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  found jsonb;
begin
  select jsonb_build_object('id', u.id, 'email', u.email, 'phone', u.phone,
                            'raw_user_meta_data', u.raw_user_meta_data)
    into found
    from auth.users u
   where u.raw_user_meta_data ->> 'test_identifier' = identifier
   limit 1;
  if found is null then
    raise exception 'tests: no user with identifier %', identifier using errcode = '22023';
  end if;
  return found;
end;
$$;
comment on function tests.get_supabase_user(text) is
  'The user tests.create_supabase_user made under this identifier (id, email, phone, metadata); raises if there is none.';

create or replace function tests.get_supabase_uid(identifier text) returns uuid
language sql stable set search_path = '' as $$
  select (tests.get_supabase_user(identifier) ->> 'id')::uuid;
$$;
comment on function tests.get_supabase_uid(text) is
  'The id of the user tests.create_supabase_user made under this identifier.';

-- ============================== acting as a role ============================

create or replace function tests.authenticate_as(identifier text) returns void
language plpgsql set search_path = '' as $$
declare
  found jsonb := tests.get_supabase_user(identifier);
begin
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims', jsonb_build_object(
    'sub', found ->> 'id', 'role', 'authenticated', 'email', found ->> 'email',
    'aud', 'authenticated')::text, true);
end;
$$;
comment on function tests.authenticate_as(text) is
  'Acts as the named user until the transaction ends: role authenticated with the claims PostgREST would set.';

create or replace function tests.authenticate_as_service_role() returns void
language plpgsql set search_path = '' as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
end;
$$;
comment on function tests.authenticate_as_service_role() is
  'Acts as the service_role key until the transaction ends.';

create or replace function tests.clear_authentication() returns void
language plpgsql set search_path = '' as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', '{"role": "anon"}', true);
end;
$$;
comment on function tests.clear_authentication() is
  'Acts as the anon key (no user) until the transaction ends.';

-- ============================== row-level security ==========================
-- pgTAP's own functions call each other unqualified, so these two run with its schema on
-- the path (the only helpers without an empty search_path).

create or replace function tests.rls_enabled(testing_schema text) returns text
language sql set search_path = extensions, pg_catalog as $$
  select extensions.is(
    (select count(*)::int from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = testing_schema and c.relkind in ('r', 'p') and not c.relrowsecurity),
    0, format('every table in schema %s has row-level security on', testing_schema));
$$;
comment on function tests.rls_enabled(text) is
  'pgTAP: passes when every table of the schema has row-level security enabled.';

create or replace function tests.rls_enabled(testing_schema text, testing_table text) returns text
language sql set search_path = extensions, pg_catalog as $$
  select extensions.ok(
    coalesce((select c.relrowsecurity from pg_catalog.pg_class c
                join pg_catalog.pg_namespace n on n.oid = c.relnamespace
               where n.nspname = testing_schema and c.relname = testing_table), false),
    format('table %s.%s has row-level security on', testing_schema, testing_table));
$$;
comment on function tests.rls_enabled(text, text) is
  'pgTAP: passes when the table exists and has row-level security enabled.';

grant execute on all functions in schema tests to anon, authenticated, service_role;

-- pg_prove wants a plan from every file.
begin;
set local search_path = extensions, public;
select plan(1);
select ok(true, 'tests schema with the Supabase test helpers is installed');
select * from finish();
rollback;
