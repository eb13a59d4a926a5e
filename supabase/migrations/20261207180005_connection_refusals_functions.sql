-- Written by `make migration` from supabase/schemas; finish the todo lines.

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
  'service_role only (the messaging-ingest function): {connection_id, messages, updates, refused, replay_guard} of one delivery; messages as in ingest_messages, updates {kind: status|reaction|delete, platform, external_conversation_id, id, at, ...} applied to stored messages only, refused: what the function itself refused ({path, kind, reason}), replay_guard: a WeChat {nonce, digest}, secrets_version: the webhook_connection secrets_version the function verified against. Each message or update the store refuses is left out (listed in refused, counted on the connection), the rest stored. Returns the ingest summary plus {updates: {applied, unchanged, missing}, accepted, refused}, or {rejected: {kind: paused|replay|stale_secrets}} when nothing may be stored (stale_secrets: verified against rotated secrets).';
revoke all on function public.ingest_webhook_delivery(jsonb) from public, anon, authenticated;
grant execute on function public.ingest_webhook_delivery(jsonb) to service_role;

create or replace function messaging_private.add_refusals(total jsonb, part jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  -- {reason: count} of both, every key of either
  select coalesce(pg_catalog.jsonb_object_agg(k.key,
           coalesce((total ->> k.key)::bigint, 0) + coalesce((part ->> k.key)::bigint, 0)), '{}'::jsonb)
    from (select t.key from pg_catalog.jsonb_each(coalesce(total, '{}'::jsonb)) t
          union
          select p.key from pg_catalog.jsonb_each(coalesce(part, '{}'::jsonb)) p) k;
$$;
comment on function messaging_private.add_refusals(jsonb, jsonb) is
  'Two {reason: count} objects summed key by key (messaging_connections.refused_by_reason).';
revoke all on function messaging_private.add_refusals(jsonb, jsonb) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.note_refusals(
  connection uuid, counts jsonb, reason text, error text, at timestamptz)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_total bigint := 0;
  v_at timestamptz := least(coalesce(at, pg_catalog.now()), pg_catalog.now());
  v_bad text;
begin
  if counts is null or pg_catalog.jsonb_typeof(counts) <> 'object' or counts = '{}'::jsonb then
    raise exception using errcode = '22023', message = 'counts: a non-empty object {reason: count} required',
      hint = 'delivery_invalid';
  end if;
  select pg_catalog.string_agg(c.key, ', ') into v_bad
    from pg_catalog.jsonb_each(counts) c
   where c.key !~ '^[a-z_]{1,40}$' or pg_catalog.jsonb_typeof(c.value) <> 'number'
      or c.value::text !~ '^[0-9]{1,9}$' or c.value::text::bigint < 1;
  if v_bad is not null or (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(counts)) > 20 then
    raise exception using errcode = '22023', hint = 'delivery_invalid',
      message = pg_catalog.format('counts: at most 20 reasons (a-z and _), each a count from 1; not %s',
                                  coalesce(v_bad, 'more than 20 reasons'));
  end if;
  select pg_catalog.sum(c.value::text::bigint) into v_total from pg_catalog.jsonb_each(counts) c;
  -- one write for all of them; an older batch (flushed late) never hides a newer error
  update public.messaging_connections mc
     set refused_count = mc.refused_count + v_total,
         refused_by_reason = messaging_private.add_refusals(mc.refused_by_reason, counts),
         last_refused_reason = case when mc.last_refused_at > v_at then mc.last_refused_reason
                                    else messaging_private.refusal_reason(reason) end,
         last_refused_at = greatest(mc.last_refused_at, v_at),
         last_error = case when mc.last_error_at > v_at then mc.last_error
                           else pg_catalog.left(coalesce(error, reason, 'refused'), 4000) end,
         last_error_resolved_at = case when mc.last_error_at > v_at then mc.last_error_resolved_at end,
         last_error_at = greatest(mc.last_error_at, v_at)
   where mc.id = connection;
end;
$$;
comment on function messaging_private.note_refusals(uuid, jsonb, text, text, timestamptz) is
  'Counts refusals {reason: count} on a connection in one update: refused_count, refused_by_reason, the last reason and time, last_error (current again).';
revoke all on function messaging_private.note_refusals(uuid, jsonb, text, text, timestamptz) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.record_webhook_failure(connection uuid, error text, refused boolean)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform messaging_private.require_service_role();
  -- a refusal (final: the platform is told not to retry) is counted, as `refused`; a
  -- failure (the platform retries) marks the connection as in error. Neither moves
  -- last_synced_at.
  if refused then
    perform messaging_private.note_refusals(connection, '{"refused": 1}'::jsonb, 'refused', error, null);
    return;
  end if;
  update public.messaging_connections mc
     set status = 'error',
         last_error = pg_catalog.left(coalesce(error, 'unknown error'), 4000),
         last_error_at = pg_catalog.now(),
         last_error_resolved_at = null
   where mc.id = connection;
end;
$$;
comment on function messaging_private.record_webhook_failure(uuid, text, boolean) is
  'The privileged body of public.record_webhook_failure.';
revoke all on function messaging_private.record_webhook_failure(uuid, text, boolean) from public;
grant execute on function messaging_private.record_webhook_failure(uuid, text, boolean) to service_role;

create or replace function messaging_private.record_webhook_refusals(
  connection uuid, counts jsonb, reason text, error text, at timestamptz)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform messaging_private.require_service_role();
  perform messaging_private.note_refusals(connection, counts, reason, error, at);
end;
$$;
comment on function messaging_private.record_webhook_refusals(uuid, jsonb, text, text, timestamptz) is
  'The privileged body of public.record_webhook_refusals.';
revoke all on function messaging_private.record_webhook_refusals(uuid, jsonb, text, text, timestamptz) from public;
grant execute on function messaging_private.record_webhook_refusals(uuid, jsonb, text, text, timestamptz) to service_role;

create or replace function messaging_private.refusal_reason(kind text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when kind ~ '^[a-z_]{1,40}$' then kind else 'other' end;
$$;
comment on function messaging_private.refusal_reason(text) is
  'A refusal kind as a key of refused_by_reason (other when it is not a short snake_case word).';
revoke all on function messaging_private.refusal_reason(text) from public, anon, authenticated, service_role;

create or replace function messaging_private.secrets_version(connection uuid)
returns text
language sql
stable
set search_path = ''
as $$
  -- a digest of the secret columns (whatever secrets the contract names), never a secret
  select pg_catalog.md5((pg_catalog.to_jsonb(s) - array['connection_id', 'user_id', 'created_at', 'updated_at'])::text)
    from messaging_private.connection_secrets s
   where s.connection_id = secrets_version.connection;
$$;
comment on function messaging_private.secrets_version(uuid) is
  'A digest of a connection''s current webhook secrets (null without secrets): a delivery verified against a cached older version is answered stale_secrets, so a rotation applies at once.';
revoke all on function messaging_private.secrets_version(uuid) from public, anon, authenticated, service_role;

create or replace function messaging_private.webhook_connection(connection uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform messaging_private.require_service_role();
  return (
    select pg_catalog.jsonb_build_object(
      'id', mc.id, 'user_id', mc.user_id, 'platform', mc.platform,
      'account_identifier', mc.account_identifier, 'status', mc.status,
      'secrets_version', messaging_private.secrets_version(mc.id),
      -- every secret column (those the contract's platform_secrets name), the nulls left out
      'secrets', coalesce(pg_catalog.jsonb_strip_nulls(
        pg_catalog.to_jsonb(s) - array['connection_id', 'user_id', 'created_at', 'updated_at']), '{}'::jsonb))
    from public.messaging_connections mc
    left join messaging_private.connection_secrets s on s.connection_id = mc.id
    where mc.id = connection
  );
end;
$$;
comment on function messaging_private.webhook_connection(uuid) is
  'A connection with its secrets, or null: for the messaging-ingest function (service_role) only.';
revoke all on function messaging_private.webhook_connection(uuid) from public;
grant execute on function messaging_private.webhook_connection(uuid) to service_role;

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
  v_upd jsonb := '{"applied": 0, "unchanged": 0, "missing": 0}'::jsonb;
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
      messaging_private.edits_keep_stored(v_conn.user_id, payload ->> 'platform', payload -> 'messages'));
    v_result := v_part.summary;
    v_refused := v_part.refused;
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
  'service_role only: a delivery of this connection failed (refused = false: the database failed and the platform retries; status = error) or was refused for good (refused = true: counted in refused_count and refused_by_reason.refused, last_refused_at). Sets last_error and last_error_at (current again); never last_synced_at.';
revoke all on function public.record_webhook_failure(uuid, text, boolean) from public, anon, authenticated;
grant execute on function public.record_webhook_failure(uuid, text, boolean) to service_role;

create or replace function public.record_webhook_refusals(
  connection_id uuid, counts jsonb, reason text, error text default null, at timestamptz default null)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  perform messaging_private.record_webhook_refusals(connection_id, counts, reason, error, at);
end;
$$;
comment on function public.record_webhook_refusals(uuid, jsonb, text, text, timestamptz) is
  'service_role only: deliveries of this connection refused before the store took them, summed by the function: counts {reason: count} (bad_signature, wrong_verify_token, bad_body, refused, ...), the last one''s reason, error (in words) and time (at, never later than now). One update: refused_count, refused_by_reason, last_refused_at, last_refused_reason, last_error and last_error_at.';
revoke all on function public.record_webhook_refusals(uuid, jsonb, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.record_webhook_refusals(uuid, jsonb, text, text, timestamptz) to service_role;

create or replace function public.webhook_connection(connection_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select messaging_private.webhook_connection(connection_id);
$$;
comment on function public.webhook_connection(uuid) is
  'service_role only: a connection (id, user_id, platform, account_identifier, status, secrets_version) with its webhook secrets, or null when there is none.';
revoke all on function public.webhook_connection(uuid) from public, anon, authenticated;
grant execute on function public.webhook_connection(uuid) to service_role;
