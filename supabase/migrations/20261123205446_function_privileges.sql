-- =============================================================================
-- Function privileges: nothing in `public` is callable through the API by default.
-- =============================================================================
-- Supabase's default privileges grant EXECUTE on every new function in `public` to anon,
-- authenticated and service_role, so a helper created without thinking becomes an RPC
-- endpoint anyone with the anon key can call. As basejump does, this project revokes that
-- default before any function exists; every migration grants each public function to the
-- roles that need it (and revokes PUBLIC's execute, which PostgreSQL grants globally).
-- supabase/tests/09_function_privileges_test.sql checks that anon can call none of them.

alter default privileges for role postgres in schema public
  revoke execute on functions from anon, authenticated, service_role;
