-- =============================================================================
-- Webhook updates of stored messages
-- =============================================================================

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
