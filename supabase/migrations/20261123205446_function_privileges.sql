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
-- Function style, for every migration: private helpers are plpgsql, even one-statement
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
