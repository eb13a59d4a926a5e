-- =============================================================================
-- Webhook deliveries
-- =============================================================================

-- -----------------------------------------------------------------------------
-- One delivery: each message and update stands alone
-- -----------------------------------------------------------------------------

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

create or replace function messaging_private.webhook_delivery(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_conn record;
  v_connection uuid;
  v_result jsonb := '{"inserted": 0, "duplicates": 0, "updated": 0, "matched": 0, "conversations": []}'::jsonb;
  v_part jsonb;
  v_messages jsonb;
  v_updates jsonb;
  v_upd jsonb := '{"applied": 0, "unchanged": 0, "missing": 0}'::jsonb;
  v_refused jsonb[] := '{}'::jsonb[];
  v_given jsonb := '[]'::jsonb;
  v_items integer := 0;
  v_failed integer := 0;
  v_state text;
  v_text text;
  m record;
  v_nref integer;
  v_accepted boolean;
begin
  perform messaging_private.require_service_role();
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023', message = 'payload: must be a JSON object', hint = 'payload_not_object';
  end if;
  if coalesce(payload ->> 'connection_id', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    raise exception using errcode = '22023', message = 'connection_id: required, a UUID', hint = 'connection_id_invalid';
  end if;
  v_connection := (payload ->> 'connection_id')::uuid;
  select mc.user_id, mc.status into v_conn from public.messaging_connections mc where mc.id = v_connection;
  if not found then
    raise exception using errcode = '22023', message = pg_catalog.format('connection_id: no connection %s', v_connection),
      hint = 'connection_unknown';
  end if;
  if payload ? 'user_id' and payload ->> 'user_id' is distinct from v_conn.user_id::text then
    raise exception using errcode = '42501', message = 'user_id: not the owner of the connection', hint = 'user_id_not_own';
  end if;
  if payload ? 'messages' and pg_catalog.jsonb_typeof(payload -> 'messages') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'messages: must be an array', hint = 'messages_not_array';
  end if;
  if payload ? 'refused' and pg_catalog.jsonb_typeof(payload -> 'refused') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'refused: must be an array', hint = 'delivery_invalid';
  end if;

  -- a paused or disconnected connection stores nothing (the function still answers so the
  -- platform stops retrying)
  if v_conn.status in ('paused', 'disconnected') then
    return pg_catalog.jsonb_build_object('rejected', pg_catalog.jsonb_build_object(
      'kind', 'paused', 'status', v_conn.status, 'reason', 'the connection is ' || v_conn.status));
  end if;
  -- a WeChat nonce already used with another body: a replay, counted, nothing stored
  if payload -> 'replay_guard' is not null and payload -> 'replay_guard' <> 'null'::jsonb
     and not messaging_private.claim_nonce(v_connection, payload -> 'replay_guard') then
    update public.messaging_connections mc
       set refused_count = mc.refused_count + 1, last_refused_at = pg_catalog.now(),
           last_error = 'a signed query string replayed with another body (nonce already used)'
     where mc.id = v_connection;
    return pg_catalog.jsonb_build_object('rejected', pg_catalog.jsonb_build_object(
      'kind', 'replay', 'reason', 'nonce: already used with another body'));
  end if;

  -- what the function refused before the database (another account, a message of a
  -- shape it cannot map): counted here, in the same transaction
  if pg_catalog.jsonb_typeof(payload -> 'refused') = 'array' then
    select coalesce(pg_catalog.jsonb_agg(r.x), '[]'::jsonb) into v_given
      from (select x from pg_catalog.jsonb_array_elements(payload -> 'refused') x limit 1000) r;
  end if;

  if pg_catalog.jsonb_typeof(payload -> 'messages') = 'array' and pg_catalog.jsonb_array_length(payload -> 'messages') > 0 then
    v_messages := payload -> 'messages';
    v_items := pg_catalog.jsonb_array_length(v_messages);
    -- an edit replaces the stored message whole: it keeps the stored sent_at (an edit never
    -- moves a message) and what the platform recorded on it since (delivery status,
    -- reactions), so an edit does not undo them
    if exists (select 1 from pg_catalog.jsonb_array_elements(v_messages) e(m)
                where pg_catalog.jsonb_typeof(e.m) = 'object' and e.m ->> 'edited_at' is not null) then
      select pg_catalog.jsonb_agg(
               case when s.m is not null
                    then e.m || pg_catalog.jsonb_build_object('sent_at', s.m -> 'sent_at')
                         || case when k.keep is not null
                                 then pg_catalog.jsonb_build_object('metadata', k.keep
                                        || case when pg_catalog.jsonb_typeof(e.m -> 'metadata') = 'object'
                                                then e.m -> 'metadata' else '{}'::jsonb end)
                                 else '{}'::jsonb end
                    else e.m end
               order by e.ord)
        into v_messages
        from pg_catalog.jsonb_array_elements(v_messages) with ordinality e(m, ord)
        left join lateral (
          select messaging_private.stored_message(v_conn.user_id, coalesce(e.m ->> 'platform', payload ->> 'platform'),
                   e.m ->> 'external_conversation_id', e.m ->> 'id') as m
        ) s on pg_catalog.jsonb_typeof(e.m) = 'object' and e.m ->> 'edited_at' is not null
        left join lateral (
          select pg_catalog.jsonb_object_agg(kv.key, kv.value) as keep
            from pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(s.m -> 'metadata') = 'object'
                                            then s.m -> 'metadata' end) kv
           where kv.key in ('status', 'status_at', 'status_error', 'reactions')
        ) k on s.m is not null;
    end if;
    -- all at once (the common case: every message valid), else each message on its own
    v_failed := 1;
    if v_items > 1 then
      begin
        v_result := messaging_private.ingest_messages(pg_catalog.jsonb_build_object(
          'user_id', v_conn.user_id, 'connection_id', v_connection, 'messages', v_messages));
        v_failed := 0;
      exception when others then
        get stacked diagnostics v_state = returned_sqlstate;
        if not messaging_private.final_refusal(v_state) then
          raise;
        end if;
      end;
    end if;
    if v_failed = 1 then
      v_failed := 0;
      for m in select e.m, e.ord from pg_catalog.jsonb_array_elements(v_messages) with ordinality e(m, ord) loop
        begin
          v_part := messaging_private.ingest_messages(pg_catalog.jsonb_build_object(
            'user_id', v_conn.user_id, 'connection_id', v_connection, 'messages', pg_catalog.jsonb_build_array(m.m)));
          v_result := messaging_private.add_counts(v_result, v_part);
        exception when others then
          get stacked diagnostics v_state = returned_sqlstate, v_text = message_text;
          if not messaging_private.final_refusal(v_state) then
            raise;
          end if;
          v_failed := v_failed + 1;
          v_refused := v_refused
            || messaging_private.delivery_refusal('messages', m.ord, m.m, 'invalid_message', v_state, v_text);
        end;
      end loop;
    end if;
  end if;

  v_updates := payload -> 'updates';
  if v_updates is not null and v_updates <> 'null'::jsonb and v_updates <> '[]'::jsonb then
    if pg_catalog.jsonb_typeof(v_updates) <> 'array' then
      raise exception using errcode = '22023', message = 'updates: must be an array', hint = 'updates_invalid';
    end if;
    if pg_catalog.jsonb_array_length(v_updates) > messaging_private.contract_limit('updates_per_call') then
      raise exception using errcode = '22023', hint = 'updates_invalid',
        message = pg_catalog.format('updates: at most %s in one call', messaging_private.contract_limit('updates_per_call'));
    end if;
    v_items := v_items + pg_catalog.jsonb_array_length(v_updates);
    begin
      v_upd := messaging_private.apply_message_updates(v_conn.user_id, v_updates);
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate;
      if not messaging_private.final_refusal(v_state) then
        raise;
      end if;
      for m in select e.u, e.ord from pg_catalog.jsonb_array_elements(v_updates) with ordinality e(u, ord) loop
        begin
          v_part := messaging_private.apply_message_updates(v_conn.user_id, pg_catalog.jsonb_build_array(m.u));
          v_upd := messaging_private.add_counts(v_upd, v_part);
        exception when others then
          get stacked diagnostics v_state = returned_sqlstate, v_text = message_text;
          if not messaging_private.final_refusal(v_state) then
            raise;
          end if;
          v_failed := v_failed + 1;
          v_refused := v_refused
            || messaging_private.delivery_refusal('updates', m.ord, m.u, 'invalid_update', v_state, v_text);
        end;
      end loop;
    end;
  end if;

  v_refused := (select coalesce(pg_catalog.array_agg(x), '{}'::jsonb[]) from pg_catalog.jsonb_array_elements(v_given) x)
               || v_refused;
  v_nref := pg_catalog.cardinality(v_refused);
  -- stored (or already stored): at least one item taken, or a delivery with nothing in it
  -- to refuse (an event, a receipt)
  v_accepted := v_items > v_failed or v_nref = 0;

  -- ingest_messages has set last_synced_at when it stored messages; the row is written
  -- again only when it must change (refusals to count, no messages, an error to clear),
  -- so a plain delivery costs one update of the connection row, as ingest_messages does
  update public.messaging_connections mc
     set last_synced_at = case when v_accepted then pg_catalog.now() else mc.last_synced_at end,
         status = case when mc.status = 'error' and v_accepted then 'active' else mc.status end,
         last_error = case when v_nref > 0
                           then pg_catalog.left(pg_catalog.format('%s refused: %s', v_refused[1] ->> 'path',
                                  v_refused[1] ->> 'reason')
                                  || case when v_nref > 1 then pg_catalog.format(' (and %s more)', v_nref - 1) else '' end,
                                  4000)
                           when mc.status = 'error' and v_accepted then null
                           else mc.last_error end,
         refused_count = mc.refused_count + v_nref,
         last_refused_at = case when v_nref > 0 then pg_catalog.now() else mc.last_refused_at end
   where mc.id = v_connection
     and (v_nref > 0 or mc.status = 'error'
          or (v_accepted and not (v_result -> 'conversations' <> '[]'::jsonb)));
  return v_result || pg_catalog.jsonb_build_object(
    'updates', v_upd,
    'accepted', v_items - v_failed,
    'refused', pg_catalog.to_jsonb(v_refused));
end;
$$;
comment on function messaging_private.webhook_delivery(jsonb) is
  'The privileged body of public.ingest_webhook_delivery: one webhook delivery (messages + updates) in one transaction for the connection''s owner; each message and update that the store refuses is left out and counted on the connection, the rest stored.';
revoke all on function messaging_private.webhook_delivery(jsonb) from public;
grant execute on function messaging_private.webhook_delivery(jsonb) to service_role;

create or replace function public.ingest_webhook_delivery(payload jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.webhook_delivery(payload);
$$;
comment on function public.ingest_webhook_delivery(jsonb) is
  'service_role only (the messaging-ingest function): {connection_id, messages, updates, refused, replay_guard} of one delivery; messages as in ingest_messages, updates {kind: status|reaction|delete, platform, external_conversation_id, id, at, ...} applied to stored messages only, refused: what the function itself refused ({path, kind, reason}), replay_guard: a WeChat {nonce, digest}. Each message or update the store refuses is left out (listed in refused, counted on the connection), the rest stored. Returns the ingest summary plus {updates: {applied, unchanged, missing}, accepted, refused}, or {rejected: {kind: paused|replay}} when nothing may be stored.';
revoke all on function public.ingest_webhook_delivery(jsonb) from public, anon, authenticated;
grant execute on function public.ingest_webhook_delivery(jsonb) to service_role;

-- -----------------------------------------------------------------------------
-- Several deliveries of one connection in one call
-- -----------------------------------------------------------------------------
-- The edge function sends the deliveries of a connection that arrive while its previous
-- call is still running as one call (a delivery arriving to an idle connection goes alone,
-- at once): one request, one transaction and one commit for all of them, each delivery
-- still stored exactly as ingest_webhook_delivery stores it alone.

create or replace function messaging_private.webhook_deliveries(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_results jsonb[] := '{}'::jsonb[];
  d record;
  v_state text;
  v_text text;
  v_detail text;
  v_hint text;
begin
  perform messaging_private.require_service_role();
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023', message = 'payload: must be a JSON object', hint = 'payload_not_object';
  end if;
  if coalesce(pg_catalog.jsonb_typeof(payload -> 'deliveries'), '') <> 'array'
     or pg_catalog.jsonb_array_length(payload -> 'deliveries') = 0 then
    raise exception using errcode = '22023', message = 'deliveries: required, a non-empty array', hint = 'delivery_invalid';
  end if;
  if pg_catalog.jsonb_array_length(payload -> 'deliveries') > messaging_private.contract_limit('deliveries_per_call') then
    raise exception using errcode = '22023', hint = 'delivery_invalid',
      message = pg_catalog.format('deliveries: at most %s in one call', messaging_private.contract_limit('deliveries_per_call'));
  end if;
  for d in select e.x, e.ord from pg_catalog.jsonb_array_elements(payload -> 'deliveries') with ordinality e(x, ord) loop
    -- each delivery alone (its own savepoint): one the store refuses whole gets its error
    -- and changes nothing, the others are stored; a failure a retry can fix (a deadlock,
    -- a timeout) fails the call, and every delivery in it is sent again
    begin
      if pg_catalog.jsonb_typeof(d.x) <> 'object' then
        raise exception using errcode = '22023', hint = 'delivery_invalid',
          message = pg_catalog.format('deliveries[%s]: must be a JSON object', d.ord - 1);
      end if;
      v_results := v_results || messaging_private.webhook_delivery(
        (d.x - 'connection_id') || pg_catalog.jsonb_build_object('connection_id', payload -> 'connection_id'));
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_text = message_text,
        v_detail = pg_exception_detail, v_hint = pg_exception_hint;
      if not messaging_private.final_refusal(v_state) then
        raise;
      end if;
      v_results := v_results || pg_catalog.jsonb_build_object('error', pg_catalog.jsonb_build_object(
        'code', v_state, 'message', v_text, 'details', nullif(v_detail, ''), 'hint', nullif(v_hint, '')));
    end;
  end loop;
  return pg_catalog.jsonb_build_object('results', pg_catalog.to_jsonb(v_results));
end;
$$;
comment on function messaging_private.webhook_deliveries(jsonb) is
  'The privileged body of public.ingest_webhook_deliveries: each delivery as webhook_delivery stores it, in its own savepoint, all in one transaction.';
revoke all on function messaging_private.webhook_deliveries(jsonb) from public;
grant execute on function messaging_private.webhook_deliveries(jsonb) to service_role;

create or replace function public.ingest_webhook_deliveries(payload jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.webhook_deliveries(payload);
$$;
comment on function public.ingest_webhook_deliveries(jsonb) is
  'service_role only (the messaging-ingest function): {connection_id, deliveries: [{messages, updates, refused, replay_guard}, ...]}, at most deliveries_per_call. Each delivery is stored as ingest_webhook_delivery stores it alone, in its own savepoint, all in one transaction. Returns {results: [...]}, one per delivery in order: what ingest_webhook_delivery returns, or {error: {code, message, details, hint}} when the store refused that delivery whole (it changed nothing). A failure a retry can fix fails the whole call.';
revoke all on function public.ingest_webhook_deliveries(jsonb) from public, anon, authenticated;
grant execute on function public.ingest_webhook_deliveries(jsonb) to service_role;

create or replace function messaging_private.record_webhook_failure(connection uuid, error text, refused boolean)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform messaging_private.require_service_role();
  -- a refusal (final: the platform is told not to retry) is counted; a failure (the
  -- platform retries) marks the connection as in error. Neither moves last_synced_at.
  update public.messaging_connections mc
     set status = case when refused then mc.status else 'error' end,
         last_error = pg_catalog.left(coalesce(error, 'unknown error'), 4000),
         refused_count = mc.refused_count + case when refused then 1 else 0 end,
         last_refused_at = case when refused then pg_catalog.now() else mc.last_refused_at end
   where mc.id = connection;
end;
$$;
comment on function messaging_private.record_webhook_failure(uuid, text, boolean) is
  'The privileged body of public.record_webhook_failure.';
revoke all on function messaging_private.record_webhook_failure(uuid, text, boolean) from public;
grant execute on function messaging_private.record_webhook_failure(uuid, text, boolean) to service_role;

create or replace function public.record_webhook_failure(connection_id uuid, error text, refused boolean default false)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  perform messaging_private.record_webhook_failure(connection_id, error, refused);
end;
$$;
comment on function public.record_webhook_failure(uuid, text, boolean) is
  'service_role only: a delivery of this connection failed (refused = false: the database failed and the platform retries; status = error) or was refused for good (refused = true: counted in refused_count, last_refused_at). Sets last_error; never last_synced_at.';
revoke all on function public.record_webhook_failure(uuid, text, boolean) from public, anon, authenticated;
grant execute on function public.record_webhook_failure(uuid, text, boolean) to service_role;
