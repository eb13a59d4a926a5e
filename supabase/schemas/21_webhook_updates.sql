-- =============================================================================
-- Webhook updates of stored messages
--
-- Statuses, reactions, votes and deletions applied to stored messages, and what an
-- edit keeps of the stored copy. The pieces a delivery uses to store each item alone
-- are in 21_delivery_items.sql.
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
  -- the contract's order (delivery_statuses): failed above sent, below delivered, read and
  -- played (a later one proves the message arrived after all)
  return coalesce((select d.rank from messaging_private.delivery_statuses d where d.status = status_rank.status), 0);
end;
$$;
comment on function messaging_private.status_rank(text) is
  'Rank of a delivery status in messaging_private.delivery_statuses (sent < failed < delivered < read < played), 0 for none; a status only ever moves up.';

create or replace function messaging_private.apply_update(m jsonb, u jsonb, owner uuid default null)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored message m after the update u, or m itself when u changes nothing. owner: the
-- user whose message it is, for a delete (whether they keep the text: keeps_deleted_text;
-- null: erased).
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
  elsif u ->> 'kind' in ('vote', 'poll') then
    v_meta := coalesce(messaging_private.apply_poll_update(v_meta, u), v_meta);  -- 20_poll_updates.sql
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
    if not messaging_private.keeps_deleted_text(owner) then
      -- erased (the default): the text and its earlier versions go, the marker stays
      m := m || '{"content": null}'::jsonb;
      v_meta := v_meta - 'versions' - 'versions_dropped';
    end if;
  else
    return m;
  end if;
  return m || pg_catalog.jsonb_build_object('metadata', v_meta);
end;
$$;
comment on function messaging_private.apply_update(jsonb, jsonb, uuid) is
  'One update applied to one stored message: a status that only moves up, a vote or poll count (apply_poll_update), a reaction by reactor (newest wins, null emoji = removed), or a deletion (metadata.deleted, deleted_at; the content and metadata.versions erased unless the owner keeps deleted text).';

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
        when coalesce(x.u ->> 'external_conversation_id', '') = '' and not x.u ? 'poll_id' then 'external_conversation_id: required'
        when coalesce(x.u ->> 'id', '') = '' and not x.u ? 'poll_id' then 'id: required (the message updated)'
        when x.u ->> 'at' is null
          or x.u ->> 'at' !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$'
          then 'at: required, an ISO 8601 timestamp with an offset'
        when x.u ->> 'kind' = 'status' and messaging_private.status_rank(x.u ->> 'status') = 0
          then 'status: must be one of '
            || (select pg_catalog.string_agg(d.status, ', ' order by d.rank) from messaging_private.delivery_statuses d)
        when x.u ->> 'kind' = 'reaction' and coalesce(x.u ->> 'reactor', '') = '' then 'reactor: required'
        when x.u ->> 'kind' = 'reaction' and pg_catalog.jsonb_typeof(x.u -> 'emoji') not in ('string', 'null')
          then 'emoji: must be a string or null (removed)'
        when messaging_private.poll_update_error(x.u) is not null then messaging_private.poll_update_error(x.u)
        when not (x.u ->> 'kind' = any (array['status', 'reaction', 'delete', 'vote', 'poll'])) or x.u ->> 'kind' is null
          then 'kind: must be one of status, reaction, delete, vote, poll'
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

create or replace function messaging_private.apply_one_update(owner uuid, u jsonb)
returns text
language plpgsql
set search_path = ''
as $$
-- What one checked update did: applied, unchanged, or missing (no such conversation or
-- message: an update never creates a message; apply_message_updates keeps it pending).
declare
  v_conv public.chat_conversations%rowtype;
  v_chunk record;
  v_copy_chunk uuid;
  v_new jsonb;
begin
  u := messaging_private.poll_target(owner, u);  -- a poll id named alone: its message
  if u is null then
    return 'missing';
  end if;
  select * into v_conv
    from public.chat_conversations c
   where c.user_id = owner
     and c.platform = u ->> 'platform'
     and c.external_conversation_id = u ->> 'external_conversation_id'
     for update;
  if not found then
    -- the conversation an alias names (a status keyed by the user id of a customer whose
    -- conversation is keyed by the phone: 09_identity_aliases.sql)
    select c.* into v_conv
      from public.chat_conversation_identifiers a
      join public.chat_conversations c on c.id = a.conversation_id
     where a.user_id = owner and a.platform = u ->> 'platform'
       and a.kind = any (array['phone', 'whatsapp_user_id', 'whatsapp_parent_user_id', 'signal_aci', 'signal_pni'])
       and a.value = u ->> 'external_conversation_id'
     order by a.first_seen_at, a.id
     limit 1
       for update of c;
  end if;
  if not found then
    return 'missing';
  end if;
  if pg_catalog.jsonb_typeof(u -> 'participant_ids') = 'object' and v_conv.conversation_type = 'direct' then
    -- a status carrying the customer's phone and user id makes them known together
    perform messaging_private.ingest_identities(owner, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'platform', v_conv.platform, 'external_conversation_id', v_conv.external_conversation_id,
      'messages', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('sent_at', u ->> 'at', 'type', 'status')),
      'participant_ids', messaging_private.participant_ids_of(pg_catalog.jsonb_build_array(
        (select pg_catalog.jsonb_object_agg(p.key, p.value) from pg_catalog.jsonb_each(u -> 'participant_ids') p
          where p.key in ('phone', 'username', 'whatsapp_user_id', 'whatsapp_parent_user_id')))))));
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
             case when h.m ->> 'id' = u ->> 'id' then messaging_private.apply_update(h.m, u, owner) else h.m end
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
           case when e.m ->> 'id' = u ->> 'id' then messaging_private.apply_update(e.m, u, owner) else e.m end
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

create or replace function messaging_private.apply_message_updates(owner uuid, updates jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  u record;
  v_counts jsonb := '{"applied": 0, "unchanged": 0, "missing": 0, "pending": 0}'::jsonb;
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
    if v_did = 'missing' then
      v_did := messaging_private.keep_pending(owner, u.u);  -- applied when its message is stored
    end if;
    v_counts := pg_catalog.jsonb_set(v_counts, array[v_did], pg_catalog.to_jsonb((v_counts ->> v_did)::integer + 1));
  end loop;
  return v_counts;
end;
$$;
comment on function messaging_private.apply_message_updates(uuid, jsonb) is
  'Applies status / reaction / vote / poll / delete updates to stored messages of one user (hot row or archive); an update naming no stored message creates nothing: it is kept for its message (pending, 15_pending_updates.sql) or, past the cap, counted missing.';
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

create or replace function messaging_private.edits_keep_stored(owner uuid, platform text, messages jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- An edit replaces the stored message whole: it keeps the stored sent_at (an edit never
-- moves a message), what the platform recorded on it since (delivery status,
-- reactions), so an edit does not undo them, and the export copy it met (matched; the
-- ingest keeps that on every edit path too, edit_keeps_match). platform: the delivery's, for messages
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
         where kv.key in ('status', 'status_at', 'status_error', 'reactions', 'matched')
      ) k on s.m is not null);
end;
$$;
comment on function messaging_private.edits_keep_stored(uuid, text, jsonb) is
  'The messages of a delivery with each edit of a stored message keeping its stored sent_at, status, reactions and matched export copy (unchanged when none is an edit).';
revoke all on function messaging_private.edits_keep_stored(uuid, text, jsonb) from public, anon, authenticated, service_role;
