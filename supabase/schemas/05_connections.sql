-- =============================================================================
-- Messaging connections
--
-- A CRM user's account on a messaging platform: the phone or username the chats
-- were exported from or synced with. Imports record it, set last_synced_at and
-- file their conversations under it (chat_conversations.connection_id).
-- =============================================================================

create table public.messaging_connections (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  platform text not null check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  account_identifier text not null check (pg_catalog.length(account_identifier) between 1 and 320),
  display_name text check (pg_catalog.length(display_name) <= 500),
  status text not null default 'active' references messaging_private.connection_statuses (status),
  last_synced_at timestamptz,
  last_error text check (pg_catalog.length(last_error) <= 4000),
  refused_count bigint not null default 0 check (refused_count >= 0),
  last_refused_at timestamptz,
  settings jsonb not null default '{}'::jsonb check (pg_catalog.jsonb_typeof(settings) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- issue 30: added by the connection_refusals migration (so after updated_at)
  last_error_at timestamptz,
  last_error_resolved_at timestamptz,
  refused_by_reason jsonb not null default '{}'::jsonb check (pg_catalog.jsonb_typeof(refused_by_reason) = 'object'),
  last_refused_reason text check (last_refused_reason ~ '^[a-z_]{1,40}$'),
  paused_dropped_count bigint not null default 0 check (paused_dropped_count >= 0),
  last_dropped_at timestamptz,
  constraint messaging_connections_account_unique unique (user_id, platform, account_identifier)
);
comment on table public.messaging_connections is
  'A CRM user''s account on a messaging platform (the exporting or syncing side of their chats).';
create index messaging_connections_status_idx on public.messaging_connections (status);
comment on column public.messaging_connections.status is
  'active | error (the last delivery failed in the database; the platform retries) | paused | disconnected (webhook deliveries are answered so the platform stops retrying, and nothing is stored).';
comment on column public.messaging_connections.last_synced_at is
  'When a delivery or an import last stored something through this connection (a delivery wholly refused or paused does not move it).';
comment on column public.messaging_connections.last_error is
  'The last failure or refusal of a webhook delivery, in words (refusals also count in refused_count).';
comment on column public.messaging_connections.refused_count is
  'Webhook messages, updates and deliveries refused for good (a bad signature or token, invalid content, another account, a replayed nonce): a retry cannot store them. By reason: refused_by_reason.';
comment on column public.messaging_connections.last_refused_at is
  'When the last refusal counted in refused_count happened.';
comment on column public.messaging_connections.last_error_at is
  'When last_error happened (null for an error recorded before this column existed).';
comment on column public.messaging_connections.last_error_resolved_at is
  'When a later delivery was stored after last_error: the error is past. Null while last_error is current (or there is none).';
comment on column public.messaging_connections.refused_by_reason is
  'Refusals by reason, {reason: count}: bad_signature, replayed, wrong_verify_token, bad_body, refused (a delivery refused whole by the store), and the item kinds account_mismatch, invalid_shape, invalid_message, invalid_update. Their sum is what refused_count counted since the column exists.';
comment on column public.messaging_connections.last_refused_reason is
  'The reason (a key of refused_by_reason) of the refusal at last_refused_at.';
comment on column public.messaging_connections.paused_dropped_count is
  'Webhook deliveries answered and dropped (not stored, not retried by the platform) while the connection was paused or disconnected.';
comment on column public.messaging_connections.last_dropped_at is
  'When the last delivery counted in paused_dropped_count was dropped.';

alter table public.messaging_connections enable row level security;

revoke all on public.messaging_connections from anon, authenticated, service_role;
grant select, insert, update, delete on public.messaging_connections to authenticated, service_role;

create policy "Users can view their own connections" on public.messaging_connections
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can add connections of their own" on public.messaging_connections
  for insert to authenticated with check (user_id = (select auth.uid()));
create policy "Users can update their own connections" on public.messaging_connections
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy "Users can delete their own connections" on public.messaging_connections
  for delete to authenticated using (user_id = (select auth.uid()));


create trigger messaging_connections_touch
  before update on public.messaging_connections
  for each row execute function messaging_private.touch_updated_at();


-- -----------------------------------------------------------------------------
-- Secrets
-- -----------------------------------------------------------------------------

create table messaging_private.connection_secrets (
  connection_id uuid primary key references public.messaging_connections (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  app_secret text check (pg_catalog.length(app_secret) between 1 and 512),
  verify_token text check (pg_catalog.length(verify_token) between 1 and 512),
  secret_token text check (secret_token ~ '^[A-Za-z0-9_-]+$' and pg_catalog.length(secret_token) <= 256),
  token text check (pg_catalog.length(token) between 1 and 512),
  created_at timestamptz not null default pg_catalog.now(),
  updated_at timestamptz not null default pg_catalog.now()
);
comment on table messaging_private.connection_secrets is
  'Webhook secrets of a messaging connection. Not exposed by PostgREST, no grants to API roles: read only by webhook_connection() for the service role.';
comment on column messaging_private.connection_secrets.app_secret is
  'WhatsApp: the Meta app secret; X-Hub-Signature-256 is HMAC-SHA256 of the raw body with it.';
comment on column messaging_private.connection_secrets.verify_token is
  'WhatsApp: the verify token the GET subscription handshake must name (hub.verify_token).';
comment on column messaging_private.connection_secrets.secret_token is
  'Telegram: the secret_token given to setWebhook, sent back in X-Telegram-Bot-Api-Secret-Token.';
comment on column messaging_private.connection_secrets.token is
  'Signal: the bearer token of the forwarder. WeChat: the token of the sha1 signature.';

create index connection_secrets_user_id_idx on messaging_private.connection_secrets (user_id);

-- RLS on and no policy: no role but the owner of the table (the security definer
-- functions below) reads or writes a row, even if a grant were added by mistake.
alter table messaging_private.connection_secrets enable row level security;
revoke all on messaging_private.connection_secrets from public, anon, authenticated, service_role;

create trigger connection_secrets_touch
  before update on messaging_private.connection_secrets
  for each row execute function messaging_private.touch_updated_at();
