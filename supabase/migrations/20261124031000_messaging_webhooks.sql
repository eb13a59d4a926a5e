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

-- -----------------------------------------------------------------------------
-- Creating a connection with its secrets
-- -----------------------------------------------------------------------------

create or replace function messaging_private.add_messaging_connection(
  platform text, account_identifier text, display_name text, secrets jsonb, user_id uuid
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := auth.jwt() ->> 'role';
  v_owner uuid;
  v_id uuid;
  v_need text[];
  v_key text;
  v_errors text[] := '{}'::text[];
  v_created timestamptz;
begin
  if v_role = 'authenticated' then
    v_owner := auth.uid();
    if v_owner is null then
      raise exception using errcode = '42501', message = 'add_messaging_connection: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if add_messaging_connection.user_id is not null and add_messaging_connection.user_id <> v_owner then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only add connections of their own', hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    v_owner := add_messaging_connection.user_id;
    if v_owner is null then
      raise exception using errcode = '22023',
        message = 'user_id: required (the service role must name the owning CRM user)', hint = 'user_id_required';
    end if;
    if not exists (select 1 from auth.users u where u.id = v_owner) then
      raise exception using errcode = '22023', message = pg_catalog.format('user_id: no user %s in auth.users', v_owner),
        hint = 'user_unknown';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('add_messaging_connection: role %s may not add connections', v_role),
      hint = 'role_not_allowed';
  end if;

  secrets := coalesce(secrets, '{}'::jsonb);
  if pg_catalog.jsonb_typeof(secrets) <> 'object' then
    raise exception using errcode = '22023', message = 'secrets: must be a JSON object', hint = 'connection_invalid';
  end if;
  -- the platform's secrets, from the contract (messaging_private.platform_secrets)
  select pg_catalog.array_agg(ps.name order by ps.position) into v_need
    from messaging_private.platform_secrets ps
   where ps.platform = add_messaging_connection.platform;
  if v_need is null then
    raise exception using errcode = '22023',
      message = pg_catalog.format('platform: must be one of %s, got %s',
        (select pg_catalog.string_agg(p.platform, ', ' order by p.platform)
           from messaging_private.platforms p), platform),
      hint = 'platform_unknown';
  end if;
  if coalesce(pg_catalog.btrim(account_identifier), '') = '' then
    v_errors := v_errors || 'account_identifier: required'::text;
  end if;
  for v_key in select k from pg_catalog.jsonb_object_keys(secrets) k loop
    if not (v_key = any (v_need)) then
      v_errors := v_errors || pg_catalog.format('secrets.%s: not a secret of %s (expected %s)',
        v_key, platform, pg_catalog.array_to_string(v_need, ', '));
    end if;
  end loop;
  foreach v_key in array v_need loop
    if pg_catalog.jsonb_typeof(secrets -> v_key) is distinct from 'string' or secrets ->> v_key = '' then
      v_errors := v_errors || pg_catalog.format('secrets.%s: required for %s, a non-empty string', v_key, platform);
    end if;
  end loop;
  -- each given secret against its rule: its pattern (what the platform accepts) and length
  v_errors := v_errors || coalesce((
    select pg_catalog.array_agg(pg_catalog.format('secrets.%s: %s', ps.name, ps.description) order by ps.position)
      from messaging_private.platform_secrets ps
     where ps.platform = add_messaging_connection.platform
       and pg_catalog.jsonb_typeof(secrets -> ps.name) = 'string' and secrets ->> ps.name <> ''
       and (secrets ->> ps.name !~ coalesce(ps.pattern, '') or pg_catalog.length(secrets ->> ps.name) > ps.max_length)),
    '{}'::text[]);
  if pg_catalog.cardinality(v_errors) > 0 then
    raise exception using errcode = '22023',
      message = 'invalid connection: ' || pg_catalog.array_to_string(v_errors, '; '),
      hint = 'connection_invalid';
  end if;

  insert into public.messaging_connections as mc (user_id, platform, account_identifier, display_name)
  values (v_owner, add_messaging_connection.platform, pg_catalog.btrim(add_messaging_connection.account_identifier),
          add_messaging_connection.display_name)
  on conflict on constraint messaging_connections_account_unique
  do update set display_name = coalesce(excluded.display_name, mc.display_name)
  returning mc.id into v_id;

  -- One column per secret name of the contract: the row is built from the secrets object,
  -- so a platform's new secret needs only its column. A re-key replaces every secret;
  -- the upsert above holds the connection's row lock, so re-keys of one connection queue.
  delete from messaging_private.connection_secrets s where s.connection_id = v_id
  returning s.created_at into v_created;
  insert into messaging_private.connection_secrets
  select * from pg_catalog.jsonb_populate_record(null::messaging_private.connection_secrets,
    secrets || pg_catalog.jsonb_build_object('connection_id', v_id, 'user_id', v_owner,
      'created_at', coalesce(v_created, pg_catalog.now()), 'updated_at', pg_catalog.now()));
  return v_id;
end;
$$;
comment on function messaging_private.add_messaging_connection(text, text, text, jsonb, uuid) is
  'The privileged body of public.add_messaging_connection: checks the caller and the platform''s secrets, upserts the connection and its secrets.';
revoke all on function messaging_private.add_messaging_connection(text, text, text, jsonb, uuid) from public;
grant execute on function messaging_private.add_messaging_connection(text, text, text, jsonb, uuid) to authenticated, service_role;

create or replace function public.add_messaging_connection(
  platform text,
  account_identifier text,
  display_name text default null,
  secrets jsonb default '{}'::jsonb,
  user_id uuid default null
)
returns uuid
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.add_messaging_connection(platform, account_identifier, display_name, secrets, user_id);
$$;
comment on function public.add_messaging_connection(text, text, text, jsonb, uuid) is
  'Creates (or re-keys) a connection with its webhook secrets and returns its id. The secrets each platform needs are in messaging_contract() (platforms[].secrets). They are never readable through the API.';
revoke all on function public.add_messaging_connection(text, text, text, jsonb, uuid) from public, anon;
grant execute on function public.add_messaging_connection(text, text, text, jsonb, uuid) to authenticated, service_role;

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
-- Updates of stored messages: statuses, reactions, deletions
-- -----------------------------------------------------------------------------

create or replace function messaging_private.status_rank(status text)
returns integer
language plpgsql
stable
set search_path = ''
as $$
begin
  -- the contract's order (messaging_private.delivery_statuses): failed ranks above sent
  -- (the send failed after it was accepted) and below delivered and read (a later
  -- delivered/read proves the message arrived after all)
  return coalesce((select d.rank from messaging_private.delivery_statuses d where d.status = status_rank.status), 0);
end;
$$;
comment on function messaging_private.status_rank(text) is
  'Rank of a delivery status in messaging_private.delivery_statuses (sent < failed < delivered < read), 0 for none; a status only ever moves up.';

create or replace function messaging_private.apply_update(m jsonb, u jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored message m after the update u, or m itself when u changes nothing.
declare
  v_meta jsonb := coalesce(m -> 'metadata', '{}'::jsonb);
  v_at text := u ->> 'at';
  v_old jsonb;
begin
  if u ->> 'kind' = 'status' then
    if messaging_private.status_rank(u ->> 'status') <= messaging_private.status_rank(v_meta ->> 'status') then
      return m;
    end if;
    v_meta := v_meta || pg_catalog.jsonb_build_object('status', u ->> 'status', 'status_at', v_at);
    v_meta := case when u ? 'error' then v_meta || pg_catalog.jsonb_build_object('status_error', u -> 'error')
                   else v_meta - 'status_error' end;
  elsif u ->> 'kind' = 'reaction' then
    v_old := v_meta -> 'reactions' -> (u ->> 'reactor');
    if v_old is not null and (v_old ->> 'at')::timestamptz > v_at::timestamptz then
      return m;  -- an older reaction than the one recorded
    end if;
    if v_old is not null and v_old -> 'emoji' = coalesce(u -> 'emoji', 'null'::jsonb)
       and (v_old ->> 'at')::timestamptz = v_at::timestamptz then
      return m;  -- the same reaction again (a redelivery)
    end if;
    v_meta := pg_catalog.jsonb_set(v_meta, '{reactions}',
      coalesce(v_meta -> 'reactions', '{}'::jsonb)
      || pg_catalog.jsonb_build_object(u ->> 'reactor',
           pg_catalog.jsonb_build_object('emoji', coalesce(u -> 'emoji', 'null'::jsonb), 'at', v_at)));
  elsif u ->> 'kind' = 'delete' then
    if (v_meta -> 'deleted') = 'true'::jsonb then
      return m;
    end if;
    v_meta := v_meta || pg_catalog.jsonb_build_object('deleted', true, 'deleted_at', v_at);
    m := m || '{"content": null}'::jsonb;
  else
    return m;
  end if;
  return m || pg_catalog.jsonb_build_object('metadata', v_meta);
end;
$$;
comment on function messaging_private.apply_update(jsonb, jsonb) is
  'One update applied to one stored message: a status that only moves up, a reaction by reactor (newest wins, null emoji = removed), or a deletion (content gone, metadata.deleted).';

create or replace function messaging_private.apply_message_updates(owner uuid, updates jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  u record;
  v_conv public.chat_conversations%rowtype;
  v_chunk record;
  v_copy_chunk uuid;
  v_new jsonb;
  v_found boolean;
  v_applied integer := 0;
  v_unchanged integer := 0;
  v_missing integer := 0;
  v_errors text[];
begin
  if updates is null or updates = 'null'::jsonb then
    return pg_catalog.jsonb_build_object('applied', 0, 'unchanged', 0, 'missing', 0);
  end if;
  if pg_catalog.jsonb_typeof(updates) <> 'array' then
    raise exception using errcode = '22023', message = 'updates: must be an array', hint = 'updates_invalid';
  end if;
  if pg_catalog.jsonb_array_length(updates) > messaging_private.contract_limit('updates_per_call') then
    raise exception using errcode = '22023', hint = 'updates_invalid',
      message = pg_catalog.format('updates: at most %s in one call', messaging_private.contract_limit('updates_per_call'));
  end if;
  select pg_catalog.array_agg(pg_catalog.format('updates[%s]: %s', e.ord - 1, e.err) order by e.ord) into v_errors
    from (
      select x.ord, case
        when pg_catalog.jsonb_typeof(x.u) <> 'object' then 'must be an object'
        when not (x.u ->> 'platform' = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])) or x.u ->> 'platform' is null
          then 'platform: must be one of ' || pg_catalog.array_to_string(pg_catalog.enum_range(null::public.messaging_platform)::text[], ', ')
        when coalesce(x.u ->> 'external_conversation_id', '') = '' then 'external_conversation_id: required'
        when coalesce(x.u ->> 'id', '') = '' then 'id: required (the message updated)'
        when x.u ->> 'at' is null
          or x.u ->> 'at' !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$'
          then 'at: required, an ISO 8601 timestamp with an offset'
        when x.u ->> 'kind' = 'status' and messaging_private.status_rank(x.u ->> 'status') = 0
          then 'status: must be one of '
            || (select pg_catalog.string_agg(d.status, ', ' order by d.rank) from messaging_private.delivery_statuses d)
        when x.u ->> 'kind' = 'reaction' and coalesce(x.u ->> 'reactor', '') = '' then 'reactor: required'
        when x.u ->> 'kind' = 'reaction' and pg_catalog.jsonb_typeof(x.u -> 'emoji') not in ('string', 'null')
          then 'emoji: must be a string or null (removed)'
        when not (x.u ->> 'kind' = any (array['status', 'reaction', 'delete'])) or x.u ->> 'kind' is null
          then 'kind: must be one of status, reaction, delete'
      end as err
      from pg_catalog.jsonb_array_elements(updates) with ordinality x(u, ord)
    ) e
   where e.err is not null;
  if v_errors is not null then
    raise exception using errcode = '22023',
      message = 'invalid updates: ' || pg_catalog.array_to_string(v_errors[1:20], '; '),
      hint = 'updates_invalid';
  end if;

  -- in a fixed order (conversation, then the order given), so concurrent deliveries lock
  -- conversations in the same order
  for u in
    select x.u, x.ord
      from pg_catalog.jsonb_array_elements(updates) with ordinality x(u, ord)
     order by x.u ->> 'platform', x.u ->> 'external_conversation_id', x.ord
  loop
    select * into v_conv
      from public.chat_conversations c
     where c.user_id = owner
       and c.platform = u.u ->> 'platform'
       and c.external_conversation_id = u.u ->> 'external_conversation_id'
       for update;
    if not found then
      v_missing := v_missing + 1;
      continue;
    end if;
    -- the stored copy (stored_copies: the hot row first, then the chunk its id hash points to)
    select s.chunk into v_copy_chunk
      from messaging_private.stored_copies(v_conv.id, v_conv.messages,
             v_conv.message_count > pg_catalog.jsonb_array_length(v_conv.messages),
             pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', u.u -> 'id'))) s
     limit 1;
    v_found := found;
    if v_found and v_copy_chunk is null then
      select pg_catalog.jsonb_agg(
               case when h.m ->> 'id' = u.u ->> 'id' then messaging_private.apply_update(h.m, u.u) else h.m end
               order by h.ord)
        into v_new
        from pg_catalog.jsonb_array_elements(v_conv.messages) with ordinality h(m, ord);
      if v_new = v_conv.messages then
        v_unchanged := v_unchanged + 1;
      else
        v_applied := v_applied + 1;
        update public.chat_conversations c
           set messages = v_new,
               last_message_preview = coalesce(messaging_private.preview(v_new -> -1), c.last_message_preview)
         where c.id = v_conv.id;
      end if;
    elsif v_found then
      select a.id, a.messages into v_chunk
        from public.chat_conversation_archives a
       where a.id = v_copy_chunk;
      select pg_catalog.jsonb_agg(
               case when e.m ->> 'id' = u.u ->> 'id' then messaging_private.apply_update(e.m, u.u) else e.m end
               order by e.ord)
        into v_new
        from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord);
      if v_new = v_chunk.messages then
        v_unchanged := v_unchanged + 1;
      else
        v_applied := v_applied + 1;
        update public.chat_conversation_archives a
           set messages = v_new, updated_at = pg_catalog.now()
         where a.id = v_chunk.id;
      end if;
    end if;
    if not v_found then
      v_missing := v_missing + 1;  -- never create a message from an update
    end if;
  end loop;
  return pg_catalog.jsonb_build_object('applied', v_applied, 'unchanged', v_unchanged, 'missing', v_missing);
end;
$$;
comment on function messaging_private.apply_message_updates(uuid, jsonb) is
  'Applies status / reaction / delete updates to stored messages of one user (hot row or archive); an update naming no stored message is counted as missing and creates nothing.';
revoke all on function messaging_private.apply_message_updates(uuid, jsonb) from public;

create or replace function messaging_private.stored_message(owner uuid, platform text, conversation text, message_id text)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored copy of a message of one user (stored_copies: hot row first, then the
-- archive chunk its id hash points to), or null.
declare
  v_conv record;
begin
  select c.id, c.messages, c.message_count into v_conv
    from public.chat_conversations c
   where c.user_id = owner and c.platform = stored_message.platform
     and c.external_conversation_id = conversation;
  if not found then
    return null;
  end if;
  return (select s.m
            from messaging_private.stored_copies(v_conv.id, v_conv.messages,
                   v_conv.message_count > pg_catalog.jsonb_array_length(v_conv.messages),
                   pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', message_id))) s
           limit 1);
end;
$$;
comment on function messaging_private.stored_message(uuid, text, text, text) is
  'The stored copy of one message of a user (hot row or archive), or null.';
revoke all on function messaging_private.stored_message(uuid, text, text, text) from public;

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
