-- =============================================================================
-- Managing connections from the CRM screens
--
-- A signed-in user adds a connection, rotates its webhook secrets, pauses or
-- resumes it and deletes it. Secrets are generated here (a CSPRNG through
-- gen_random_uuid), returned once by the call that made them, and never readable
-- afterwards (messaging_private.connection_secrets has no API grant). A secret
-- the platform issues (WhatsApp's app secret is Meta's, not ours) the user pastes
-- in as app_secret; which secrets those are, and how long the generated ones are,
-- is data (platform_secrets.issued_by, generated_length), so nothing here names a
-- platform. The privileged bodies live in messaging_private; the public functions
-- are thin wrappers.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- create / rotate
-- -----------------------------------------------------------------------------

create or replace function messaging_private.create_messaging_connection(
  platform text, account_identifier text, display_name text, app_secret text
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_secrets jsonb;
  v_id uuid;
begin
  if (select auth.uid()) is null then
    raise exception using errcode = '42501', message = 'create_messaging_connection: sign in first', hint = 'role_not_allowed';
  end if;
  v_secrets := messaging_private.fresh_secrets(platform, messaging_private.issued_secret(platform, app_secret, null));
  -- the same checks and upsert as the CLI's add_messaging_connection (platform, account, secrets)
  v_id := messaging_private.add_messaging_connection(platform, account_identifier, display_name,
                                                     coalesce(v_secrets, '{}'::jsonb), null);
  -- the generated secrets, once; the one the platform issued is not echoed
  return pg_catalog.jsonb_build_object('id', v_id, 'platform', platform, 'secrets', v_secrets
    - array(select ps.name from messaging_private.platform_secrets ps
             where ps.platform = create_messaging_connection.platform and ps.issued_by = 'platform'));
end;
$$;
comment on function messaging_private.create_messaging_connection(text, text, text, text) is
  'The privileged body of public.create_messaging_connection.';
revoke all on function messaging_private.create_messaging_connection(text, text, text, text) from public, anon, service_role;
grant execute on function messaging_private.create_messaging_connection(text, text, text, text) to authenticated;

create or replace function public.create_messaging_connection(
  platform text, account_identifier text, display_name text default null, app_secret text default null
)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.create_messaging_connection(platform, account_identifier, display_name, app_secret);
$$;
comment on function public.create_messaging_connection(text, text, text, text) is
  'Adds the signed-in user''s connection (or re-keys the one of that account) with secrets generated here, and returns {id, platform, secrets} once: the secrets are never readable again. WhatsApp needs its Meta app_secret, which is stored and not returned.';
revoke all on function public.create_messaging_connection(text, text, text, text) from public, anon;
grant execute on function public.create_messaging_connection(text, text, text, text) to authenticated;

create or replace function messaging_private.rotate_messaging_connection_secrets(connection uuid, app_secret text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_conn public.messaging_connections := messaging_private.own_connection(connection);
  v_secrets jsonb;
begin
  -- a blank app_secret counts as none: the platform's issued secret stays the stored one
  v_secrets := messaging_private.fresh_secrets(v_conn.platform,
    messaging_private.issued_secret(v_conn.platform, nullif(pg_catalog.btrim(app_secret), ''), v_conn.id));
  perform messaging_private.store_connection_secrets(v_conn.id, v_conn.user_id, v_secrets);
  return pg_catalog.jsonb_build_object('id', v_conn.id, 'platform', v_conn.platform, 'secrets', v_secrets
    - array(select ps.name from messaging_private.platform_secrets ps
             where ps.platform = v_conn.platform and ps.issued_by = 'platform'));
end;
$$;
comment on function messaging_private.rotate_messaging_connection_secrets(uuid, text) is
  'The privileged body of public.rotate_messaging_connection_secrets.';
revoke all on function messaging_private.rotate_messaging_connection_secrets(uuid, text) from public, anon, service_role;
grant execute on function messaging_private.rotate_messaging_connection_secrets(uuid, text) to authenticated;

create or replace function public.rotate_messaging_connection_secrets(connection_id uuid, app_secret text default null)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.rotate_messaging_connection_secrets(connection_id, app_secret);
$$;
comment on function public.rotate_messaging_connection_secrets(uuid, text) is
  'Replaces the webhook secrets of the signed-in user''s connection (sets them up for one an import made) and returns the new ones once. WhatsApp keeps its stored app secret unless a new app_secret is given.';
revoke all on function public.rotate_messaging_connection_secrets(uuid, text) from public, anon;
grant execute on function public.rotate_messaging_connection_secrets(uuid, text) to authenticated;

-- -----------------------------------------------------------------------------
-- pause / resume, delete, and which connections can take webhooks
-- -----------------------------------------------------------------------------

create or replace function messaging_private.set_messaging_connection_status(connection uuid, status text)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_conn public.messaging_connections := messaging_private.own_connection(connection);
begin
  if status is null or not exists (select 1 from messaging_private.connection_statuses cs
                                    where cs.status = set_messaging_connection_status.status and cs.settable) then
    raise exception using errcode = '22023', hint = 'status_invalid',
      message = pg_catalog.format('status: must be %s, got %s',
        (select pg_catalog.string_agg(cs.status, ' or ' order by cs.position)
           from messaging_private.connection_statuses cs where cs.settable),
        coalesce(status, 'null'));
  end if;
  update public.messaging_connections mc set status = set_messaging_connection_status.status
   where mc.id = v_conn.id;
  return status;
end;
$$;
comment on function messaging_private.set_messaging_connection_status(uuid, text) is
  'The privileged body of public.set_messaging_connection_status.';
revoke all on function messaging_private.set_messaging_connection_status(uuid, text) from public, anon, service_role;
grant execute on function messaging_private.set_messaging_connection_status(uuid, text) to authenticated;

create or replace function public.set_messaging_connection_status(connection_id uuid, status text)
returns text
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.set_messaging_connection_status(connection_id, status);
$$;
comment on function public.set_messaging_connection_status(uuid, text) is
  'Pauses (status paused) or resumes (active) the signed-in user''s connection.';
revoke all on function public.set_messaging_connection_status(uuid, text) from public, anon;
grant execute on function public.set_messaging_connection_status(uuid, text) to authenticated;

create or replace function messaging_private.delete_messaging_connection(connection uuid)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_conn public.messaging_connections := messaging_private.own_connection(connection);
begin
  -- its secrets go with it (on delete cascade); its conversations stay, without a connection
  delete from public.messaging_connections mc where mc.id = v_conn.id;
  return true;
end;
$$;
comment on function messaging_private.delete_messaging_connection(uuid) is
  'The privileged body of public.delete_messaging_connection.';
revoke all on function messaging_private.delete_messaging_connection(uuid) from public, anon, service_role;
grant execute on function messaging_private.delete_messaging_connection(uuid) to authenticated;

create or replace function public.delete_messaging_connection(connection_id uuid)
returns boolean
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.delete_messaging_connection(connection_id);
$$;
comment on function public.delete_messaging_connection(uuid) is
  'Deletes the signed-in user''s connection and its secrets; its conversations stay (connection_id becomes null).';
revoke all on function public.delete_messaging_connection(uuid) from public, anon;
grant execute on function public.delete_messaging_connection(uuid) to authenticated;

create or replace function messaging_private.messaging_connection_webhooks()
returns table (connection_id uuid, has_secrets boolean)
language sql
stable
security definer
set search_path = ''
as $$
  select mc.id, s.connection_id is not null
    from public.messaging_connections mc
    left join messaging_private.connection_secrets s on s.connection_id = mc.id
   where mc.user_id = (select auth.uid());
$$;
comment on function messaging_private.messaging_connection_webhooks() is
  'The privileged body of public.messaging_connection_webhooks.';
revoke all on function messaging_private.messaging_connection_webhooks() from public, anon, service_role;
grant execute on function messaging_private.messaging_connection_webhooks() to authenticated;

create or replace function public.messaging_connection_webhooks()
returns table (connection_id uuid, has_secrets boolean)
language sql
stable
security invoker
set search_path = ''
as $$
  select w.connection_id, w.has_secrets from messaging_private.messaging_connection_webhooks() w;
$$;
comment on function public.messaging_connection_webhooks() is
  'For each of the signed-in user''s connections, whether it has webhook secrets (so a webhook URL can work). Never the secrets themselves.';
revoke all on function public.messaging_connection_webhooks() from public, anon;
grant execute on function public.messaging_connection_webhooks() to authenticated;
