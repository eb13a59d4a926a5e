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
-- * record_webhook_failure(): service_role only. A delivery the database refused
--   sets the connection's last_error and status = 'error'.
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
  'service_role only: a connection (id, user_id, platform, account_identifier, status) with its webhook secrets, or null when there is none.';
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
