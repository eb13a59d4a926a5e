-- =============================================================================
-- Live ingestion: what the messaging-ingest edge function needs from the database
--
-- * messaging_private.connection_secrets: the webhook secrets of a connection (the
--   WhatsApp app secret and verify token, the Telegram secret token, the Signal
--   bearer token, the WeChat signature token). PostgREST does not expose the schema
--   and no API role has a grant on the table: not the CRM frontend, not the owner.
-- * add_messaging_connection(): a user (or the service role, naming the user) creates
--   or re-keys a connection with its secrets. Secrets go in; they never come out.
-- * webhook_connection(): service_role only. The edge function reads a connection and
--   its secrets to check a delivery's signature.
-- * ingest_webhook_delivery(): service_role only. One delivery in one transaction:
--   new messages through ingest_messages, then status / reaction / deletion updates
--   of stored messages (which never create messages), then the connection's
--   last_synced_at (an error status goes back to active).
-- * ingest_webhook_deliveries(): service_role only. Several deliveries of one
--   connection in one transaction, each stored as ingest_webhook_delivery stores it.
-- * record_webhook_failure(): service_role only. A delivery the database failed to
--   store sets the connection's last_error and status = 'error'.
-- * record_webhook_refusals(): service_role only. Refusals the function counted before
--   the store (bad signatures, a wrong verify token, a body not the platform's), summed
--   in the function per connection and written at most once a second per connection.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- The edge function's reads and writes (service_role only)
-- -----------------------------------------------------------------------------

create or replace function messaging_private.require_service_role()
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if (auth.jwt() ->> 'role') is distinct from 'service_role' then
    raise exception using errcode = '42501', message = 'only the service role (the messaging-ingest function) may call this',
      hint = 'service_role_required';
  end if;
end;
$$;
comment on function messaging_private.require_service_role() is 'Raises 42501 unless the request runs as service_role.';
revoke all on function messaging_private.require_service_role() from public;
grant execute on function messaging_private.require_service_role() to authenticated, service_role;

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


-- -----------------------------------------------------------------------------
-- WeChat nonces: its signature covers the token, timestamp and nonce, not the body, so a
-- captured query string could carry other bodies while its timestamp is fresh. Each nonce
-- is accepted once per connection (a retry of the very same body is the same delivery).
-- -----------------------------------------------------------------------------

create table messaging_private.webhook_nonces (
  connection_id uuid not null references public.messaging_connections (id) on delete cascade,
  nonce text not null check (pg_catalog.length(nonce) between 1 and 128),
  body_digest text not null check (pg_catalog.length(body_digest) <= 128),
  seen_at timestamptz not null default pg_catalog.now(),
  primary key (connection_id, nonce)
);
comment on table messaging_private.webhook_nonces is
  'Nonces of signed WeChat deliveries seen in the last 15 minutes (its signature window is 5 minutes either way), with the SHA-256 of the body they came with. Not exposed, no grants to API roles.';
comment on column messaging_private.webhook_nonces.body_digest is
  'Hex SHA-256 of the raw body first delivered with this nonce: the same body again is a retry, another body a replay.';
alter table messaging_private.webhook_nonces enable row level security;
revoke all on messaging_private.webhook_nonces from public, anon, authenticated, service_role;

create or replace function messaging_private.claim_nonce(connection uuid, guard jsonb)
returns boolean
language plpgsql
set search_path = ''
as $$
-- true when the nonce is new for the connection, or was seen with the same body (a
-- retry); false for a replay (the nonce came before with another body).
declare
  v_digest text;
begin
  if pg_catalog.jsonb_typeof(guard -> 'nonce') <> 'string' or pg_catalog.jsonb_typeof(guard -> 'digest') <> 'string' then
    raise exception using errcode = '22023', message = 'replay_guard: {nonce, digest} strings required',
      hint = 'delivery_invalid';
  end if;
  delete from messaging_private.webhook_nonces n
   where n.connection_id = connection and n.seen_at < pg_catalog.now() - interval '15 minutes';
  insert into messaging_private.webhook_nonces (connection_id, nonce, body_digest)
  values (connection, guard ->> 'nonce', guard ->> 'digest')
  on conflict do nothing;
  if found then
    return true;
  end if;
  select n.body_digest into v_digest
    from messaging_private.webhook_nonces n
   where n.connection_id = connection and n.nonce = guard ->> 'nonce';
  return v_digest = guard ->> 'digest';
end;
$$;
comment on function messaging_private.claim_nonce(uuid, jsonb) is
  'Records a WeChat nonce for a connection: false when it was already used with another body (a replay).';
revoke all on function messaging_private.claim_nonce(uuid, jsonb) from public;


-- -----------------------------------------------------------------------------
-- Refusals and failures on the connection
-- -----------------------------------------------------------------------------

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
