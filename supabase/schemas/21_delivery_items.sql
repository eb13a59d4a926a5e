-- =============================================================================
-- Each item of a delivery alone
--
-- The pieces of a webhook delivery's fallback (22_webhook_delivery.sql): when the store
-- refuses part of a delivery, each message and update is stored alone, the refusals a
-- retry cannot change are recorded with their place, and the summaries are added up.
-- =============================================================================

create or replace function messaging_private.final_refusal(state text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  -- connection, transaction rollback (deadlock, serialization), resources, lock not
  -- available, operator intervention (statement timeout, shutdown), system and internal
  -- errors: sending the same again can succeed. Anything else is the content's fault.
  return state !~ '^(08|40|53|55|57|58|XX)';
end;
$$;
comment on function messaging_private.final_refusal(text) is
  'Whether an SQLSTATE is a refusal a retry cannot change (false for connection, rollback, resource, lock, timeout and internal errors).';

create or replace function messaging_private.delivery_refusal(
  list text, ord bigint, item jsonb, kind text, code text, reason text)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_path text := pg_catalog.format('%s[%s]', list, ord - 1);
begin
  -- the item was stored alone as `<list>[0]`: its reason names its place in the delivery
  return pg_catalog.jsonb_build_object(
    'path', v_path,
    'id', case when pg_catalog.jsonb_typeof(item) = 'object' then pg_catalog.left(item ->> 'id', 256) end,
    'kind', kind, 'code', code,
    'reason', pg_catalog.left(pg_catalog.replace(reason, list || '[0]', v_path), 1000));
end;
$$;
comment on function messaging_private.delivery_refusal(text, bigint, jsonb, text, text, text) is
  'One refused item of a webhook delivery as the answer and the connection record it: its path (messages[4], updates[2]), id, kind, SQLSTATE and reason.';

create or replace function messaging_private.add_counts(total jsonb, part jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  -- every number of total plus the same key of part; arrays (conversations) concatenated
  return (select pg_catalog.jsonb_object_agg(t.key,
            case pg_catalog.jsonb_typeof(t.value)
              when 'number' then pg_catalog.to_jsonb(t.value::text::bigint + coalesce((part ->> t.key)::bigint, 0))
              when 'array' then t.value || coalesce(part -> t.key, '[]'::jsonb)
              else t.value end)
            from pg_catalog.jsonb_each(total) t);
end;
$$;
comment on function messaging_private.add_counts(jsonb, jsonb) is
  'The summary of two ingest or update calls as one: counts added, conversation lists joined (the per-item fallback of a webhook delivery).';
