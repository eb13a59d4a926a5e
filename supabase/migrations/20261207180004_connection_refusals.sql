-- issue 30, item 6 (written by hand): what the connections screen shows about a
-- connection's deliveries. Refusals by reason (bad signatures included), the last
-- refusal's reason, when the last error happened and whether a later delivery made it
-- past, and what a pause dropped. The functions that write them are re-declared in the
-- connection_refusals_functions migration.
alter table public.messaging_connections
  add column last_error_at timestamptz,
  add column last_error_resolved_at timestamptz,
  add column refused_by_reason jsonb not null default '{}'::jsonb
    check (pg_catalog.jsonb_typeof(refused_by_reason) = 'object'),
  add column last_refused_reason text check (last_refused_reason ~ '^[a-z_]{1,40}$'),
  add column paused_dropped_count bigint not null default 0 check (paused_dropped_count >= 0),
  add column last_dropped_at timestamptz;

comment on column public.messaging_connections.refused_count is
  'Webhook messages, updates and deliveries refused for good (a bad signature or token, invalid content, another account, a replayed nonce): a retry cannot store them. By reason: refused_by_reason.';
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
