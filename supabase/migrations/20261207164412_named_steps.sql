-- Written by `make migration` from supabase/schemas; finish the todo lines.

drop function if exists messaging_private.ingest_dedupe(uuid,jsonb,boolean,jsonb);

drop function if exists messaging_private.ingest_existing(uuid,uuid,jsonb,bigint[],boolean,integer,integer);

drop function if exists messaging_private.stored_copies(uuid,jsonb,boolean,jsonb);

create or replace function public.get_conversation_messages(
  conversation_id uuid,
  before_sent_at timestamptz default null,
  before_id text default null,
  max_count integer default 50
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_msgs jsonb;
  v_page jsonb := '[]'::jsonb;
  v_need integer := max_count;
  v_len integer;
  v_lo integer;
  v_hi integer;
  v_mid integer;
  v_searching boolean := before_sent_at is not null;  -- the cursor may fall inside v_msgs
  -- the next chunk read is the newest whose first message is older than (v_bound_at, v_bound_id)
  v_bound_at timestamptz := coalesce(before_sent_at, 'infinity'::timestamptz);
  v_bound_id text := before_id;
  v_chunk record;
begin
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('page_max_messages') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('page_max_messages'), max_count),
      hint = 'max_count_out_of_range';
  end if;
  if before_id is not null and before_sent_at is null then
    raise exception using errcode = '22023', message = 'before_id: needs before_sent_at', hint = 'cursor_incomplete';
  end if;

  -- `|| '[]'` hands back the array decompressed, so the reads below (a binary search, then
  -- only the elements the page returns) do not decompress it again on every access
  select c.messages || '[]'::jsonb into v_msgs
    from public.chat_conversations c
   where c.id = get_conversation_messages.conversation_id;
  if not found then
    return '[]'::jsonb;  -- no such conversation, or not the caller's
  end if;

  -- The hot row, then the archive chunks newest first: each array is sorted by (sent_at, id),
  -- chunks never overlap and all are older than the hot row. v_hi = how many elements of the
  -- array are strictly older than the (sent_at, id) cursor; the page takes the newest of them.
  loop
    v_len := pg_catalog.jsonb_array_length(v_msgs);
    v_lo := 0;
    v_hi := v_len;
    if v_searching then
      while v_lo < v_hi loop
        v_mid := (v_lo + v_hi) / 2;
        if ((v_msgs -> v_mid ->> 'sent_at')::timestamptz < before_sent_at)
           or (before_id is not null
               and (v_msgs -> v_mid ->> 'sent_at')::timestamptz = before_sent_at
               and (v_msgs -> v_mid ->> 'id') collate "C" < before_id collate "C") then
          v_lo := v_mid + 1;
        else
          v_hi := v_mid;
        end if;
      end loop;
      -- every older array lies wholly before the cursor once one element of this one does
      v_searching := v_hi = 0;
    end if;
    if v_hi > 0 then
      v_page := v_page || (
        select pg_catalog.jsonb_agg(v_msgs -> i.i order by i.i desc)
          from pg_catalog.generate_series(v_hi - 1, greatest(v_hi - v_need, 0), -1) i(i));
      v_need := max_count - pg_catalog.jsonb_array_length(v_page);
    end if;
    exit when v_need <= 0;

    select a.messages || '[]'::jsonb as messages, a.first_message_at, a.first_message_id into v_chunk
      from public.chat_conversation_archives a
     where a.conversation_id = get_conversation_messages.conversation_id
       and (a.first_message_at < v_bound_at
            or (a.first_message_at = v_bound_at and v_bound_id is not null
                and a.first_message_id collate "C" < v_bound_id collate "C"))
     order by a.first_message_at desc, a.first_message_id collate "C" desc
     limit 1;
    exit when not found;
    v_msgs := v_chunk.messages;
    v_bound_at := v_chunk.first_message_at;
    v_bound_id := v_chunk.first_message_id;
  end loop;
  return v_page;
end;
$$;
comment on function public.get_conversation_messages(uuid, timestamptz, text, integer) is
  'A page of a conversation''s messages, newest first, strictly older than the (before_sent_at, before_id) cursor, across the hot row and the archive. Empty for a conversation the caller cannot see.';
revoke all on function public.get_conversation_messages(uuid, timestamptz, text, integer) from public, anon;
grant execute on function public.get_conversation_messages(uuid, timestamptz, text, integer)
  to authenticated, service_role;

create or replace function public.get_conversation_messages_after(
  conversation_id uuid,
  after_sent_at timestamptz,
  after_id text default null,
  max_count integer default 50
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_hot jsonb;
  v_page jsonb := '[]'::jsonb;
  v_more jsonb;
  v_need integer;
  v_chunk record;
begin
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('page_max_messages') then
    raise exception using errcode = '22023', hint = 'max_count_out_of_range',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('page_max_messages'), max_count);
  end if;
  if after_sent_at is null then
    raise exception using errcode = '22023', message = 'after_sent_at: required', hint = 'cursor_incomplete';
  end if;

  select c.messages into v_hot
    from public.chat_conversations c
   where c.id = get_conversation_messages_after.conversation_id;
  if not found then
    return '[]'::jsonb;  -- no such conversation, or not the caller's
  end if;

  -- oldest first, strictly newer than the (sent_at, id) cursor: the archive, then the hot row
  v_need := max_count;
  for v_chunk in
    select a.messages
      from public.chat_conversation_archives a
     where a.conversation_id = get_conversation_messages_after.conversation_id
       and a.last_message_at >= after_sent_at
     order by a.first_message_at, a.first_message_id collate "C"
  loop
    select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord), '[]'::jsonb) into v_more
      from (
        select e.m, e.ord
          from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord)
         where ((e.m ->> 'sent_at')::timestamptz, (e.m ->> 'id') collate "C")
               > (after_sent_at, coalesce(after_id, '') collate "C")
            or (after_id is null and (e.m ->> 'sent_at')::timestamptz > after_sent_at)
         order by e.ord
         limit v_need
      ) p;
    v_page := v_page || v_more;
    v_need := max_count - pg_catalog.jsonb_array_length(v_page);
    exit when v_need <= 0;
  end loop;

  if v_need > 0 then
    select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord), '[]'::jsonb) into v_more
      from (
        select h.m, h.ord
          from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord)
         where (after_id is not null
                and ((h.m ->> 'sent_at')::timestamptz, (h.m ->> 'id') collate "C")
                    > (after_sent_at, after_id collate "C"))
            or (after_id is null and (h.m ->> 'sent_at')::timestamptz > after_sent_at)
         order by h.ord
         limit v_need
      ) p;
    v_page := v_page || v_more;
  end if;
  return v_page;
end;
$$;
comment on function public.get_conversation_messages_after(uuid, timestamptz, text, integer) is
  'A page of a conversation''s messages, oldest first, strictly newer than the (after_sent_at, after_id) cursor, across the archive and the hot row (the other direction of get_conversation_messages). Empty for a conversation the caller cannot see.';
revoke all on function public.get_conversation_messages_after(uuid, timestamptz, text, integer) from public, anon;
grant execute on function public.get_conversation_messages_after(uuid, timestamptz, text, integer)
  to authenticated, service_role;

create or replace function public.messaging_contract()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select messaging_private.messaging_contract();
$$;
comment on function public.messaging_contract() is
  'The contract as data: limits, payload field rules, stored-message keys, platforms with their webhook secret names (and who issues each), delivery statuses, refusal kinds (carried in each error''s hint) and the webhook URL form. make types writes it to contract.json.';
revoke all on function public.messaging_contract() from public, anon;
grant execute on function public.messaging_contract() to authenticated, service_role;

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

create or replace function messaging_private.apply_message_updates(owner uuid, updates jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  u record;
  v_counts jsonb := '{"applied": 0, "unchanged": 0, "missing": 0}'::jsonb;
  v_did text;
begin
  if updates is null or updates = 'null'::jsonb then
    return v_counts;
  end if;
  perform messaging_private.check_updates(updates);
  -- in a fixed order (conversation, then the order given), so concurrent deliveries lock
  -- conversations in the same order
  for u in
    select x.u, x.ord
      from pg_catalog.jsonb_array_elements(updates) with ordinality x(u, ord)
     order by x.u ->> 'platform', x.u ->> 'external_conversation_id', x.ord
  loop
    v_did := messaging_private.apply_one_update(owner, u.u);
    v_counts := pg_catalog.jsonb_set(v_counts, array[v_did], pg_catalog.to_jsonb((v_counts ->> v_did)::integer + 1));
  end loop;
  return v_counts;
end;
$$;
comment on function messaging_private.apply_message_updates(uuid, jsonb) is
  'Applies status / reaction / delete updates to stored messages of one user (hot row or archive); an update naming no stored message is counted as missing and creates nothing.';
revoke all on function messaging_private.apply_message_updates(uuid, jsonb) from public;

create or replace function messaging_private.apply_one_update(owner uuid, u jsonb)
returns text
language plpgsql
set search_path = ''
as $$
-- What one checked update did: applied, unchanged, or missing (no such conversation or
-- message: an update never creates a message).
declare
  v_conv public.chat_conversations%rowtype;
  v_chunk record;
  v_copy_chunk uuid;
  v_new jsonb;
begin
  select * into v_conv
    from public.chat_conversations c
   where c.user_id = owner
     and c.platform = u ->> 'platform'
     and c.external_conversation_id = u ->> 'external_conversation_id'
     for update;
  if not found then
    return 'missing';
  end if;
  -- the stored copy (stored_copies: the hot row first, then the chunk its id hash points to)
  select s.chunk into v_copy_chunk
    from messaging_private.stored_copies(v_conv.id, v_conv.messages,
           v_conv.message_count > pg_catalog.jsonb_array_length(v_conv.messages),
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', u -> 'id'))) s
   limit 1;
  if not found then
    return 'missing';  -- never create a message from an update
  end if;
  if v_copy_chunk is null then
    select pg_catalog.jsonb_agg(
             case when h.m ->> 'id' = u ->> 'id' then messaging_private.apply_update(h.m, u) else h.m end
             order by h.ord)
      into v_new
      from pg_catalog.jsonb_array_elements(v_conv.messages) with ordinality h(m, ord);
    if v_new = v_conv.messages then
      return 'unchanged';
    end if;
    update public.chat_conversations c
       set messages = v_new,
           last_message_preview = coalesce(messaging_private.preview(v_new -> -1), c.last_message_preview)
     where c.id = v_conv.id;
    return 'applied';
  end if;
  select a.id, a.messages into v_chunk
    from public.chat_conversation_archives a
   where a.id = v_copy_chunk;
  select pg_catalog.jsonb_agg(
           case when e.m ->> 'id' = u ->> 'id' then messaging_private.apply_update(e.m, u) else e.m end
           order by e.ord)
    into v_new
    from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord);
  if v_new = v_chunk.messages then
    return 'unchanged';
  end if;
  update public.chat_conversation_archives a
     set messages = v_new, updated_at = pg_catalog.now()
   where a.id = v_chunk.id;
  return 'applied';
end;
$$;
comment on function messaging_private.apply_one_update(uuid, jsonb) is
  'One checked update applied to the stored message it names (hot row or archive chunk, its conversation locked): applied, unchanged, or missing.';
revoke all on function messaging_private.apply_one_update(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.archived_ids(conversation uuid, lo timestamptz, hi timestamptz)
returns table (msg_id text, edited_at text)
language plpgsql
stable
set search_path = ''
as $$
-- The ids (with edited_at) in the archive chunks of a conversation whose time ranges meet
-- [lo, hi] (chunks never overlap: the one starting at or before lo, up to the last
-- starting at or before hi), chosen in a subquery of their own so that only they are
-- expanded, whatever the join order.
begin
  return query
    select e.m ->> 'id', e.m ->> 'edited_at'
      from (select a.messages
              from public.chat_conversation_archives a
             where a.conversation_id = conversation
               and a.first_message_at <= hi
               and a.last_message_at >= lo
               and a.first_message_at >= coalesce(
                     (select b.first_message_at from public.chat_conversation_archives b
                       where b.conversation_id = conversation and b.first_message_at <= lo
                       order by b.first_message_at desc limit 1), '-infinity')
            offset 0) a
     cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m);
end;
$$;
comment on function messaging_private.archived_ids(uuid, timestamptz, timestamptz) is
  'The message ids and edit times of the archive chunks of a conversation that meet a time range.';
revoke all on function messaging_private.archived_ids(uuid, timestamptz, timestamptz) from public, anon, authenticated, service_role;

create or replace function messaging_private.batch_conversation_fields(payload jsonb)
returns table (platform text, ext_id text, participant_identifier text, participant_name text,
               conversation_type text, person_id uuid)
language plpgsql
stable
set search_path = ''
as $$
-- The conversation fields a batch gives, per conversation (as ingest_groups reads them:
-- the newest message's), from the few messages that carry any.
#variable_conflict use_column
begin
  return query
    select s.platform, s.ext_id,
      messaging_private.normalize_identifier('any',
        (pg_catalog.array_agg(s.m ->> 'participant_identifier' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
           filter (where s.m ->> 'participant_identifier' is not null))[1]),
      (pg_catalog.array_agg(s.m ->> 'participant_name' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
         filter (where s.m ->> 'participant_name' is not null))[1],
      (pg_catalog.array_agg(s.m ->> 'conversation_type' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
         filter (where s.m ->> 'conversation_type' is not null))[1],
      (pg_catalog.array_agg(s.m ->> 'person_id' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
         filter (where s.m ->> 'person_id' is not null))[1]::uuid
      from (select e.ord, coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
                   e.m ->> 'external_conversation_id' as ext_id, e.m
              from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)) s
     where s.m ?| array['participant_identifier', 'participant_name', 'conversation_type', 'person_id']
     group by s.platform, s.ext_id;
end;
$$;
comment on function messaging_private.batch_conversation_fields(jsonb) is
  'The conversation fields (participant, name, type, person) a batch gives per conversation: the newest message''s that carries each.';
revoke all on function messaging_private.batch_conversation_fields(jsonb) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.check_update_list(updates jsonb)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if pg_catalog.jsonb_typeof(updates) <> 'array' then
    raise exception using errcode = '22023', message = 'updates: must be an array', hint = 'updates_invalid';
  end if;
  if pg_catalog.jsonb_array_length(updates) > messaging_private.contract_limit('updates_per_call') then
    raise exception using errcode = '22023', hint = 'updates_invalid',
      message = pg_catalog.format('updates: at most %s in one call', messaging_private.contract_limit('updates_per_call'));
  end if;
end;
$$;
comment on function messaging_private.check_update_list(jsonb) is
  'Raises updates_invalid unless the updates of a call are an array of at most updates_per_call.';
revoke all on function messaging_private.check_update_list(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.check_updates(updates jsonb)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  v_errors text[];
begin
  perform messaging_private.check_update_list(updates);
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
end;
$$;
comment on function messaging_private.check_updates(jsonb) is
  'Raises updates_invalid naming every update (up to 20) that breaks its rule: platform, conversation, message id, at, and what its kind needs.';
revoke all on function messaging_private.check_updates(jsonb) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.contract_limit(limit_name text)
returns bigint
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (select l.value from messaging_private.contract_limits l where l.name = limit_name);
end;
$$;
comment on function messaging_private.contract_limit(text) is
  'The value of a limit of the published contract (security definer: the reads, which run as the caller, check their page sizes with it; every limit is public through messaging_contract()).';
revoke all on function messaging_private.contract_limit(text) from public, anon;
grant execute on function messaging_private.contract_limit(text) to authenticated, service_role;

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

create or replace function messaging_private.deliver_messages(
  owner uuid, connection uuid, messages jsonb, out summary jsonb, out refused jsonb[])
language plpgsql
set search_path = ''
as $$
declare
  m record;
  v_state text;
  v_text text;
begin
  summary := '{"inserted": 0, "duplicates": 0, "updated": 0, "matched": 0, "conversations": []}'::jsonb;
  refused := '{}'::jsonb[];
  -- all at once (the common case: every message valid), else each message on its own
  if pg_catalog.jsonb_array_length(messages) > 1 then
    begin
      summary := messaging_private.ingest_messages(pg_catalog.jsonb_build_object(
        'user_id', owner, 'connection_id', connection, 'messages', messages));
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
      summary := messaging_private.add_counts(summary, messaging_private.ingest_messages(pg_catalog.jsonb_build_object(
        'user_id', owner, 'connection_id', connection, 'messages', pg_catalog.jsonb_build_array(m.m))));
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
comment on function messaging_private.deliver_messages(uuid, uuid, jsonb) is
  'The messages of a delivery stored through ingest_messages, all at once or else each alone: the ingest summary and the messages refused for good (a retryable error fails the delivery).';
revoke all on function messaging_private.deliver_messages(uuid, uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.deliver_updates(owner uuid, updates jsonb, out summary jsonb, out refused jsonb[])
language plpgsql
set search_path = ''
as $$
declare
  m record;
  v_state text;
  v_text text;
begin
  summary := '{"applied": 0, "unchanged": 0, "missing": 0}'::jsonb;
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
  if payload ? 'refused' and pg_catalog.jsonb_typeof(payload -> 'refused') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'refused: must be an array', hint = 'delivery_invalid';
  end if;
  return v_conn;
end;
$$;
comment on function messaging_private.delivery_connection(jsonb) is
  'The connection a webhook delivery names, after checking the delivery''s shape (an object, a connection that exists, its owner, messages and refused arrays).';
revoke all on function messaging_private.delivery_connection(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.delivery_rejected(connection uuid, status text, replay_guard jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
begin
  -- a paused or disconnected connection (connection_statuses.stores false) stores nothing
  -- (the function still answers so the platform stops retrying)
  if not (select cs.stores from messaging_private.connection_statuses cs
           where cs.status = delivery_rejected.status) then
    return pg_catalog.jsonb_build_object('rejected', pg_catalog.jsonb_build_object(
      'kind', 'paused', 'status', status, 'reason', 'the connection is ' || status));
  end if;
  -- a WeChat nonce already used with another body: a replay, counted, nothing stored
  if replay_guard is not null and replay_guard <> 'null'::jsonb
     and not messaging_private.claim_nonce(connection, replay_guard) then
    update public.messaging_connections mc
       set refused_count = mc.refused_count + 1, last_refused_at = pg_catalog.now(),
           last_error = 'a signed query string replayed with another body (nonce already used)'
     where mc.id = delivery_rejected.connection;
    return pg_catalog.jsonb_build_object('rejected', pg_catalog.jsonb_build_object(
      'kind', 'replay', 'reason', 'nonce: already used with another body'));
  end if;
  return null;
end;
$$;
comment on function messaging_private.delivery_rejected(uuid, text, jsonb) is
  'The {rejected} answer of a delivery that may store nothing (a paused or disconnected connection; a replayed WeChat nonce, counted as a refusal), or null.';
revoke all on function messaging_private.delivery_rejected(uuid, text, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.edits_keep_stored(owner uuid, platform text, messages jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- An edit replaces the stored message whole: it keeps the stored sent_at (an edit never
-- moves a message) and what the platform recorded on it since (delivery status,
-- reactions), so an edit does not undo them. platform: the delivery's, for messages
-- that name none.
begin
  if not exists (select 1 from pg_catalog.jsonb_array_elements(messages) e(m)
                  where pg_catalog.jsonb_typeof(e.m) = 'object' and e.m ->> 'edited_at' is not null) then
    return messages;
  end if;
  return (
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
      from pg_catalog.jsonb_array_elements(messages) with ordinality e(m, ord)
      left join lateral (
        select messaging_private.stored_message(owner, coalesce(e.m ->> 'platform', edits_keep_stored.platform),
                 e.m ->> 'external_conversation_id', e.m ->> 'id') as m
      ) s on pg_catalog.jsonb_typeof(e.m) = 'object' and e.m ->> 'edited_at' is not null
      left join lateral (
        select pg_catalog.jsonb_object_agg(kv.key, kv.value) as keep
          from pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(s.m -> 'metadata') = 'object'
                                          then s.m -> 'metadata' end) kv
         where kv.key in ('status', 'status_at', 'status_error', 'reactions')
      ) k on s.m is not null);
end;
$$;
comment on function messaging_private.edits_keep_stored(uuid, text, jsonb) is
  'The messages of a delivery with each edit of a stored message keeping its stored sent_at, status and reactions (unchanged when none is an edit).';
revoke all on function messaging_private.edits_keep_stored(uuid, text, jsonb) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.index_batches(owner uuid, batches jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- Appends the searchable lines of stored messages, [{conversation, messages}], to each
-- conversation's search segments, for every conversation of an ingest at once: the lines
-- are normalised in one call, and one insert writes a segment per conversation (a
-- statement per conversation would cost 10,000 of them on a batch of new conversations).
-- A conversation whose lines pass 16 kB is cut by store_segments; one reaching 16 small
-- segments has them merged into sealed ones (merge_batch_segments).
declare
  v_big jsonb;
  v_piece jsonb;
begin
  with src as (
    -- (sorted by the ordinals alone: a sort that carried the batch's jsonb along would
    -- spill a copy of it per message to disk)
    select (b.x ->> 'conversation')::uuid as conversation, b.bord, e.ord, e.m
      from pg_catalog.jsonb_array_elements(batches) with ordinality b(x, bord)
     cross join lateral pg_catalog.jsonb_array_elements(b.x -> 'messages') with ordinality e(m, ord)
  ),
  -- the line: the first 2,000 characters of content, sender name and media URL without its
  -- query string (as line_sizes measures it), normalised in one call for all the messages,
  -- then zipped back onto the messages by position (one pass; a join or a subscript per
  -- message would walk the 10,000 lines again for each)
  doc as (
    select pg_catalog.array_agg(s.conversation order by s.bord, s.ord) as conversations,
           pg_catalog.array_agg(s.m order by s.bord, s.ord) as msgs,
           pg_catalog.string_to_array(messaging_private.search_normalize(pg_catalog.string_agg(
             pg_catalog.translate(pg_catalog.left(concat_ws(' ', s.m ->> 'content', s.m ->> 'sender_name',
               pg_catalog.split_part(s.m ->> 'media_url', '?', 1)), 2000), E'\n\r\u2028\u2029', '    '),
             E'\n' order by s.bord, s.ord)), E'\n') as lines
      from src s
  ),
  lines as materialized (
    select z.conversation, z.ord, z.m ->> 'id' as id, (z.m ->> 'sent_at')::timestamptz as sent_at,
           z.m ->> 'direction' = 'outbound' as outbound, z.line,
           pg_catalog.sum(pg_catalog.octet_length(z.line) + 1) over (partition by z.conversation) as bytes
      from doc d
     cross join unnest(d.conversations, d.msgs, d.lines) with ordinality z(conversation, m, line, ord)
     where z.line <> ''  -- nothing searchable: media without a URL, empty texts
     -- (unnest of several arrays is syntax, written without its schema)
  ),
  -- the usual case: a conversation's new lines fit one segment
  ins as (
    insert into messaging_private.search_segments (
      conversation_id, user_id, message_ids, sent_ats, outbound, first_sent_at, last_sent_at, sealed, document)
    select l.conversation, owner,
           pg_catalog.array_agg(l.id order by l.ord),
           pg_catalog.array_agg(l.sent_at order by l.ord),
           pg_catalog.array_agg(l.outbound order by l.ord),
           pg_catalog.min(l.sent_at), pg_catalog.max(l.sent_at),
           pg_catalog.count(*) >= 64,
           pg_catalog.string_agg(l.line, E'\n' order by l.ord)
      from lines l
     where l.bytes <= 16384
     group by l.conversation
    returning 1
  )
  -- the rest are cut into pieces of about 16 kB below
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('conversation', g.conversation, 'lines', g.lines))
    into v_big
    from (select l.conversation,
                 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'id', l.id, 'sent_at', l.sent_at, 'outbound', l.outbound, 'line', l.line) order by l.ord) as lines
            from lines l
           where l.bytes > 16384
           group by l.conversation) g;
  for v_piece in select x from pg_catalog.jsonb_array_elements(v_big) x loop
    perform messaging_private.store_segments((v_piece ->> 'conversation')::uuid, owner, v_piece -> 'lines', false);
  end loop;

  perform messaging_private.merge_batch_segments(owner, batches);
end;
$$;
comment on function messaging_private.index_batches(uuid, jsonb) is
  'Appends the searchable lines of stored messages ([{conversation, messages}]) to the conversations'' search segments, all conversations at once; merges small ones 16 at a time.';

create or replace function messaging_private.ingest_check_fields(payload jsonb)
returns void
language plpgsql
stable
set search_path = ''
as $$
-- Every field of every message (payload_errors), refused as one error naming them all.
declare
  v_errors text[];
begin
  v_errors := messaging_private.payload_errors(payload);
  if pg_catalog.cardinality(v_errors) > 0 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('invalid payload, %s problem%s: %s', pg_catalog.cardinality(v_errors),
        case when pg_catalog.cardinality(v_errors) > 1 then 's' else '' end,
        pg_catalog.array_to_string(v_errors[1:50], '; ')
          || case when pg_catalog.cardinality(v_errors) > 50
                  then pg_catalog.format('; and %s more (see details)', pg_catalog.cardinality(v_errors) - 50)
                  else '' end),
      detail = pg_catalog.array_to_string(v_errors[1:2000], E'\n'),
      hint = 'payload_invalid';
  end if;
end;
$$;
comment on function messaging_private.ingest_check_fields(jsonb) is
  'Ingest, field check: refuses a payload with any invalid field (22023 payload_invalid), naming up to 50 problems in the message and 2,000 in the detail.';
revoke all on function messaging_private.ingest_check_fields(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_check_shape(payload jsonb)
returns integer
language plpgsql
stable
set search_path = ''
as $$
-- The payload's shape before anything else: an object with a messages array of at most
-- the contract's messages_per_call. Returns the number of messages.
declare
  v_total integer;
begin
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023',
      message = 'payload: must be a JSON object like {"messages": [...]}, got '
        || coalesce(pg_catalog.jsonb_typeof(payload), 'nothing'),
      hint = 'payload_not_object';
  end if;
  if pg_catalog.jsonb_typeof(payload -> 'messages') is distinct from 'array' then
    raise exception using errcode = '22023',
      message = 'messages: required, must be an array of message objects, got '
        || coalesce(pg_catalog.jsonb_typeof(payload -> 'messages'), 'nothing'),
      hint = 'messages_not_array';
  end if;
  v_total := pg_catalog.jsonb_array_length(payload -> 'messages');
  if v_total > messaging_private.contract_limit('messages_per_call') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('messages: %s messages in one call; at most %s', v_total,
        messaging_private.contract_limit('messages_per_call')),
      hint = 'too_many_messages';
  end if;
  return v_total;
end;
$$;
comment on function messaging_private.ingest_check_shape(jsonb) is
  'Ingest, first check: the payload is an object whose messages array is within messages_per_call; returns its length.';
revoke all on function messaging_private.ingest_check_shape(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_conversation_messages(
  conv public.chat_conversations, owner uuid, incoming jsonb, few integer, hot_max integer, hot_bytes integer,
  out hot jsonb, out added jsonb, out inserted integer, out updated integer, out duplicates integer,
  out matched integer, out first_at timestamptz, out last_message jsonb
)
language plpgsql
set search_path = ''
as $$
-- One existing conversation's messages of a batch: dedupe (few: ingest_dedupe's live-path
-- size), export/live matching, edits, merge and summary. hot: the new hot row; added: the
-- messages stored (new ones and new versions, sorted; null when none), for the search index.
declare
  v_dedupe record;
begin
  v_dedupe := messaging_private.ingest_dedupe(conv.id, conv.messages,
    conv.message_count > pg_catalog.jsonb_array_length(conv.messages), incoming, few);
  inserted := pg_catalog.jsonb_array_length(v_dedupe.fresh);
  updated := pg_catalog.jsonb_array_length(v_dedupe.hot_edits)
    + pg_catalog.jsonb_array_length(v_dedupe.archive_edits);
  duplicates := v_dedupe.duplicates;
  matched := v_dedupe.matched;

  hot := conv.messages;
  if pg_catalog.jsonb_array_length(v_dedupe.replaced) > 0 then
    -- export copies that live copies (in hot_edits) replace
    hot := messaging_private.match_take_out(conv.id, owner, hot, v_dedupe.replaced);
  end if;
  if inserted + updated = 0 then
    return;
  end if;
  if updated > 0 then
    hot := messaging_private.ingest_apply_edits(conv.id, owner, hot,
      v_dedupe.hot_edits, v_dedupe.archive_edits);
    added := messaging_private.sort_messages(v_dedupe.fresh || v_dedupe.hot_edits
      || coalesce((select pg_catalog.jsonb_agg(u.x -> 'm')
                     from pg_catalog.jsonb_array_elements(v_dedupe.archive_edits) u(x)), '[]'::jsonb));
  else
    added := v_dedupe.fresh;  -- already sorted by ingest_groups
  end if;
  hot := messaging_private.ingest_merge(conv.id, owner, hot, added, hot_max, hot_bytes);
  select s.first_at, s.last_message into first_at, last_message
    from messaging_private.ingest_summary(conv.id, hot,
           least(conv.first_message_at, (added -> 0 ->> 'sent_at')::timestamptz), updated > 0) s;
end;
$$;
comment on function messaging_private.ingest_conversation_messages(public.chat_conversations, uuid, jsonb, integer, integer, integer) is
  'Ingest, one existing conversation: dedupe, matching, edits, merge and summary of its incoming messages; returns the new hot row, the messages stored and the counts.';
revoke all on function messaging_private.ingest_conversation_messages(public.chat_conversations, uuid, jsonb, integer, integer, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_conversation_row(
  conv public.chat_conversations, owner uuid, connection uuid, g jsonb, changed boolean,
  inserted integer, hot jsonb, first_at timestamptz, last_message jsonb
)
returns public.chat_conversations
language plpgsql
set search_path = ''
as $$
-- The conversation row after a batch (the row as it was when nothing changed). With no
-- message stored (a re-import), messages are left as stored, so the row is not rewritten
-- and its indexes not touched; it is not updated at all unless one of the conversation's
-- own fields changes.
declare
  v_row public.chat_conversations%rowtype;
begin
  update public.chat_conversations c
     set messages = case when changed then hot else c.messages end,
         message_count = c.message_count + inserted,
         first_message_at = case when changed then first_at else c.first_message_at end,
         last_message_at = case when changed
                                then (last_message ->> 'sent_at')::timestamptz else c.last_message_at end,
         last_message_preview = case when changed
                                     then messaging_private.preview(last_message)
                                     else c.last_message_preview end,
         participant_identifier = coalesce(g ->> 'participant_identifier', c.participant_identifier),
         participant_name = coalesce(g ->> 'participant_name', c.participant_name),
         conversation_type = coalesce(g ->> 'conversation_type', c.conversation_type),
         connection_id = coalesce(connection, c.connection_id),
         -- (match_person is a query: asked only when there is an identifier to match)
         person_id = coalesce(
           (g ->> 'person_id')::uuid,
           c.person_id,
           case when coalesce(g ->> 'participant_identifier', c.participant_identifier) is not null then
             messaging_private.match_person(owner, c.platform,
               coalesce(g ->> 'participant_identifier', c.participant_identifier)) end)
   where c.id = conv.id
     and (changed
          or (coalesce(g ->> 'participant_identifier', c.participant_identifier),
              coalesce(g ->> 'participant_name', c.participant_name),
              coalesce(g ->> 'conversation_type', c.conversation_type),
              coalesce(connection, c.connection_id),
              coalesce((g ->> 'person_id')::uuid, c.person_id))
             is distinct from
             (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id))
   returning * into v_row;
  if found then
    return v_row;
  end if;
  return conv;
end;
$$;
comment on function messaging_private.ingest_conversation_row(public.chat_conversations, uuid, uuid, jsonb, boolean, integer, jsonb, timestamptz, jsonb) is
  'Ingest, one existing conversation: writes its row after a batch (only when a message or one of its own fields changed) and returns it.';
revoke all on function messaging_private.ingest_conversation_row(public.chat_conversations, uuid, uuid, jsonb, boolean, integer, jsonb, timestamptz, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_create(
  owner uuid, connection uuid, groups jsonb, hot_max integer, hot_bytes integer,
  out marked_groups jsonb, out results jsonb[], out index jsonb[], out inserted integer,
  out duplicates integer, out existing integer
)
language plpgsql
set search_path = ''
as $$
-- The conversations this call creates, with their messages where they fit
-- (ingest_new_conversations). One conversation that exists, the live case, creates
-- nothing: no speculative insert, person match and preview of a row that is not written.
-- (The key is read into variables first: the group holds its messages, and a plan that
-- evaluated the path per row scanned would walk them again for each row.)
declare
  v_platform text;
  v_external text;
  v_new record;
begin
  if pg_catalog.jsonb_array_length(groups) = 1 then
    v_platform := groups -> 0 ->> 'platform';
    v_external := groups -> 0 ->> 'external_conversation_id';
  end if;
  if v_external is not null
     and exists (select 1 from public.chat_conversations c
                  where c.user_id = owner and c.platform = v_platform
                    and c.external_conversation_id = v_external) then
    marked_groups := pg_catalog.jsonb_build_array(groups -> 0 || '{"created": false, "fresh": false}'::jsonb);
    results := '{}'::jsonb[];
    index := '{}'::jsonb[];
    inserted := 0;
    duplicates := 0;
    existing := 1;
    return;
  end if;
  v_new := messaging_private.ingest_new_conversations(owner, connection, groups, hot_max, hot_bytes);
  marked_groups := v_new.marked_groups;
  results := v_new.results;
  index := v_new.index;
  inserted := v_new.inserted;
  duplicates := v_new.duplicates;
  existing := v_new.existing;
end;
$$;
comment on function messaging_private.ingest_create(uuid, uuid, jsonb, integer, integer) is
  'Ingest: creates the conversations of a call that do not exist (none for a call into one existing conversation); returns the groups marked created/fresh, the answer''s parts and counts.';
revoke all on function messaging_private.ingest_create(uuid, uuid, jsonb, integer, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_dedupe(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb, few integer default null,
  out fresh jsonb, out hot_edits jsonb, out archive_edits jsonb, out duplicates integer,
  out matched integer, out replaced jsonb
)
language plpgsql
stable
set search_path = ''
-- (as in stored_copies; kept here so the chunk reads of ingest_match, which runs under
-- this setting, are planned as index reads too)
set enable_seqscan = off
as $$
-- Each incoming message against its stored copy, if any (stored_copies: in the hot row,
-- or in an archive chunk found through the id_hashes index). A stored copy is replaced
-- only by one with a newer edited_at (a missing edited_at counts as older); else the
-- message is a duplicate.
-- fresh: not stored yet; hot_edits: replace a hot-row copy; archive_edits: {chunk, m}.
-- What no id matched then meets its export or live copy, if stored (ingest_match):
-- matched pairs, and replaced: stored export copies a platform copy takes the place of.
declare
  v_few jsonb;  -- the stored copies of a few incoming messages, [{chunk, m}]
begin
  few := coalesce(few, messaging_private.setting('ingest_few_messages'));
  -- the live case first: a few messages (few: the setting ingest_few_messages) none of
  -- whose ids is stored are all fresh
  if pg_catalog.jsonb_array_length(incoming) <= few then
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', s.chunk, 'm', s.m)) into v_few
      from messaging_private.stored_copies(conversation, hot, has_archive, incoming, few) s;
  end if;
  if pg_catalog.jsonb_array_length(incoming) <= few and v_few is null then
    fresh := incoming;
    hot_edits := '[]'::jsonb;
    archive_edits := '[]'::jsonb;
    duplicates := 0;
    matched := 0;
    replaced := '[]'::jsonb;
    -- a live message meets an export copy only where one is stored in its minutes (the
    -- hot row asked in one path query: stored times are UTC text, so a minute's prefix
    -- bounds them)
    if exists (select 1 from pg_catalog.jsonb_array_elements(incoming) n(m)
                where n.m #>> '{metadata,id_source}' = 'export')
       or (hot @> '[{"metadata": {"id_source": "export"}}]'::jsonb
           and pg_catalog.jsonb_path_exists(hot,
                 '$[*] ? (@.metadata.id_source == "export" && @.sent_at >= $lo && @.sent_at < $hi)',
                 pg_catalog.jsonb_build_object(
                   'lo', pg_catalog.to_char((incoming -> 0 ->> 'sent_at')::timestamptz at time zone 'UTC',
                                            'YYYY-MM-DD"T"HH24:MI'),
                   'hi', pg_catalog.to_char((incoming -> -1 ->> 'sent_at')::timestamptz at time zone 'UTC'
                                            + interval '1 minute', 'YYYY-MM-DD"T"HH24:MI'))))
       or (has_archive and (pg_catalog.jsonb_array_length(hot) = 0
           or (incoming -> 0 ->> 'sent_at')::timestamptz < (hot -> 0 ->> 'sent_at')::timestamptz + interval '1 minute'))
    then
      select x.fresh, x.hot_edits, x.archive_edits, x.duplicates, x.matched, x.replaced
        into fresh, hot_edits, archive_edits, duplicates, matched, replaced
        from messaging_private.ingest_match(conversation, hot, has_archive, incoming) x;
    end if;
    return;
  end if;
  with stored as (
    -- looked up once: the few copies already found, or those of a large batch
    select (s.x ->> 'chunk')::uuid as chunk, s.x -> 'm' as m
      from pg_catalog.jsonb_array_elements(v_few) s(x)
     where v_few is not null
    union all
    select s.chunk, s.m
      from messaging_private.stored_copies(conversation, hot, has_archive, incoming, few) s
     where v_few is null
  ),
  matched as (
    select n.m as nm, n.ord, s.chunk, s.m as sm,
           coalesce(n.m ->> 'edited_at' is not null
             and (s.m ->> 'edited_at' is null
                  or (n.m ->> 'edited_at')::timestamptz > (s.m ->> 'edited_at')::timestamptz), false) as newer
      from pg_catalog.jsonb_array_elements(incoming) with ordinality n(m, ord)
      left join stored s on (s.m ->> 'id') = (n.m ->> 'id')
  )
  select
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord) filter (where x.sm is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord)
      filter (where x.sm is not null and x.newer and x.chunk is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', x.chunk, 'm', x.nm))
      filter (where x.sm is not null and x.newer and x.chunk is not null), '[]'::jsonb),
    pg_catalog.count(*) filter (where x.sm is not null and not x.newer)
    into fresh, hot_edits, archive_edits, duplicates
    from matched x;
  select x.fresh, ingest_dedupe.hot_edits || x.hot_edits, ingest_dedupe.archive_edits || x.archive_edits,
         ingest_dedupe.duplicates + x.duplicates, x.matched, x.replaced
    into fresh, hot_edits, archive_edits, duplicates, matched, replaced
    from messaging_private.ingest_match(conversation, hot, has_archive, fresh) x;
end;
$$;
comment on function messaging_private.ingest_dedupe(uuid, jsonb, boolean, jsonb, integer) is
  'Ingest, part 4: splits incoming messages into fresh ones, edits of hot-row or archived copies, and duplicates.';
revoke all on function messaging_private.ingest_dedupe(uuid, jsonb, boolean, jsonb, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_existing(
  owner uuid, connection uuid, groups jsonb, repeated bigint[], lock_each boolean,
  hot_max integer, hot_bytes integer, few integer,
  out results jsonb[], out index jsonb[], out inserted integer, out duplicates integer,
  out updated integer, out matched integer
)
language plpgsql
set search_path = ''
as $$
-- Each existing conversation of groups that is not fresh (ingest_new_conversations) nor
-- repeated (ingest_repeats, positions given): its messages (ingest_conversation_messages),
-- then its row (ingest_conversation_row). lock_each: lock each conversation as it is read
-- (the caller locks several at once in a fixed order, one as it is read here). hot_max /
-- hot_bytes / few: read once by the caller. Returns each conversation's part of the
-- answer, the search index's batches and the counts.
declare
  g jsonb;
  conv public.chat_conversations%rowtype;
  v_part record;
  v_dups integer;
begin
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append)
  results := '{}'::jsonb[];
  index := '{}'::jsonb[];
  inserted := 0;
  duplicates := 0;
  updated := 0;
  matched := 0;
  for g in
    select x from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
     where not (x -> 'fresh')::boolean
       and g.ord not in (select pg_catalog.unnest(repeated))  -- (a hashed set)
  loop
    if lock_each then
      select * into strict conv
        from public.chat_conversations c
       where c.user_id = owner
         and c.platform = g ->> 'platform'
         and c.external_conversation_id = g ->> 'external_conversation_id'
         for update;
    else
      select * into strict conv
        from public.chat_conversations c
       where c.user_id = owner
         and c.platform = g ->> 'platform'
         and c.external_conversation_id = g ->> 'external_conversation_id';
    end if;

    v_part := messaging_private.ingest_conversation_messages(conv, owner, g -> 'messages', few,
      hot_max, hot_bytes);
    if v_part.added is not null then
      index := pg_catalog.array_append(index,
        pg_catalog.jsonb_build_object('conversation', conv.id, 'messages', v_part.added));
    end if;
    conv := messaging_private.ingest_conversation_row(conv, owner, connection, g,
      v_part.inserted + v_part.updated > 0, v_part.inserted, v_part.hot, v_part.first_at,
      v_part.last_message);

    v_dups := v_part.duplicates + (g ->> 'batch_duplicates')::integer;
    inserted := inserted + v_part.inserted;
    duplicates := duplicates + v_dups;
    updated := updated + v_part.updated;
    matched := matched + v_part.matched;
    results := pg_catalog.array_append(results, pg_catalog.jsonb_build_object(
      'id', conv.id,
      'platform', conv.platform,
      'external_conversation_id', conv.external_conversation_id,
      'created', (g -> 'created')::boolean,
      'inserted', v_part.inserted,
      'duplicates', v_dups,
      'updated', v_part.updated,
      'matched', v_part.matched,
      'person_id', conv.person_id,
      'message_count', conv.message_count));
  end loop;
end;
$$;
comment on function messaging_private.ingest_existing(uuid, uuid, jsonb, bigint[], boolean, integer, integer, integer) is
  'Ingest, existing conversations: per conversation a batch brings something to, its messages and its row; returns the answer''s parts and counts.';
revoke all on function messaging_private.ingest_existing(uuid, uuid, jsonb, bigint[], boolean, integer, integer, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_lock_existing(owner uuid, groups jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- The existing conversations of a call locked in one fixed order, so two calls into the
-- same conversations wait for each other instead of deadlocking.
begin
  perform 1
     from public.chat_conversations c
    where c.user_id = owner
      and (c.platform, c.external_conversation_id) in (
        select x ->> 'platform', x ->> 'external_conversation_id'
        from pg_catalog.jsonb_array_elements(groups) x
       where not (x -> 'fresh')::boolean)
    order by c.platform, c.external_conversation_id
    for update;
end;
$$;
comment on function messaging_private.ingest_lock_existing(uuid, jsonb) is
  'Ingest: locks the existing conversations of a call in (platform, external_conversation_id) order.';
revoke all on function messaging_private.ingest_lock_existing(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_merge(
  conversation uuid, owner uuid, hot jsonb, incoming jsonb,
  hot_max integer default null, hot_bytes integer default null
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- Merges sorted incoming messages into the conversation: those older than the hot row go
-- to the archive chunk whose range holds them (merge_into_archive), the rest join the hot
-- row; past the hot row's caps the oldest spill into the archive in bulk (spill_hot).
-- Returns the new hot row. hot_max / hot_bytes: the caps, when the caller has read them
-- (each read of a setting is a query: a live append would otherwise make four).
declare
  v_hot jsonb := hot;
  v_incoming jsonb := incoming;
begin
  if pg_catalog.jsonb_array_length(v_incoming) = 0 then
    return v_hot;
  end if;
  -- the common case first: newer than everything the hot row holds (the archive is older)
  if pg_catalog.jsonb_array_length(v_hot) > 0
     and ((v_incoming -> 0 ->> 'sent_at')::timestamptz, (v_incoming -> 0 ->> 'id') collate "C")
         > ((v_hot -> -1 ->> 'sent_at')::timestamptz, (v_hot -> -1 ->> 'id') collate "C") then
    v_hot := v_hot || v_incoming;
  else
    v_incoming := messaging_private.merge_into_archive(conversation, owner, v_hot, v_incoming);
    if pg_catalog.jsonb_array_length(v_incoming) > 0 then
      v_hot := messaging_private.sort_messages(v_hot || v_incoming);
    end if;
  end if;
  return messaging_private.spill_hot(conversation, owner, v_hot,
    coalesce(hot_max, messaging_private.setting('hot_max_messages')),
    coalesce(hot_bytes, messaging_private.setting('hot_max_bytes')));
end;
$$;
comment on function messaging_private.ingest_merge(uuid, uuid, jsonb, jsonb, integer, integer) is
  'Ingest, part 6: merges sorted new messages into the archive (older than the hot row) and the hot row, spilling past its caps; returns the hot row.';

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
-- Validates, then owner, references and groups; creates the new conversations, counts
-- the repeated ones and stores the rest per conversation (the ingest_* steps); indexes
-- what was stored for search. The strategies' thresholds are settings (ingest_settings).
declare
  v_owner uuid;
  v_connection uuid;
  v_total integer;
  v_groups jsonb;
  v_set record;
  v_unchanged jsonb;
  v_new record;      -- what each strategy returns
  v_repeats record;
  v_each record;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append, quadratic over 10,000 conversations)
  v_results jsonb[];
  v_index jsonb[];
  v_repeated bigint[] := '{}'::bigint[];
  v_inserted integer;
  v_dups integer;
  v_updated integer := 0;
  v_matched integer := 0;
begin
  v_total := messaging_private.ingest_check_shape(payload);
  v_owner := messaging_private.ingest_owner(payload);
  v_set := messaging_private.ingest_settings();
  perform messaging_private.ingest_check_fields(payload);
  v_connection := messaging_private.ingest_references(payload, v_owner);
  if v_total = 0 then
    return pg_catalog.jsonb_build_object('inserted', 0, 'duplicates', 0, 'updated', 0, 'matched', 0,
      'conversations', '[]'::jsonb);
  end if;

  -- a batch that changes nothing (an export sent again): its answer, no write (not for
  -- a few messages, the live case: new ones, which the proof would only delay)
  if v_total > v_set.unchanged_past then
    v_unchanged := messaging_private.ingest_unchanged(payload, v_owner, v_connection);
    if v_unchanged is not null then
      perform messaging_private.ingest_synced(v_connection);
      return v_unchanged;
    end if;
  end if;

  v_groups := messaging_private.ingest_groups(payload);
  v_new := messaging_private.ingest_create(v_owner, v_connection, v_groups, v_set.hot_max, v_set.hot_bytes);
  v_results := v_new.results;
  v_index := v_new.index;
  v_inserted := v_new.inserted;
  v_dups := v_new.duplicates;
  -- (one existing conversation, the live case, is locked as ingest_existing reads it)
  if v_new.existing > 1 then
    perform messaging_private.ingest_lock_existing(v_owner, v_new.marked_groups);
  end if;

  -- conversations a batch only repeats, all at once. Only for batches over many existing
  -- conversations: for a few (live traffic, one message a call) the check reads every hot
  -- row once more than ingest_existing does (figures in bench/HISTORY.md).
  if v_new.existing > v_set.repeats_past then
    v_repeats := messaging_private.ingest_repeats(v_owner, v_connection, v_new.marked_groups);
    v_results := v_results || v_repeats.results;
    v_dups := v_dups + v_repeats.duplicates;
    v_repeated := v_repeats.positions;
  end if;

  if v_new.existing > pg_catalog.cardinality(v_repeated) then
    v_each := messaging_private.ingest_existing(v_owner, v_connection, v_new.marked_groups, v_repeated,
      v_new.existing = 1, v_set.hot_max, v_set.hot_bytes, v_set.few);
    v_results := v_results || v_each.results;
    v_index := v_index || v_each.index;
    v_inserted := v_inserted + v_each.inserted;
    v_dups := v_dups + v_each.duplicates;
    v_updated := v_each.updated;
    v_matched := v_each.matched;
  end if;

  -- the search segments of every conversation at once
  if pg_catalog.cardinality(v_index) > 0 then
    perform messaging_private.index_batches(v_owner, pg_catalog.to_jsonb(v_index));
  end if;
  perform messaging_private.ingest_synced(v_connection);

  return pg_catalog.jsonb_build_object(
    'inserted', v_inserted,
    'duplicates', v_dups,
    'updated', v_updated,
    'matched', v_matched,
    'conversations', (select coalesce(pg_catalog.jsonb_agg(r.x order by r.x ->> 'platform', r.x ->> 'external_conversation_id'),
                                      '[]'::jsonb)
                        from pg_catalog.unnest(v_results) r(x)));
end;
$$;
comment on function messaging_private.ingest_messages(jsonb) is
  'The privileged body of public.ingest_messages: validates, then owner, references, groups, and per conversation dedupe, edits, merge and summary (the ingest_* parts).';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;

create or replace function messaging_private.ingest_settings(
  out hot_max integer, out hot_bytes integer, out few integer, out unchanged_past integer,
  out repeats_past integer
)
language plpgsql
stable
set search_path = ''
as $$
-- The settings one ingest call reads, in one query (a setting() call each would be five).
begin
  select pg_catalog.max(s.value) filter (where s.key = 'hot_max_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'hot_max_bytes'),
         pg_catalog.max(s.value) filter (where s.key = 'ingest_few_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'ingest_unchanged_past_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'ingest_repeats_past_conversations')
    into hot_max, hot_bytes, few, unchanged_past, repeats_past
    from messaging_private.settings s
   where s.key in ('hot_max_messages', 'hot_max_bytes', 'ingest_few_messages',
                   'ingest_unchanged_past_messages', 'ingest_repeats_past_conversations');
end;
$$;
comment on function messaging_private.ingest_settings() is
  'Ingest: the hot row''s caps and the strategy thresholds, read once per call.';
revoke all on function messaging_private.ingest_settings() from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_synced(connection uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if connection is not null then
    update public.messaging_connections mc
       set last_synced_at = pg_catalog.now()
     where mc.id = connection;
  end if;
end;
$$;
comment on function messaging_private.ingest_synced(uuid) is
  'Ingest: moves the connection''s last_synced_at (none without a connection).';
revoke all on function messaging_private.ingest_synced(uuid) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_unchanged(payload jsonb, owner uuid, connection uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_total integer;
begin
  if not messaging_private.unchanged_probe(payload, owner) then
    return null;
  end if;
  v_total := pg_catalog.jsonb_array_length(payload -> 'messages');
  return (
    with src as (
      select e.ord, coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
             e.m ->> 'external_conversation_id' as ext_id, e.m
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    conv as (
      select g.platform, g.ext_id, g.n, c.id, c.person_id, c.message_count, c.messages,
             c.message_count > pg_catalog.jsonb_array_length(c.messages) as has_archive,
             c.id is not null
               and (coalesce(f.participant_identifier, c.participant_identifier),
                    coalesce(f.participant_name, c.participant_name),
                    coalesce(f.conversation_type, c.conversation_type),
                    coalesce(connection, c.connection_id),
                    coalesce(f.person_id, c.person_id))
                   is not distinct from
                   (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id)
               as kept
        from (select s.platform, s.ext_id, pg_catalog.count(*) as n from src s group by s.platform, s.ext_id) g
        -- the conversation fields the batch gives (as ingest_groups reads them)
        left join messaging_private.batch_conversation_fields(payload) f
          on f.platform = g.platform and f.ext_id = g.ext_id
        left join public.chat_conversations c
          on c.user_id = owner and c.platform = g.platform and c.external_conversation_id = g.ext_id
    ),
    incoming as (
      select s.ord, s.m ->> 'id' as msg_id, s.m ->> 'edited_at' as edited_at, s.m ->> 'sent_at' as sent_at,
             c.id as conversation_id, c.has_archive
        from src s
        join conv c on c.platform = s.platform and c.ext_id = s.ext_id
       where c.kept
    ),
    hot as (
      select c.id as conversation_id, h.m ->> 'id' as msg_id, h.m ->> 'edited_at' as edited_at
        from conv c
       cross join lateral pg_catalog.jsonb_array_elements(c.messages) h(m)
       where c.kept
    ),
    in_hot as (
      select i.*, h.msg_id is not null as found,
             i.edited_at is null
               or (h.edited_at is not null and h.edited_at::timestamptz >= i.edited_at::timestamptz) as not_newer
        from incoming i
        left join hot h on h.conversation_id = i.conversation_id and h.msg_id = i.msg_id
    ),
    ranges as (
      -- per conversation, the times of the messages its hot row lacks
      select x.conversation_id, pg_catalog.min(x.sent_at::timestamptz) as lo, pg_catalog.max(x.sent_at::timestamptz) as hi
        from in_hot x
       where not x.found and x.has_archive
       group by x.conversation_id
    ),
    archived as (
      select r.conversation_id, a.msg_id, a.edited_at
        from ranges r
       cross join lateral messaging_private.archived_ids(r.conversation_id, r.lo, r.hi) a
    ),
    in_archive as (
      select x.ord,
             x.edited_at is null
               or (s.edited_at is not null and s.edited_at::timestamptz >= x.edited_at::timestamptz) as not_newer
        from in_hot x
        join archived s on s.conversation_id = x.conversation_id and s.msg_id = x.msg_id
       where not x.found
    )
    select case
      when (select pg_catalog.bool_and(c.kept) from conv c)
       and (select pg_catalog.count(*) from in_hot x where x.found and x.not_newer)
           + (select pg_catalog.count(distinct y.ord) from in_archive y where y.not_newer)
           = v_total
      then pg_catalog.jsonb_build_object(
        'inserted', 0, 'duplicates', v_total, 'updated', 0, 'matched', 0,
        'conversations', (
          select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
              'id', c.id, 'platform', c.platform, 'external_conversation_id', c.ext_id,
              'created', false, 'inserted', 0, 'duplicates', c.n, 'updated', 0, 'matched', 0,
              'person_id', c.person_id, 'message_count', c.message_count)
            order by c.platform, c.ext_id)
            from conv c))
    end
  );
end;
$$;
comment on function messaging_private.ingest_unchanged(jsonb, uuid, uuid) is
  'Ingest, unchanged batches: the answer to a valid batch every message of which is stored (no newer edit, no field changed), proved from the payload and the rows without writing; null otherwise.';

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

create or replace function messaging_private.merge_batch_segments(owner uuid, batches jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- index_batches' last step: merges the small segments of each conversation of batches
-- ([{conversation, ...}]) that has 16 of them into sealed ones (merge_segments).
declare
  v_conversation uuid;
  v_probe_max integer := messaging_private.setting('index_probe_max_conversations');
begin
  -- Which conversations reached 16 open segments. A few conversations (live traffic: one;
  -- at most the setting index_probe_max_conversations)
  -- are each counted through the partial index of open segments: a join with every open
  -- segment read all users' open segments on each call. A large batch is joined with the
  -- owner's open segments at once: 10,000 probes planned on statistics taken before the
  -- batch inserted its own segments could each become a scan of the table.
  for v_conversation in
    select b.conversation
      from (select distinct (b.x ->> 'conversation')::uuid as conversation
              from pg_catalog.jsonb_array_elements(batches) b(x)) b
     where pg_catalog.jsonb_array_length(batches) <= v_probe_max
       and (select pg_catalog.count(*) from messaging_private.search_segments s
             where s.conversation_id = b.conversation and not s.sealed) >= 16
    union all
    select s.conversation_id
      from messaging_private.search_segments s
     where pg_catalog.jsonb_array_length(batches) > v_probe_max
       and s.user_id = owner
       and not s.sealed
       and s.conversation_id in (select (b.x ->> 'conversation')::uuid
                                   from pg_catalog.jsonb_array_elements(batches) b(x))
     group by s.conversation_id
    having pg_catalog.count(*) >= 16
  loop
    perform messaging_private.merge_segments(v_conversation, owner);
  end loop;
end;
$$;
comment on function messaging_private.merge_batch_segments(uuid, jsonb) is
  'Merges the small search segments of the batch''s conversations that reached 16 into sealed ones (index_batches'' last step).';
revoke all on function messaging_private.merge_batch_segments(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.merge_into_archive(
  conversation uuid, owner uuid, hot jsonb, incoming jsonb
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- The incoming messages (sorted) older than the hot row go to the archive chunk whose
-- range holds them (or the oldest chunk); returns the rest, which join the hot row.
-- Without an archive, returns incoming as it is.
declare
  v_old jsonb;
  v_rest jsonb;
  v_bound_at timestamptz;
  v_bound_id text;
  v_target record;
begin
  if not exists (select 1 from public.chat_conversation_archives a where a.conversation_id = conversation) then
    return incoming;
  end if;
  if pg_catalog.jsonb_array_length(hot) > 0 then
    v_bound_at := (hot -> 0 ->> 'sent_at')::timestamptz;
    v_bound_id := hot -> 0 ->> 'id';
  else
    select a.last_message_at, a.last_message_id into v_bound_at, v_bound_id
      from public.chat_conversation_archives a
     where a.conversation_id = conversation
     order by a.first_message_at desc, a.first_message_id collate "C" desc
     limit 1;
  end if;
  select
    coalesce(pg_catalog.jsonb_agg(i.m order by i.ord) filter (
      where ((i.m ->> 'sent_at')::timestamptz, (i.m ->> 'id') collate "C") < (v_bound_at, v_bound_id collate "C")),
      '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(i.m order by i.ord) filter (
      where ((i.m ->> 'sent_at')::timestamptz, (i.m ->> 'id') collate "C") >= (v_bound_at, v_bound_id collate "C")),
      '[]'::jsonb)
    into v_old, v_rest
    from pg_catalog.jsonb_array_elements(incoming) with ordinality i(m, ord);

  -- each old message goes to the chunk whose range starts at or before it (or the oldest)
  for v_target in
    with o as (
      select x.m, (x.m ->> 'sent_at')::timestamptz as ts, x.m ->> 'id' as mid
        from pg_catalog.jsonb_array_elements(v_old) x(m)
    )
    select t.chunk, pg_catalog.jsonb_agg(t.m) as msgs
      from (
        select o.m, coalesce(
          (select a.id from public.chat_conversation_archives a
            where a.conversation_id = conversation
              and (a.first_message_at, a.first_message_id collate "C") <= (o.ts, o.mid collate "C")
            order by a.first_message_at desc, a.first_message_id collate "C" desc
            limit 1),
          (select a.id from public.chat_conversation_archives a
            where a.conversation_id = conversation
            order by a.first_message_at, a.first_message_id collate "C"
            limit 1)) as chunk
        from o) t
     group by t.chunk
  loop
    perform messaging_private.store_chunks(conversation, owner, v_target.chunk,
      messaging_private.sort_messages(
        (select a.messages from public.chat_conversation_archives a where a.id = v_target.chunk)
        || v_target.msgs));
  end loop;
  return v_rest;
end;
$$;
comment on function messaging_private.merge_into_archive(uuid, uuid, jsonb, jsonb) is
  'Ingest merge: writes incoming messages older than the hot row into the archive chunks whose ranges hold them; returns the others.';
revoke all on function messaging_private.merge_into_archive(uuid, uuid, jsonb, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.messaging_contract()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return pg_catalog.jsonb_build_object(
    'limits', (
      select pg_catalog.jsonb_object_agg(l.name, pg_catalog.jsonb_build_object(
               'value', l.value, 'unit', l.unit, 'description', l.description))
        from messaging_private.contract_limits l),
    'payload_fields', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'scope', f.scope, 'field', f.field, 'kind', f.kind, 'required', f.required,
               'max_length', f.max_length,
               'vocabulary', (select t.typname from pg_catalog.pg_type t where t.oid = f.vocabulary),
               'values', (select pg_catalog.jsonb_agg(e.enumlabel order by e.enumsortorder)
                            from pg_catalog.pg_enum e where e.enumtypid = f.vocabulary),
               'description', f.description)
             order by f.scope desc, f.position)
        from messaging_private.payload_fields f),
    'stored_message', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'key', k.key, 'always', k.always, 'type', k.type, 'description', k.description)
             order by k.position)
        from messaging_private.stored_message_keys k),
    'platforms', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'platform', e.enumlabel, 'label', p.label, 'description', p.description,
               'secrets', coalesce((
                 select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                          'name', s.name, 'pattern', s.pattern, 'max_length', s.max_length,
                          'issued_by', s.issued_by, 'description', s.description) order by s.position)
                   from messaging_private.platform_secrets s where s.platform = e.enumlabel), '[]'::jsonb))
             order by e.enumsortorder)
        from pg_catalog.pg_enum e
        left join messaging_private.platforms p on p.platform = e.enumlabel::text
       where e.enumtypid = 'public.messaging_platform'::regtype),
    'connection_statuses', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'status', c.status, 'settable', c.settable, 'stores', c.stores,
               'description', c.description) order by c.position)
        from messaging_private.connection_statuses c),
    'delivery_statuses', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'status', d.status, 'rank', d.rank, 'description', d.description) order by d.rank)
        from messaging_private.delivery_statuses d),
    'refusals', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'kind', r.kind, 'sqlstate', r.sqlstate, 'scope', r.scope, 'advice', r.advice,
               'description', r.description) order by r.kind)
        from messaging_private.refusal_kinds r),
    'webhook_url', '{functions_url}/messaging-ingest/{platform}/{connection_id}'
  );
end;
$$;
comment on function messaging_private.messaging_contract() is
  'The privileged body of public.messaging_contract(): reads the contract tables of messaging_private.';
revoke all on function messaging_private.messaging_contract() from public;
grant execute on function messaging_private.messaging_contract() to authenticated, service_role;

create or replace function messaging_private.payload_errors(payload jsonb)
returns text[]
language plpgsql
stable
set search_path = ''
as $$
-- Every problem of a payload, in message and field order: its shape and each field
-- (payload_shape_errors, payload_field_errors); then, once every field is valid on its own,
-- the rules across fields.
declare
  v_errors text[];
  v_earliest timestamptz;
  v_future interval;
  v_depth bigint;
begin
  -- the contract's limits, in one read
  select pg_catalog.to_timestamp(pg_catalog.max(l.value) filter (where l.name = 'earliest_epoch_seconds')),
         pg_catalog.justify_interval(pg_catalog.make_interval(
           secs => pg_catalog.max(l.value) filter (where l.name = 'future_seconds'))),
         pg_catalog.max(l.value) filter (where l.name = 'metadata_max_depth')
    into v_earliest, v_future, v_depth
    from messaging_private.contract_limits l;
  select coalesce(pg_catalog.array_agg(x.err order by x.i, x.n), '{}') into v_errors
    from (select * from messaging_private.payload_shape_errors(payload)
          union all
          select * from messaging_private.payload_field_errors(payload, v_earliest, v_future)) x
   where x.err is not null;
  if pg_catalog.cardinality(v_errors) > 0 then
    return v_errors;
  end if;
  -- Rules across fields, once every field is valid on its own (the timestamps parse):
  -- an edit is not older than its message, and metadata nests at most metadata_max_depth
  -- levels (the bracket count is a cheap bound that spares walking flat metadata).
  return (
    select coalesce(pg_catalog.array_agg(x.err order by x.i, x.n), '{}')
    from (
      select e.ord - 1 as i, 10 as n,
             pg_catalog.format('messages[%s].edited_at: %s is earlier than sent_at %s',
               e.ord - 1, e.m -> 'edited_at', e.m -> 'sent_at') as err
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
       where pg_catalog.jsonb_typeof(e.m -> 'edited_at') = 'string'
         and (e.m ->> 'edited_at')::timestamptz < (e.m ->> 'sent_at')::timestamptz
      union all
      select e.ord - 1, 18,
             pg_catalog.format('messages[%s].metadata: nested deeper than %s levels', e.ord - 1, v_depth)
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
       where pg_catalog.jsonb_typeof(e.m -> 'metadata') = 'object'
         and pg_catalog.length(pg_catalog.regexp_replace((e.m -> 'metadata')::text, '[^\[{]', '', 'g')) > v_depth
         and pg_catalog.jsonb_path_exists(e.m -> 'metadata', pg_catalog.format(
               'strict $.**{%s to last} ? (@.type() == "object" || @.type() == "array")', v_depth)::jsonpath)
    ) x
  );
end;
$$;
comment on function messaging_private.payload_errors(jsonb) is
  'Every problem of an ingest payload, each naming its field by path (messages[4].sent_at: ...); empty when valid.';

create or replace function messaging_private.payload_field_errors(
  payload jsonb, earliest timestamptz, future interval
)
returns table (i integer, n integer, err text)
language plpgsql
stable
set search_path = ''
as $$
-- One set-based pass over a table of rules: every field of the top level and of every
-- message is checked by the same CASE, with no function call per message (a function
-- with its own search_path cannot be inlined and would cost a call per field). The rules
-- are the rows of messaging_private.payload_fields (published by messaging_contract()).
-- earliest / future: the contract's time bounds, read once by the caller.
#variable_conflict use_column
begin
  return query
    with rules (scope, n, field, kind, max_length, required, allowed) as (
      select f.scope, f.position, f.field, f.kind, f.max_length, f.required, v.labels
        from messaging_private.payload_fields f
        left join (select e.enumtypid, pg_catalog.array_agg(e.enumlabel::text order by e.enumsortorder) as labels
                     from pg_catalog.pg_enum e group by e.enumtypid) v on v.enumtypid = f.vocabulary
    ),
    items as (
      select 'payload' as scope, -1 as i, '' as path, payload as obj
      union all
      select 'message', (e.ord - 1)::integer, pg_catalog.format('messages[%s].', e.ord - 1), e.m
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    top_platform as (
      select coalesce(payload -> 'platform', 'null'::jsonb) <> 'null'::jsonb as given
    )
    select it.i, r.n, it.path || r.field || ': ' || (
        case
          when f.v is null or f.v = 'null'::jsonb then
            case
              when r.field = 'platform' and r.scope = 'message' and tp.given then null
              when r.field = 'platform' and r.scope = 'message' then 'required (here or at the top level)'
              when r.required then 'required'
            end
          -- (the payload's messages array is checked before the fields are)
          when r.kind = 'array' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'array' then 'must be an array, got ' || pg_catalog.jsonb_typeof(f.v) end
          when r.kind = 'enum' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'string' or not (f.s = any (r.allowed)) then
              pg_catalog.format('must be one of %s, got %s',
                pg_catalog.array_to_string(r.allowed, ', '), pg_catalog.left(f.v::text, 60))
            end
          when r.kind = 'object' then
            case
              when pg_catalog.jsonb_typeof(f.v) <> 'object' then 'must be an object, got ' || pg_catalog.jsonb_typeof(f.v)
              when pg_catalog.length(f.v::text) > r.max_length then
                pg_catalog.format('longer than %s characters as JSON', r.max_length)
            end
          when r.kind = 'uuid' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'string'
                   or f.s !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
              pg_catalog.format('must be a UUID, got %s', pg_catalog.left(f.v::text, 60))
            end
          when pg_catalog.jsonb_typeof(f.v) <> 'string' then
            pg_catalog.format('must be a%s string, got %s',
              case when r.kind = 'timestamp' then 'n ISO 8601' else '' end, pg_catalog.jsonb_typeof(f.v))
          when r.kind = 'text' then
            case
              when pg_catalog.length(f.s) > r.max_length then
                pg_catalog.format('longer than %s characters (%s)', r.max_length, pg_catalog.length(f.s))
              when r.required and pg_catalog.btrim(f.s) = '' then 'must not be empty'
            end
          -- timestamps: ISO 8601 with an offset, a real date and time, from the earliest
          -- time to future_seconds past now (contract_limits). The
          -- format is fixed-width up to the minutes, so the parts are read by position
          -- (a boolean regex match is cheap, one with captures is not: bench/HISTORY.md).
          when f.s !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$' then
            pg_catalog.format('%s is not an ISO 8601 timestamp with an offset, like 2026-02-01T10:30:00Z',
              pg_catalog.left(f.v::text, 60))
          when not (
            case
              when pg_catalog.substr(f.s, 1, 4)::integer < 1
                or pg_catalog.substr(f.s, 6, 2)::integer not between 1 and 12 then false
              else pg_catalog.substr(f.s, 9, 2)::integer between 1 and pg_catalog.date_part('day',
                     pg_catalog.make_date(pg_catalog.substr(f.s, 1, 4)::integer, pg_catalog.substr(f.s, 6, 2)::integer, 1)
                     + interval '1 month' - interval '1 day')::integer
                and pg_catalog.substr(f.s, 12, 2)::integer <= 23
                and pg_catalog.substr(f.s, 15, 2)::integer <= 59
                and (pg_catalog.substr(f.s, 17, 1) <> ':' or pg_catalog.substr(f.s, 18, 2)::integer <= 59)
                and f.s ~ '([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)$'
            end) then
            pg_catalog.format('%s is not a real date and time', f.v::text)
          when f.s::timestamptz < earliest or f.s::timestamptz > pg_catalog.now() + future then
            pg_catalog.format('%s is out of range (%s to %s from now)', f.v::text,
              pg_catalog.to_char(earliest at time zone 'UTC', 'YYYY-MM-DD'), future)
        end)
      from items it
      cross join top_platform tp
      join rules r on r.scope = it.scope
      cross join lateral (select it.obj -> r.field as v, it.obj ->> r.field as s) f
      where pg_catalog.jsonb_typeof(it.obj) = 'object';
end;
$$;
comment on function messaging_private.payload_field_errors(jsonb, timestamptz, interval) is
  'payload_errors, second part: every field of the payload and of each message against its rule (type, vocabulary, length, UUID, ISO 8601 time within the bounds), as (message position, rule position, error or null).';
revoke all on function messaging_private.payload_field_errors(jsonb, timestamptz, interval) from public, anon, authenticated, service_role;

create or replace function messaging_private.payload_shape_errors(payload jsonb)
returns table (i integer, n integer, err text)
language plpgsql
stable
set search_path = ''
as $$
-- Messages that are not objects, and keys no rule of messaging_private.payload_fields names
-- (at the top level the message lists the fields expected). A message's known keys are
-- taken out in one operation (jsonb - text[]), so only unknown ones are listed.
declare
  v_known text[] := (select pg_catalog.array_agg(f.field) from messaging_private.payload_fields f
                      where f.scope = 'message');
begin
  return query
    select (e.ord - 1)::integer, 0,
           pg_catalog.format('messages[%s]: must be an object, got %s', e.ord - 1, pg_catalog.jsonb_typeof(e.m))
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
     where pg_catalog.jsonb_typeof(e.m) <> 'object'
    union all
    select -1, 1,
           pg_catalog.format('%s: unknown field (expected %s)', k,
             (select pg_catalog.string_agg(f.field, ', ' order by f.position)
                from messaging_private.payload_fields f where f.scope = 'payload'))
      from pg_catalog.jsonb_object_keys(payload) k
     where not exists (select 1 from messaging_private.payload_fields f
                        where f.scope = 'payload' and f.field = k)
    union all
    select (e.ord - 1)::integer, 1, pg_catalog.format('messages[%s].%s: unknown field', e.ord - 1, k)
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
     cross join lateral pg_catalog.jsonb_object_keys(e.m operator(pg_catalog.-) v_known) k
     where pg_catalog.jsonb_typeof(e.m) = 'object';
end;
$$;
comment on function messaging_private.payload_shape_errors(jsonb) is
  'payload_errors, first part: messages that are not objects and unknown keys, as (message position, rule position, error).';
revoke all on function messaging_private.payload_shape_errors(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.record_delivery(
  connection uuid, accepted boolean, refused jsonb[], conversations jsonb)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_nref integer := pg_catalog.cardinality(refused);
begin
  -- ingest_messages has set last_synced_at when it stored messages; the row is written
  -- again only when it must change (refusals to count, no messages, an error to clear),
  -- so a plain delivery costs one update of the connection row, as ingest_messages does
  update public.messaging_connections mc
     set last_synced_at = case when accepted then pg_catalog.now() else mc.last_synced_at end,
         status = case when mc.status = 'error' and accepted then 'active' else mc.status end,
         last_error = case when v_nref > 0
                           then pg_catalog.left(pg_catalog.format('%s refused: %s', refused[1] ->> 'path',
                                  refused[1] ->> 'reason')
                                  || case when v_nref > 1 then pg_catalog.format(' (and %s more)', v_nref - 1) else '' end,
                                  4000)
                           when mc.status = 'error' and accepted then null
                           else mc.last_error end,
         refused_count = mc.refused_count + v_nref,
         last_refused_at = case when v_nref > 0 then pg_catalog.now() else mc.last_refused_at end
   where mc.id = record_delivery.connection
     and (v_nref > 0 or mc.status = 'error'
          or (accepted and not (conversations <> '[]'::jsonb)));
end;
$$;
comment on function messaging_private.record_delivery(uuid, boolean, jsonb[], jsonb) is
  'A delivery''s mark on its connection: last_synced_at when it was accepted, an error status cleared, its refusals counted with the first one''s reason.';
revoke all on function messaging_private.record_delivery(uuid, boolean, jsonb[], jsonb) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.search_hits(
  line_convs uuid[], line_mids text[], line_sents timestamptz[], lines text[], norm text, tsq tsquery,
  pattern text, words text[], sent_after timestamptz, sent_before timestamptz, direction text, max_count integer)
returns setof jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return query
  with wanted as (
    -- the best lines (ranked as the messages are ranked below), a few spare for lines of
    -- messages edited since: only these messages are opened
    select b.conv_id, b.mid
      from (
        select distinct on (h.conv_id, h.mid) h.conv_id, h.mid, h.sent,
               coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.line), tsq), 0)
                 + case when h.line like pattern then 0.5 else 0 end as score
          from unnest(line_convs, line_mids, line_sents, lines) h(conv_id, mid, sent, line)
         order by h.conv_id, h.mid
      ) b
     order by b.score desc, b.sent desc, b.mid
     limit max_count + 10
  ),
  stored as materialized (
    -- the messages as stored now: in the hot row (read in C by a path query), or in the
    -- archive chunks whose id_hashes hold their ids (each chunk opened once); a line of a
    -- message edited since no longer matches below
    select w.conv_id, f.m
      from wanted w
     cross join lateral (
       select pg_catalog.jsonb_path_query_first(c.messages, '$[*] ? (@.id == $id)',
                pg_catalog.jsonb_build_object('id', w.mid)) as m
         from public.chat_conversations c
        where c.id = w.conv_id
     ) f
     where f.m is not null
    union all
    select x.conversation_id, e.m
      from (
        select a.id, a.conversation_id, pg_catalog.array_agg(w.mid) as mids
          from wanted w
          join public.chat_conversation_archives a
            on a.conversation_id = w.conv_id
           and a.id_hashes @> array[pg_catalog.hashtextextended(w.mid, 0)]
         group by a.id, a.conversation_id
      ) x
      join public.chat_conversation_archives a on a.id = x.id
     cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
     where e.m ->> 'id' = any (x.mids)
  ),
  checked as (
    -- the normalisation is search_normalize() written out (a call per message would cost
    -- more than the search)
    select st.conv_id, st.m, x.doc
      from stored st
     cross join lateral (
       select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary,
                pg_catalog.left(concat_ws(' ', st.m ->> 'content', st.m ->> 'sender_name',
                                          pg_catalog.split_part(st.m ->> 'media_url', '?', 1)), 2000))) as doc
     ) x
     where (sent_after is null or (st.m ->> 'sent_at')::timestamptz >= sent_after)
       and (sent_before is null or (st.m ->> 'sent_at')::timestamptz < sent_before)
       and (direction is null or st.m ->> 'direction' = direction)
       and (x.doc like pattern
            or (x.doc like all (words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, x.doc) @@ tsq))
  ),
  ranked as (
    select h.*,
           (coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.doc), tsq), 0)
            + case when h.doc like pattern then 0.5 else 0 end)::real as score
      from checked h
  )
  select pg_catalog.jsonb_build_object(
           'conversation_id', r.conv_id,
           'platform', c.platform,
           'participant_name', c.participant_name,
           'person_id', c.person_id,
           'message', r.m,
           'snippet', messaging_private.search_snippet(r.m ->> 'content', norm, tsq),
           'rank', r.score)
    from ranked r
    join public.chat_conversations c on c.id = r.conv_id
   order by r.score desc, (r.m ->> 'sent_at')::timestamptz desc, r.m ->> 'id'
   limit max_count;
end;
$$;
comment on function messaging_private.search_hits(uuid[], text[], timestamptz[], text[], text, tsquery, text, text[], timestamptz, timestamptz, text, integer) is
  'search_messages'' answer from the first matching lines: the messages of the best ones as stored now, those that still match, ranked, each with its conversation and a snippet.';
revoke all on function messaging_private.search_hits(uuid[], text[], timestamptz[], text[], text, tsquery, text, text[], timestamptz, timestamptz, text, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.search_indexed_lines(
  owner uuid, tsq tsquery, tsq_words tsquery, pattern text, words text[], person uuid, on_platform text,
  sent_after timestamptz, sent_before timestamptz, direction text, max_count integer,
  out line_convs uuid[], out line_mids text[], out line_sents timestamptz[], out lines text[])
language plpgsql
stable
set search_path = ''
as $$
begin
  with hits as (
    -- segments holding a match, the owner's only, through the two GIN indexes, asked
    -- separately (one index's re-check never evaluates the other's condition); the words
    -- of a phrase must all be in the segment, the phrase itself in a line
    select s.id
      from messaging_private.search_segments s
     where s.user_id = owner
       and s.lexemes @@ tsq_words
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
    union
    select s.id
      from messaging_private.search_segments s
     where s.user_id = owner
       and s.document like pattern
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
  )
  select coalesce(pg_catalog.array_agg(m.conv_id), '{}'), coalesce(pg_catalog.array_agg(m.mid), '{}'),
         coalesce(pg_catalog.array_agg(m.sent), '{}'), coalesce(pg_catalog.array_agg(m.line), '{}')
    into line_convs, line_mids, line_sents, lines
    from (
      -- Newest segments first, and no more than 5 x max_count matching lines are ranked: a
      -- common word matches in most segments, and opening all of them would cost seconds.
      -- The query's words must all occur in a line before its tsvector is built.
      -- (the lines and their ids, times and directions unnested side by side: a subscript
      -- of the text[] of ids walks it from its start, so message_ids[n] per line made a
      -- segment of 1,000 lines cost half a million steps)
      select k.conversation_id as conv_id, l.mid, l.sent, l.line
        from (
          select s.conversation_id, s.message_ids, s.sent_ats, s.outbound, s.document
            from messaging_private.search_segments s
           where s.id in (select h.id from hits h)
             and ((person is null and on_platform is null)
                  or exists (select 1 from public.chat_conversations c
                              where c.id = s.conversation_id
                                and (person is null or c.person_id = person)
                                and (on_platform is null or c.platform = on_platform)))
           order by s.last_sent_at desc
        ) k
       cross join lateral unnest(pg_catalog.string_to_array(k.document, E'\n'), k.message_ids, k.sent_ats, k.outbound)
                            l(line, mid, sent, outbound)
       -- (unnest of several arrays is syntax, written without its schema)
       where (sent_after is null or l.sent >= sent_after)
         and (sent_before is null or l.sent < sent_before)
         and (direction is null or l.outbound = (direction = 'outbound'))
         and (l.line like pattern
              or (l.line like all (words)
                  and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, l.line) @@ tsq))
       limit max_count * 5
    ) m;
end;
$$;
comment on function messaging_private.search_indexed_lines(uuid, tsquery, tsquery, text, text[], uuid, text, timestamptz, timestamptz, text, integer) is
  'search_messages'' read: the first max_count x 5 matching lines (conversation, message id, sent_at, line side by side) of the owner''s segments the two search indexes find, newest segment first.';
revoke all on function messaging_private.search_indexed_lines(uuid, tsquery, tsquery, text, text[], uuid, text, timestamptz, timestamptz, text, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.search_messages(
  query text,
  person_id uuid default null,
  max_count integer default 50,
  platform text default null,
  sent_after timestamptz default null,
  sent_before timestamptz default null,
  direction text default null,
  user_id uuid default null
)
returns setof jsonb
language plpgsql
stable
-- definer: it filters by the owner itself, so row-level security does not wrap the index
-- conditions (@@ and LIKE are not leakproof) into a filter over every row of the user
security definer
set search_path = ''
-- (its steps' plans are cached per session like any function's: with the words stored per
-- segment no plan ever rebuilds a tsvector, and planning these queries each time costs
-- more than a rare-code search)
as $$
declare
  v_req record;    -- owner, norm, tsq, tsq_words, words, pattern
  v_lines record;  -- the first matching lines: line_convs, line_mids, line_sents, lines
begin
  v_req := messaging_private.search_request(query, max_count, search_messages.user_id);
  if v_req.norm = '' then
    return;
  end if;
  v_lines := messaging_private.search_newest_first(v_req.owner, v_req.tsq, v_req.tsq_words,
    v_req.pattern, v_req.words, person_id, platform, sent_after, sent_before, direction, max_count);
  if not v_lines.complete then
    v_lines := messaging_private.search_indexed_lines(v_req.owner, v_req.tsq, v_req.tsq_words,
      v_req.pattern, v_req.words, person_id, platform, sent_after, sent_before, direction, max_count);
  end if;
  if pg_catalog.cardinality(v_lines.line_mids) = 0 then
    return;  -- no line matched: no hit
  end if;
  return query select h.hit from messaging_private.search_hits(v_lines.line_convs, v_lines.line_mids,
    v_lines.line_sents, v_lines.lines, v_req.norm, v_req.tsq, v_req.pattern, v_req.words, sent_after,
    sent_before, direction, max_count) h(hit);
end;
$$;
comment on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid) is
  'The privileged body of public.search_messages: searches the caller''s own messages (a signed-in user''s auth.uid(), or the user_id service_role names) through the search indexes.';
revoke all on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  from public, anon;
grant execute on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  to authenticated, service_role;

create or replace function messaging_private.search_newest_first(
  owner uuid, tsq tsquery, tsq_words tsquery, pattern text, words text[], person uuid, on_platform text,
  sent_after timestamptz, sent_before timestamptz, direction text, max_count integer, out complete boolean,
  out line_convs uuid[], out line_mids text[], out line_sents timestamptz[], out lines text[])
language plpgsql
stable
set search_path = ''
as $$
-- A common word: the newest segments first, each read as it comes. search_indexed_lines
-- asks both indexes for every segment of the owner holding a match, and a word in most
-- segments makes that a re-check of nearly every segment. When the word is in at least 8
-- (the setting search_dense_segments) of the owner's 32 newest segments, they are read
-- newest first instead, until max_count x 5 lines matched: the very lines the other path
-- takes (the first matching lines of the newest segments). When the owner's 64 newest
-- segments did not give that many, or the word is rarer, complete is false: the caller
-- reads through the indexes after all (search_indexed_lines).
declare
  v_seen integer := 0;
  v_segment bigint;
begin
  select pg_catalog.count(*) filter (where r.lexemes @@ tsq_words)
           >= coalesce(messaging_private.setting('search_dense_segments'), 8)
    into complete
    from (select s.lexemes from messaging_private.search_segments s
           where s.user_id = owner and tsq is not null  -- (punctuation only: substrings alone)
           order by s.last_sent_at desc
           limit 32) r;
  if not complete then
    return;
  end if;
  line_convs := '{}'; line_mids := '{}'; line_sents := '{}'; lines := '{}';
  for v_segment in
    select s.id from messaging_private.search_segments s
     where s.user_id = owner
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
     order by s.last_sent_at desc
     limit 64
  loop
    v_seen := v_seen + 1;
    select line_convs || coalesce(pg_catalog.array_agg(x.conv_id), '{}'),
           line_mids || coalesce(pg_catalog.array_agg(x.mid), '{}'),
           line_sents || coalesce(pg_catalog.array_agg(x.sent), '{}'),
           lines || coalesce(pg_catalog.array_agg(x.line), '{}')
      into line_convs, line_mids, line_sents, lines
      from (
        select s.conversation_id as conv_id, l.mid, l.sent, l.line
          from messaging_private.search_segments s
         cross join lateral unnest(pg_catalog.string_to_array(s.document, E'\n'), s.message_ids, s.sent_ats,
                                   s.outbound) l(line, mid, sent, outbound)
         where s.id = v_segment
           and (s.lexemes @@ tsq_words or s.document like pattern)
           and ((person is null and on_platform is null)
                or exists (select 1 from public.chat_conversations c
                            where c.id = s.conversation_id
                              and (person is null or c.person_id = person)
                              and (on_platform is null or c.platform = on_platform)))
           and (sent_after is null or l.sent >= sent_after)
           and (sent_before is null or l.sent < sent_before)
           and (direction is null or l.outbound = (direction = 'outbound'))
           and (l.line like pattern
                or (l.line like all (words)
                    and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, l.line) @@ tsq))
         limit max_count * 5 - pg_catalog.cardinality(line_mids)
      ) x;
    exit when pg_catalog.cardinality(line_mids) >= max_count * 5;
  end loop;
  -- that many lines, or fewer than 64 segments, all read: every matching line is in hand
  complete := pg_catalog.cardinality(line_mids) >= max_count * 5 or v_seen < 64;
end;
$$;
comment on function messaging_private.search_newest_first(uuid, tsquery, tsquery, text, text[], uuid, text, timestamptz, timestamptz, text, integer) is
  'search_messages'' read of a common word: the first max_count x 5 matching lines (conversation, message id, sent_at, line side by side), newest segment first; complete: whether they are the answer.';
revoke all on function messaging_private.search_newest_first(uuid, tsquery, tsquery, text, text[], uuid, text, timestamptz, timestamptz, text, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.search_request(
  query text, max_count integer, user_id uuid,
  out owner uuid, out norm text, out tsq tsquery, out tsq_words tsquery, out words text[], out pattern text)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_role text := auth.jwt() ->> 'role';
begin
  -- long queries are cut, not refused: the first 200 characters say enough
  norm := messaging_private.search_normalize(pg_catalog.btrim(pg_catalog.left(coalesce(query, ''), 200)));
  -- ---- whose messages: the signed-in user's own, or the user service_role names ----
  if v_role is null then
    -- no JWT: a direct database session is trusted like service_role; a PostgREST
    -- session without claims never is
    v_role := case when session_user = 'authenticator' then 'anon' else 'service_role' end;
  end if;
  if v_role = 'authenticated' then
    owner := (select auth.uid());
    if owner is null then
      raise exception using errcode = '42501', message = 'search_messages: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if search_request.user_id is not null and search_request.user_id <> owner then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only search their own messages',
        hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    owner := search_request.user_id;
    if owner is null then
      raise exception using errcode = '22023',
        message = 'user_id: required (the service role must name the CRM user whose messages it searches)',
        hint = 'user_id_required';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('search_messages: role %s may not search messages', v_role),
      hint = 'role_not_allowed';
  end if;
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('search_max_hits') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('search_max_hits'), max_count),
      hint = 'max_count_out_of_range';
  end if;
  if norm = '' then
    return;
  end if;
  -- ---- what to look for ----
  tsq := pg_catalog.websearch_to_tsquery('pg_catalog.simple'::regconfig, norm);
  if pg_catalog.numnode(tsq) = 0 then
    tsq := null;  -- only punctuation: substring matching alone
  end if;
  -- the same query with phrases as plain "and": what a segment's positionless words can say
  tsq_words := pg_catalog.regexp_replace(tsq::text, '<(\d+|-)>', '&', 'g')::tsquery;
  -- every word of a plain query (no "or", no -exclusion) must occur in a matching
  -- message: a cheap substring test that spares building most messages' tsvectors
  words := '{}'::text[];
  if tsq is not null and norm !~ '(^|\s)(or(\s|$)|-\S)' then
    select coalesce(pg_catalog.array_agg('%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
             w, '\', '\\'), '%', '\%'), '_', '\_') || '%'), '{}')
      into words
      from pg_catalog.unnest(pg_catalog.tsvector_to_array(
             pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, norm))) w;
  end if;
  -- the whole query as a substring; LIKE's wildcards in it are taken literally
  pattern := '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    norm, '\', '\\'), '%', '\%'), '_', '\_') || '%';
end;
$$;
comment on function messaging_private.search_request(text, integer, uuid) is
  'search_messages'' request, checked: whose messages (owner) and what to look for (nothing when norm is empty): the full-text query (tsq; null for punctuation only), the same with phrases as "and" (tsq_words), a LIKE pattern per word every match holds (words) and the whole text''s (pattern).';
revoke all on function messaging_private.search_request(text, integer, uuid) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.spill_hot(
  conversation uuid, owner uuid, hot jsonb, hot_max integer, hot_bytes integer
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- Past the hot row's cap (or the byte budget of searchable text: the jsonb size is a cheap
-- upper bound, the lines are sized only when it is passed) the oldest messages spill into
-- the archive in bulk (into the newest chunk while it has room); returns the hot row left.
declare
  v_hot jsonb := hot;
  v_spill jsonb;
  v_n integer := pg_catalog.jsonb_array_length(hot);
  v_keep integer;
  v_newest record;
begin
  -- (hot was just built, so its size is its uncompressed jsonb size: at least the bytes of
  -- its strings)
  if not (v_n > hot_max
          or (pg_catalog.pg_column_size(v_hot) > hot_bytes
              and (select pg_catalog.sum(x) from pg_catalog.unnest(messaging_private.line_sizes(v_hot)) x) > hot_bytes))
  then
    return v_hot;
  end if;
  v_keep := least(v_n - 1, messaging_private.newest_fitting(v_hot,
    messaging_private.setting('hot_keep_messages'), messaging_private.setting('hot_keep_bytes')));
  select
    pg_catalog.jsonb_agg(h.m order by h.ord) filter (where h.ord <= v_n - v_keep),
    pg_catalog.jsonb_agg(h.m order by h.ord) filter (where h.ord > v_n - v_keep)
    into v_spill, v_hot
    from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord);
  select a.id, a.message_count, a.messages into v_newest
    from public.chat_conversation_archives a
   where a.conversation_id = conversation
   order by a.first_message_at desc, a.first_message_id collate "C" desc
   limit 1;
  if v_newest.id is not null
     and v_newest.message_count + pg_catalog.jsonb_array_length(v_spill)
         <= messaging_private.setting('archive_chunk_messages') then
    perform messaging_private.store_chunks(conversation, owner, v_newest.id, v_newest.messages || v_spill);
  else
    perform messaging_private.store_chunks(conversation, owner, null, v_spill);
  end if;
  return v_hot;
end;
$$;
comment on function messaging_private.spill_hot(uuid, uuid, jsonb, integer, integer) is
  'Ingest merge: spills the oldest messages of a hot row past its caps into the archive; returns the hot row left.';
revoke all on function messaging_private.spill_hot(uuid, uuid, jsonb, integer, integer) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.stored_copies(
  conversation uuid, hot jsonb, has_archive boolean, msgs jsonb, few integer default null
)
returns table (chunk uuid, m jsonb)
language plpgsql
stable
set search_path = ''
-- the chunks holding an id are found through the GIN index of id_hashes only:
-- array overlap as a filter compares every pair of hashes (1,000 x 1,000 per chunk read)
set enable_seqscan = off
as $$
-- The stored copies (chunk null for the hot row) of the messages msgs names by id (whole
-- messages or {id} objects) in one conversation: in its hot row (given, as the caller read
-- it) first and then, when has_archive and the hot row lacks some of them, in the archive
-- chunks whose id_hashes hold an id's hash. A few ids the hot row does not contain cost a
-- containment test each (the hot row is expanded only when one is there), and a message
-- found in the hot row costs no index probe. (Rows, not a jsonb array: building one cost
-- a re-imported 10,000-message batch a quarter more time in its dedupe.)
declare
  v_chunks uuid[];
  v_hashes bigint[];
  v_hot integer := 0;
begin
  -- (few: the setting ingest_few_messages, passed by the ingest, read here for the webhooks)
  if pg_catalog.jsonb_array_length(msgs) > coalesce(few, messaging_private.setting('ingest_few_messages'))
     or exists (select 1 from pg_catalog.jsonb_array_elements(msgs) n(m)
                 where hot @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', n.m -> 'id')))
  then
    return query
      select null::uuid, h.m
        from pg_catalog.jsonb_array_elements(hot) h(m)
       where (h.m ->> 'id') in (select n.m ->> 'id' from pg_catalog.jsonb_array_elements(msgs) n(m));
    get diagnostics v_hot = row_count;
  end if;
  if not has_archive or v_hot >= pg_catalog.jsonb_array_length(msgs) then
    return;
  end if;
  v_hashes := messaging_private.id_hashes(msgs);
  -- computed once (inside a query's condition it would be recomputed for every row), and
  -- asked of the index alone (offset 0 keeps the conversation out of the index scan)
  select pg_catalog.array_agg(h.id) into v_chunks
    from (select a.id, a.conversation_id
            from public.chat_conversation_archives a
           where a.id_hashes && v_hashes
          offset 0) h
   where h.conversation_id = conversation;
  if v_chunks is not null then
    return query
      select a.id, e.m
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
       where a.id = any (v_chunks)
         and (e.m ->> 'id') in (select n.m ->> 'id' from pg_catalog.jsonb_array_elements(msgs) n(m));
  end if;
end;
$$;
comment on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb, integer) is
  'The stored copies (chunk, m; chunk null: the hot row) of messages named by id in one conversation: the hot row first, then archive chunks found through id_hashes. Past few ids (ingest_few_messages) the hot row is read whole instead of probed per id.';
revoke all on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb, integer)
  from public, anon, authenticated, service_role;

create or replace function messaging_private.unchanged_probe(payload jsonb, owner uuid)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
-- Two index probes, so that a batch of new messages costs next to nothing in
-- ingest_unchanged: the first message's conversation exists, and the last message is not
-- newer than its own conversation's newest.
declare
  -- (#> reads one element; payload -> 'messages' would copy the whole array each time)
  v_first jsonb := payload #> '{messages,0}';
  v_last jsonb := payload #> '{messages,-1}';
begin
  return exists (
       select 1 from public.chat_conversations c
        where c.user_id = owner
          and c.platform = coalesce(v_first ->> 'platform', payload ->> 'platform')
          and c.external_conversation_id = v_first ->> 'external_conversation_id')
     and exists (
       select 1 from public.chat_conversations c
        where c.user_id = owner
          and c.platform = coalesce(v_last ->> 'platform', payload ->> 'platform')
          and c.external_conversation_id = v_last ->> 'external_conversation_id'
          and c.last_message_at >= (v_last ->> 'sent_at')::timestamptz);
end;
$$;
comment on function messaging_private.unchanged_probe(jsonb, uuid) is
  'ingest_unchanged''s cheap first test: the first message''s conversation exists and the last message is not newer than its conversation.';
revoke all on function messaging_private.unchanged_probe(jsonb, uuid) from public, anon, authenticated, service_role;

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
