-- Functions in `public` are RPC endpoints: none is callable by anon, and each is granted
-- on purpose (the default privileges grant nothing, 20261123205446_function_privileges.sql).
begin;
set local search_path = extensions, public;
select plan(2);

-- ============================== default privileges ==========================
select is_empty($$
  select d.defaclrole::regrole::text, a.grantee::regrole::text
    from pg_default_acl d
    join pg_namespace n on n.oid = d.defaclnamespace
    cross join lateral aclexplode(d.defaclacl) a
   where n.nspname = 'public' and d.defaclobjtype = 'f'
     and d.defaclrole = 'postgres'::regrole
     and a.grantee in ('anon'::regrole, 'authenticated'::regrole, 'service_role'::regrole)
$$, 'new functions of postgres in public are granted to no API role by default');

-- ============================== anon ========================================
select is_empty($$
  select p.oid::regprocedure::text
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and has_function_privilege('anon', p.oid, 'execute')
$$, 'anon can execute no function in public');

select * from finish();
rollback;
