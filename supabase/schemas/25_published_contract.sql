-- =============================================================================
-- The contract as one JSON object: public.messaging_contract()
--
-- Reads the contract tables (03_contract.sql) and the vocabulary; `make types` and
-- `make web-types` write its answer to contract.json.
-- =============================================================================

create or replace function messaging_private.messaging_contract()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return pg_catalog.jsonb_build_object(
    'limits', (
      select pg_catalog.jsonb_object_agg(l.name, pg_catalog.jsonb_build_object(
               'value', l.value, 'unit', l.unit, 'description', l.description))
        from messaging_private.contract_limits l),
    'payload_fields', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'scope', f.scope, 'field', f.field, 'kind', f.kind, 'required', f.required,
               'max_length', f.max_length,
               'vocabulary', (select t.typname from pg_catalog.pg_type t where t.oid = f.vocabulary),
               'values', (select pg_catalog.jsonb_agg(e.enumlabel order by e.enumsortorder)
                            from pg_catalog.pg_enum e where e.enumtypid = f.vocabulary),
               'description', f.description)
             order by f.scope desc, f.position)
        from messaging_private.payload_fields f),
    'stored_message', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'key', k.key, 'always', k.always, 'type', k.type, 'description', k.description)
             order by k.position)
        from messaging_private.stored_message_keys k),
    'platforms', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'platform', e.enumlabel, 'label', p.label, 'description', p.description,
               'secrets', coalesce((
                 select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                          'name', s.name, 'pattern', s.pattern, 'max_length', s.max_length,
                          'issued_by', s.issued_by, 'description', s.description) order by s.position)
                   from messaging_private.platform_secrets s where s.platform = e.enumlabel), '[]'::jsonb))
             order by e.enumsortorder)
        from pg_catalog.pg_enum e
        left join messaging_private.platforms p on p.platform = e.enumlabel::text
       where e.enumtypid = 'public.messaging_platform'::regtype),
    'connection_statuses', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'status', c.status, 'settable', c.settable, 'stores', c.stores,
               'description', c.description) order by c.position)
        from messaging_private.connection_statuses c),
    'delivery_statuses', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'status', d.status, 'rank', d.rank, 'description', d.description) order by d.rank)
        from messaging_private.delivery_statuses d),
    'refusals', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'kind', r.kind, 'sqlstate', r.sqlstate, 'scope', r.scope, 'advice', r.advice,
               'description', r.description) order by r.kind)
        from messaging_private.refusal_kinds r),
    'webhook_url', '{functions_url}/messaging-ingest/{platform}/{connection_id}'
  );
end;
$$;
comment on function messaging_private.messaging_contract() is
  'The privileged body of public.messaging_contract(): reads the contract tables of messaging_private.';
revoke all on function messaging_private.messaging_contract() from public;
grant execute on function messaging_private.messaging_contract() to authenticated, service_role;

create or replace function public.messaging_contract()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select messaging_private.messaging_contract();
$$;
comment on function public.messaging_contract() is
  'The contract as data: limits, payload field rules, stored-message keys, platforms with their webhook secret names (and who issues each), delivery statuses, refusal kinds (carried in each error''s hint) and the webhook URL form. make types writes it to contract.json.';
revoke all on function public.messaging_contract() from public, anon;
grant execute on function public.messaging_contract() to authenticated, service_role;
