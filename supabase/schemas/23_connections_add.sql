-- =============================================================================
-- Adding a connection with its secrets
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Creating a connection with its secrets
-- -----------------------------------------------------------------------------

create or replace function messaging_private.connection_owner(user_id uuid)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
-- Whose connection add_messaging_connection adds: the signed-in user's own, or the user
-- the service role names.
declare
  v_role text := auth.jwt() ->> 'role';
  v_owner uuid;
begin
  if v_role = 'authenticated' then
    v_owner := auth.uid();
    if v_owner is null then
      raise exception using errcode = '42501', message = 'add_messaging_connection: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if connection_owner.user_id is not null and connection_owner.user_id <> v_owner then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only add connections of their own', hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    v_owner := connection_owner.user_id;
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
  return v_owner;
end;
$$;
comment on function messaging_private.connection_owner(uuid) is
  'The owner of a connection add_messaging_connection adds: auth.uid() for a signed-in user (who may name only themself), the named user of auth.users for the service role; any other role is refused.';
revoke all on function messaging_private.connection_owner(uuid) from public, anon, authenticated, service_role;

create or replace function messaging_private.check_connection(platform text, account_identifier text, secrets jsonb)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  v_need text[];
  v_key text;
  v_errors text[] := '{}'::text[];
begin
  if pg_catalog.jsonb_typeof(secrets) <> 'object' then
    raise exception using errcode = '22023', message = 'secrets: must be a JSON object', hint = 'connection_invalid';
  end if;
  -- the platform's secrets, from the contract (messaging_private.platform_secrets)
  select pg_catalog.array_agg(ps.name order by ps.position) into v_need
    from messaging_private.platform_secrets ps
   where ps.platform = check_connection.platform;
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
     where ps.platform = check_connection.platform
       and pg_catalog.jsonb_typeof(secrets -> ps.name) = 'string' and secrets ->> ps.name <> ''
       and (secrets ->> ps.name !~ coalesce(ps.pattern, '') or pg_catalog.length(secrets ->> ps.name) > ps.max_length)),
    '{}'::text[]);
  if pg_catalog.cardinality(v_errors) > 0 then
    raise exception using errcode = '22023',
      message = 'invalid connection: ' || pg_catalog.array_to_string(v_errors, '; '),
      hint = 'connection_invalid';
  end if;
end;
$$;
comment on function messaging_private.check_connection(text, text, jsonb) is
  'Raises unless the platform is known, the account is given and the secrets are exactly the platform''s, each a non-empty string within its pattern and length (platform_secrets); names every fault at once.';
revoke all on function messaging_private.check_connection(text, text, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.store_connection_secrets(connection uuid, owner uuid, secrets jsonb)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_created timestamptz;
begin
  -- One column per secret name of the contract: the row is built from the secrets object,
  -- so a platform's new secret needs only its column. A re-key replaces every secret and
  -- holds the connection's row lock, so re-keys of one connection queue.
  perform 1 from public.messaging_connections mc where mc.id = store_connection_secrets.connection for no key update;
  delete from messaging_private.connection_secrets s where s.connection_id = store_connection_secrets.connection
  returning s.created_at into v_created;
  insert into messaging_private.connection_secrets
  select * from pg_catalog.jsonb_populate_record(null::messaging_private.connection_secrets,
    secrets || pg_catalog.jsonb_build_object('connection_id', store_connection_secrets.connection,
      'user_id', store_connection_secrets.owner,
      'created_at', coalesce(v_created, pg_catalog.now()), 'updated_at', pg_catalog.now()));
end;
$$;
comment on function messaging_private.store_connection_secrets(uuid, uuid, jsonb) is
  'Replaces every webhook secret of a connection with the given ones (a column each; created_at kept), under the connection''s row lock.';
revoke all on function messaging_private.store_connection_secrets(uuid, uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.add_messaging_connection(
  platform text, account_identifier text, display_name text, secrets jsonb, user_id uuid
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  v_id uuid;
begin
  v_owner := messaging_private.connection_owner(add_messaging_connection.user_id);
  secrets := coalesce(secrets, '{}'::jsonb);
  perform messaging_private.check_connection(platform, account_identifier, secrets);
  -- the upsert holds the connection's row lock until the secrets are stored
  insert into public.messaging_connections as mc (user_id, platform, account_identifier, display_name)
  values (v_owner, add_messaging_connection.platform, pg_catalog.btrim(add_messaging_connection.account_identifier),
          add_messaging_connection.display_name)
  on conflict on constraint messaging_connections_account_unique
  do update set display_name = coalesce(excluded.display_name, mc.display_name)
  returning mc.id into v_id;
  perform messaging_private.store_connection_secrets(v_id, v_owner, secrets);
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


create or replace function messaging_private.new_webhook_token(max_length integer default 64)
returns text
language sql
volatile
set search_path = ''
as $$
  -- 2 x 122 random bits of pg_strong_random, as hex (what every platform accepts)
  select pg_catalog.left(pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '')
                         || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''), max_length);
$$;
comment on function messaging_private.new_webhook_token(integer) is
  'A random webhook token of hex digits (at most max_length; 32 hex digits carry 122 random bits).';
revoke all on function messaging_private.new_webhook_token(integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.own_connection(connection uuid)
returns public.messaging_connections
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_row public.messaging_connections;
begin
  if (select auth.uid()) is null then
    raise exception using errcode = '42501', message = 'connections: sign in first', hint = 'role_not_allowed';
  end if;
  select * into v_row from public.messaging_connections mc
   where mc.id = own_connection.connection and mc.user_id = (select auth.uid());
  if not found then
    perform messaging_private.refuse('P0002', 'connection_not_found',
      pg_catalog.format('connection_id: no such connection (%s)', connection), 404);
  end if;
  return v_row;
end;
$$;
comment on function messaging_private.own_connection(uuid) is
  'The signed-in user''s connection by id; P0002 when it does not exist or is someone else''s.';
revoke all on function messaging_private.own_connection(uuid) from public, anon, service_role;
grant execute on function messaging_private.own_connection(uuid) to authenticated;

create or replace function messaging_private.fresh_secrets(platform text, app_secret text)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  -- the secret the platform issues is the one given; the store generates the others
  return (select pg_catalog.jsonb_object_agg(ps.name,
                   case ps.issued_by when 'platform' then app_secret
                        else messaging_private.new_webhook_token(ps.generated_length) end)
            from messaging_private.platform_secrets ps
           where ps.platform = fresh_secrets.platform);
end;
$$;
comment on function messaging_private.fresh_secrets(text, text) is
  'New webhook secrets for a platform (platform_secrets): the one it issues is app_secret, the others generated at their generated_length (WhatsApp: the given app secret and a new verify token). Null for an unknown platform.';
revoke all on function messaging_private.fresh_secrets(text, text) from public, anon, authenticated, service_role;

create or replace function messaging_private.issued_secret(platform text, given text, connection uuid)
returns text
language plpgsql
stable
set search_path = ''
as $$
-- The value of the secret the platform issues (the user pastes it: WhatsApp's app secret is
-- Meta's, not ours): given, else the connection's stored one; null for a platform that
-- issues none. given: what the caller counts as given (create: any non-null app_secret).
declare
  v_issued record;
  v_value text := nullif(pg_catalog.btrim(given), '');
begin
  select ps.name, p.label, ps.where_issued into v_issued
    from messaging_private.platform_secrets ps
    join messaging_private.platforms p on p.platform = ps.platform
   where ps.platform = issued_secret.platform and ps.issued_by = 'platform';
  if not found then
    if platform is not null and given is not null then
      raise exception using errcode = '22023', hint = 'connection_invalid',
        message = pg_catalog.format('app_secret: only %s has one, not %s',
          (select pg_catalog.string_agg(p.label, ', ' order by p.label)
             from messaging_private.platforms p
            where exists (select 1 from messaging_private.platform_secrets ps
                           where ps.platform = p.platform and ps.issued_by = 'platform')), platform);
    end if;
    return null;
  end if;
  if v_value is null and connection is not null then
    select pg_catalog.to_jsonb(s) ->> v_issued.name into v_value
      from messaging_private.connection_secrets s where s.connection_id = issued_secret.connection;
  end if;
  if v_value is null then
    raise exception using errcode = '22023', hint = 'connection_invalid',
      message = pg_catalog.format('app_secret: required for %s (%s)', v_issued.label, v_issued.where_issued);
  end if;
  return v_value;
end;
$$;
comment on function messaging_private.issued_secret(text, text, uuid) is
  'The app_secret of create_messaging_connection and rotate: the value of the secret the platform issues (platform_secrets.issued_by), given or else stored on the connection; raises connection_invalid when it is missing, or given for a platform that issues none.';
revoke all on function messaging_private.issued_secret(text, text, uuid) from public, anon, authenticated, service_role;
