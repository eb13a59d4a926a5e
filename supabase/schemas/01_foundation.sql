-- =============================================================================
-- Foundation: the private schema, function privileges, shared triggers
--
-- Runs first. messaging_private holds the privileged code; PostgREST does not expose it.
-- =============================================================================

-- Supabase's default privileges grant EXECUTE on every new function in `public` to anon,
-- authenticated and service_role, so a helper created without thinking becomes an RPC
-- endpoint anyone with the anon key can call. As basejump does, this project revokes that
-- default before any function exists; every file grants each public function to the
-- roles that need it (and revokes PUBLIC's execute, which PostgreSQL grants globally).
-- supabase/tests/09_function_privileges_test.sql checks that anon can call none of them.
--
-- Function style, for every file: private helpers are plpgsql, even one-statement
-- ones. No function here can be inlined into its caller (every one pins
-- `search_path = ''`, as the advisors require, and a SET clause rules inlining out), and
-- PostgreSQL 15 plans a SQL function's statements again in every outer query, while
-- plpgsql keeps each statement's plan for the session: one-message ingest calls were
-- dearer with the one-statement helpers as `language sql`, and large calls no faster
-- (figures in bench/HISTORY.md). `language sql` is kept for the thin
-- public wrappers over private functions (one call per request, nothing worth caching).
-- Inside function bodies, built-ins are written with pg_catalog. (redundant, since
-- pg_catalog is always searched first, but uniform); DDL outside functions is not.

alter default privileges for role postgres in schema public
  revoke execute on functions from anon, authenticated, service_role;

create schema if not exists messaging_private;
comment on schema messaging_private is
  'crm-messaging internals: privileged functions and settings. Not exposed by PostgREST.';
revoke all on schema messaging_private from public;
grant usage on schema messaging_private to authenticated, service_role;


create or replace function messaging_private.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end;
$$;
comment on function messaging_private.touch_updated_at() is 'Trigger: sets updated_at on every update.';
