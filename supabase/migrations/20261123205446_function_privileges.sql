-- =============================================================================
-- Function privileges: nothing in `public` is callable through the API by default.
-- =============================================================================
-- Supabase's default privileges grant EXECUTE on every new function in `public` to anon,
-- authenticated and service_role, so a helper created without thinking becomes an RPC
-- endpoint anyone with the anon key can call. As basejump does, this project revokes that
-- default before any function exists; every migration grants each public function to the
-- roles that need it (and revokes PUBLIC's execute, which PostgreSQL grants globally).
-- supabase/tests/09_function_privileges_test.sql checks that anon can call none of them.

--
-- Function style, for every migration: a helper that is one SQL statement is `language sql`;
-- plpgsql is for functions with variables, branches, loops or raised errors, and for a big
-- single statement run once per call (ingest_groups), where plpgsql's plan kept for the
-- session saves planning it each time (PostgreSQL 15 plans a SQL function's statements
-- again on every outer query). No function here can be inlined into its caller: every one
-- pins `search_path = ''` (the advisors require it), and a SET clause rules inlining out;
-- a per-row helper as `language sql` still costs ~15-20% less per call than plpgsql here.
-- Inside function bodies, built-ins are written with pg_catalog. (redundant, since
-- pg_catalog is always searched first, but uniform); DDL outside functions is not.

alter default privileges for role postgres in schema public
  revoke execute on functions from anon, authenticated, service_role;
