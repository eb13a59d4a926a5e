-- =============================================================================
-- Webhook deliveries
--
-- One bad message never costs the good ones beside it: each step that stores items
-- stores them all at once and, when the store refuses that, each alone, with the pieces
-- of that fallback (final_refusal, delivery_refusal, add_counts) in 21_delivery_items.sql.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- One delivery: each message and update stands alone
-- -----------------------------------------------------------------------------

create or replace function messaging_private.delivery_connection(payload jsonb)
returns public.messaging_connections
language plpgsql
stable
set search_path = ''
as $$
-- The connection a delivery names, once the delivery's shape is checked (each error here
-- refuses the delivery whole).
declare
  v_id uuid;
  v_conn public.messaging_connections;
begin
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023', message = 'payload: must be a JSON object', hint = 'payload_not_object';
  end if;
  if coalesce(payload ->> 'connection_id', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    raise exception using errcode = '22023', message = 'connection_id: required, a UUID', hint = 'connection_id_invalid';
  end if;
  v_id := (payload ->> 'connection_id')::uuid;
  select * into v_conn from public.messaging_connections mc where mc.id = v_id;
  if not found then
    raise exception using errcode = '22023', message = pg_catalog.format('connection_id: no connection %s', v_id),
      hint = 'connection_unknown';
  end if;
  if payload ? 'user_id' and payload ->> 'user_id' is distinct from v_conn.user_id::text then
    raise exception using errcode = '42501', message = 'user_id: not the owner of the connection', hint = 'user_id_not_own';
  end if;
  if payload ? 'messages' and pg_catalog.jsonb_typeof(payload -> 'messages') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'messages: must be an array', hint = 'messages_not_array';
  end if;
  if payload ? 'history_messages' and pg_catalog.jsonb_typeof(payload -> 'history_messages') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'history_messages: must be an array', hint = 'messages_not_array';
  end if;
  if payload ? 'refused' and pg_catalog.jsonb_typeof(payload -> 'refused') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'refused: must be an array', hint = 'delivery_invalid';
  end if;
  return v_conn;
end;
$$;
comment on function messaging_private.delivery_connection(jsonb) is
  'The connection a webhook delivery names, after checking the delivery''s shape (an object, a connection that exists, its owner, messages, history_messages and refused arrays).';
revoke all on function messaging_private.delivery_connection(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.delivery_rejected(connection uuid, status text, replay_guard jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
begin
  -- a paused or disconnected connection (connection_statuses.stores false) stores nothing
  -- (the function still answers so the platform stops retrying)
  -- (the function still answers so the platform stops retrying); each one is counted as
  -- dropped, so the screens can say what the pause cost
  if not (select cs.stores from messaging_private.connection_statuses cs
           where cs.status = delivery_rejected.status) then
    update public.messaging_connections mc
       set paused_dropped_count = mc.paused_dropped_count + 1, last_dropped_at = pg_catalog.now()
     where mc.id = delivery_rejected.connection;
    return pg_catalog.jsonb_build_object('rejected', pg_catalog.jsonb_build_object(
      'kind', 'paused', 'status', status, 'reason', 'the connection is ' || status || ': the delivery is dropped'));
  end if;
  -- a WeChat nonce already used with another body: a replay, counted, nothing stored
  if replay_guard is not null and replay_guard <> 'null'::jsonb
     and not messaging_private.claim_nonce(connection, replay_guard) then
    perform messaging_private.note_refusals(connection, '{"replayed": 1}'::jsonb, 'replayed',
      'a signed query string replayed with another body (nonce already used)', null);
    return pg_catalog.jsonb_build_object('rejected', pg_catalog.jsonb_build_object(
      'kind', 'replay', 'reason', 'nonce: already used with another body'));
  end if;
  return null;
end;
$$;
comment on function messaging_private.delivery_rejected(uuid, text, jsonb) is
  'The {rejected} answer of a delivery that may store nothing (a paused or disconnected connection, counted in paused_dropped_count; a replayed WeChat nonce, counted as a refusal), or null.';
revoke all on function messaging_private.delivery_rejected(uuid, text, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.deliver_messages(
  owner uuid, connection uuid, messages jsonb, source text, phase text, out summary jsonb, out refused jsonb[])
language plpgsql
set search_path = ''
as $$
declare
  m record;
  v_state text;
  v_text text;
  -- where the messages come from (coverage): webhook, or history with its phase
  v_from jsonb := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
    'user_id', owner, 'connection_id', connection, 'source', source, 'source_phase', phase));
begin
  summary := '{"inserted": 0, "duplicates": 0, "updated": 0, "matched": 0, "conversations": []}'::jsonb;
  refused := '{}'::jsonb[];
  -- all at once (the common case: every message valid), else each message on its own
  if pg_catalog.jsonb_array_length(messages) > 1 then
    begin
      summary := messaging_private.take_messages(v_from || pg_catalog.jsonb_build_object('messages', messages));
      return;
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate;
      if not messaging_private.final_refusal(v_state) then
        raise;
      end if;
    end;
  end if;
  for m in select e.m, e.ord from pg_catalog.jsonb_array_elements(messages) with ordinality e(m, ord) loop
    begin
      summary := messaging_private.add_counts(summary, messaging_private.take_messages(
        v_from || pg_catalog.jsonb_build_object('messages', pg_catalog.jsonb_build_array(m.m))));
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_text = message_text;
      if not messaging_private.final_refusal(v_state) then
        raise;
      end if;
      refused := refused || messaging_private.delivery_refusal('messages', m.ord, m.m, 'invalid_message', v_state, v_text);
    end;
  end loop;
end;
$$;
comment on function messaging_private.deliver_messages(uuid, uuid, jsonb, text, text) is
  'The messages of a delivery stored through ingest_messages (source webhook, or history with the backfill''s phase), all at once or else each alone: the ingest summary and the messages refused for good (a retryable error fails the delivery).';
revoke all on function messaging_private.deliver_messages(uuid, uuid, jsonb, text, text) from public, anon, authenticated, service_role;

create or replace function messaging_private.deliver_updates(owner uuid, updates jsonb, out summary jsonb, out refused jsonb[])
language plpgsql
set search_path = ''
as $$
declare
  m record;
  v_state text;
  v_text text;
begin
  summary := '{"applied": 0, "unchanged": 0, "missing": 0, "pending": 0}'::jsonb;
  refused := '{}'::jsonb[];
  perform messaging_private.check_update_list(updates);  -- else the delivery is refused whole
  begin
    summary := messaging_private.apply_message_updates(owner, updates);
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate;
    if not messaging_private.final_refusal(v_state) then
      raise;
    end if;
    for m in select e.u, e.ord from pg_catalog.jsonb_array_elements(updates) with ordinality e(u, ord) loop
      begin
        summary := messaging_private.add_counts(summary,
          messaging_private.apply_message_updates(owner, pg_catalog.jsonb_build_array(m.u)));
      exception when others then
        get stacked diagnostics v_state = returned_sqlstate, v_text = message_text;
        if not messaging_private.final_refusal(v_state) then
          raise;
        end if;
        refused := refused || messaging_private.delivery_refusal('updates', m.ord, m.u, 'invalid_update', v_state, v_text);
      end;
    end loop;
  end;
end;
$$;
comment on function messaging_private.deliver_updates(uuid, jsonb) is
  'The updates of a delivery applied all at once or else each alone: their counts and the updates refused for good (a retryable error fails the delivery).';
revoke all on function messaging_private.deliver_updates(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.record_delivery(
  connection uuid, accepted boolean, refused jsonb[], conversations jsonb)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_nref integer := pg_catalog.cardinality(refused);
  v_reasons jsonb;
begin
  if v_nref > 0 then
    select pg_catalog.jsonb_object_agg(r.reason, r.n) into v_reasons
      from (select messaging_private.refusal_reason(x.r ->> 'kind') reason, pg_catalog.count(*) n
              from pg_catalog.unnest(refused) x(r) group by 1) r;
  end if;
  -- ingest_messages has set last_synced_at when it stored messages; the row is written
  -- again only when it must change (refusals to count, no messages, an error to clear or
  -- to mark as past), so a plain delivery costs one update of the connection row, as
  -- ingest_messages does
  update public.messaging_connections mc
     set last_synced_at = case when accepted then pg_catalog.now() else mc.last_synced_at end,
         status = case when mc.status = 'error' and accepted then 'active' else mc.status end,
         last_error = case when v_nref > 0
                           then pg_catalog.left(pg_catalog.format('%s refused: %s', refused[1] ->> 'path',
                                  refused[1] ->> 'reason')
                                  || case when v_nref > 1 then pg_catalog.format(' (and %s more)', v_nref - 1) else '' end,
                                  4000)
                           else mc.last_error end,
         last_error_at = case when v_nref > 0 then pg_catalog.now() else mc.last_error_at end,
         -- a delivery stored whole after an error: the error stays, marked as past
         last_error_resolved_at = case when v_nref > 0 then null
                                       when accepted and mc.last_error is not null
                                         then coalesce(mc.last_error_resolved_at, pg_catalog.now())
                                       else mc.last_error_resolved_at end,
         refused_count = mc.refused_count + v_nref,
         refused_by_reason = case when v_nref > 0 then messaging_private.add_refusals(mc.refused_by_reason, v_reasons)
                                  else mc.refused_by_reason end,
         last_refused_reason = case when v_nref > 0 then messaging_private.refusal_reason(refused[1] ->> 'kind')
                                    else mc.last_refused_reason end,
         last_refused_at = case when v_nref > 0 then pg_catalog.now() else mc.last_refused_at end
   where mc.id = record_delivery.connection
     and (v_nref > 0 or mc.status = 'error'
          or (accepted and mc.last_error is not null and mc.last_error_resolved_at is null)
          or (accepted and not (conversations <> '[]'::jsonb)));
end;
$$;
comment on function messaging_private.record_delivery(uuid, boolean, jsonb[], jsonb) is
  'A delivery''s mark on its connection: last_synced_at when it was accepted, an error status cleared and the last error marked as past (last_error_resolved_at) when it was stored whole, its refusals counted by kind with the first one''s reason.';
revoke all on function messaging_private.record_delivery(uuid, boolean, jsonb[], jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.webhook_delivery(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_conn public.messaging_connections;
  v_answer jsonb;
  v_part record;
  v_result jsonb := '{"inserted": 0, "duplicates": 0, "updated": 0, "matched": 0, "conversations": []}'::jsonb;
  v_upd jsonb := '{"applied": 0, "unchanged": 0, "missing": 0, "pending": 0}'::jsonb;
  v_refused jsonb[] := '{}'::jsonb[];
  v_given jsonb[] := '{}'::jsonb[];
  v_items integer := 0;
  v_failed integer;
begin
  perform messaging_private.require_service_role();
  v_conn := messaging_private.delivery_connection(payload);
  -- verified against secrets a rotation has replaced: the function reads them again and
  -- verifies once more (nothing stored, nothing counted here)
  if payload ? 'secrets_version'
     and payload ->> 'secrets_version' is distinct from messaging_private.secrets_version(v_conn.id) then
    return '{"rejected": {"kind": "stale_secrets", "reason": "the connection''s secrets were rotated"}}'::jsonb;
  end if;
  v_answer := messaging_private.delivery_rejected(v_conn.id, v_conn.status, payload -> 'replay_guard');
  if v_answer is not null then
    return v_answer;
  end if;
  -- what the function refused before the database (another account, a message of a
  -- shape it cannot map): counted here, in the same transaction
  if pg_catalog.jsonb_typeof(payload -> 'refused') = 'array' then
    select coalesce(pg_catalog.array_agg(r.x), '{}'::jsonb[]) into v_given
      from (select x from pg_catalog.jsonb_array_elements(payload -> 'refused') x limit 1000) r;
  end if;
  if pg_catalog.jsonb_typeof(payload -> 'messages') = 'array' and pg_catalog.jsonb_array_length(payload -> 'messages') > 0 then
    v_items := pg_catalog.jsonb_array_length(payload -> 'messages');
    v_part := messaging_private.deliver_messages(v_conn.user_id, v_conn.id,
      messaging_private.edits_keep_stored(v_conn.user_id, payload ->> 'platform', payload -> 'messages'), 'webhook', null);
    v_result := v_part.summary;
    v_refused := v_part.refused;
  end if;
  -- WhatsApp's history backfill: stored as history (coverage source history, its phase),
  -- and read already (history_read): it adds to the conversation, marks nothing unread
  if pg_catalog.jsonb_typeof(payload -> 'history_messages') = 'array'
     and pg_catalog.jsonb_array_length(payload -> 'history_messages') > 0 then
    v_items := v_items + pg_catalog.jsonb_array_length(payload -> 'history_messages');
    v_part := messaging_private.deliver_messages(v_conn.user_id, v_conn.id,
      messaging_private.edits_keep_stored(v_conn.user_id, payload ->> 'platform', payload -> 'history_messages'),
      'history', pg_catalog.left(payload ->> 'history_phase', 64));
    perform messaging_private.history_read(v_conn.user_id, payload -> 'history_messages', v_part.summary -> 'conversations');
    v_result := messaging_private.add_counts(v_result, v_part.summary);
    v_refused := v_refused || v_part.refused;
  end if;
  -- what the delivery says of the connection itself (21_connection_state.sql)
  if payload ? 'connection_state' then
    perform messaging_private.record_connection_state(v_conn, payload -> 'connection_state');
  end if;
  if payload -> 'updates' is not null and payload -> 'updates' <> 'null'::jsonb and payload -> 'updates' <> '[]'::jsonb then
    v_part := messaging_private.deliver_updates(v_conn.user_id, payload -> 'updates');
    v_items := v_items + pg_catalog.jsonb_array_length(payload -> 'updates');
    v_upd := v_part.summary;
    v_refused := v_refused || v_part.refused;
  end if;
  v_failed := pg_catalog.cardinality(v_refused);
  v_refused := v_given || v_refused;
  -- stored (or already stored): at least one item taken, or a delivery with nothing in it
  -- to refuse (an event, a receipt)
  perform messaging_private.record_delivery(v_conn.id, v_items > v_failed or pg_catalog.cardinality(v_refused) = 0,
                                            v_refused, v_result -> 'conversations');
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
  'service_role only (the messaging-ingest function): {connection_id, messages, updates, refused, replay_guard, history_messages, history_phase, connection_state} of one delivery; messages as in ingest_messages, history_messages likewise but stored as history (coverage source history with history_phase, and read already: the owner''s read marker moves past them), connection_state {unknown_kinds, history, business, contacts}: what the delivery says of the connection (21_connection_state.sql), updates {kind: status|reaction|delete|vote|poll, platform, external_conversation_id, id (or poll_id for vote|poll), at, ...} applied to stored messages, or kept (pending) until the message is stored, refused: what the function itself refused ({path, kind, reason}), replay_guard: a WeChat {nonce, digest}, secrets_version: the webhook_connection secrets_version the function verified against. Each message or update the store refuses is left out (listed in refused, counted on the connection), the rest stored. Returns the ingest summary plus {updates: {applied, unchanged, missing, pending}, accepted, refused}, or {rejected: {kind: paused|replay|stale_secrets}} when nothing may be stored (stale_secrets: verified against rotated secrets).';
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
