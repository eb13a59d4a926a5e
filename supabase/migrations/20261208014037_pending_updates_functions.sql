-- Written by `make migration` from supabase/schemas; finish the todo lines.

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

create or replace function messaging_private.apply_pending(owner uuid, payload jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
-- The kept updates naming a message of a stored call (by id, or poll:<id> of its poll),
-- applied in the order they arrived and removed; one that still names no stored message
-- (another conversation of that id) stays kept. Returns how many were applied.
declare
  r record;
  v_done integer := 0;
begin
  for r in
    select p.id, p.update
      from messaging_private.pending_updates p
     where p.user_id = owner
       and (p.platform, p.message_id) in (
         select coalesce(e.m ->> 'platform', payload ->> 'platform'), k.key
           from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
           cross join lateral (values (e.m ->> 'id'), ('poll:' || (e.m -> 'metadata' -> 'poll' ->> 'id'))) k(key)
          where k.key is not null)
     order by p.id
       for update of p
  loop
    if messaging_private.apply_one_update(owner, r.update) <> 'missing' then
      delete from messaging_private.pending_updates p where p.id = r.id;
      v_done := v_done + 1;
    end if;
  end loop;
  return v_done;
end;
$$;
comment on function messaging_private.apply_pending(uuid, jsonb) is
  'Applies (once) and removes the kept updates naming a message of a stored call (its id, or its poll id); returns how many.';
revoke all on function messaging_private.apply_pending(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.apply_poll_update(meta jsonb, u jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- A stored message's metadata after a vote or poll update, or null when it changes nothing
-- (an older or repeated vote, an older count).
declare
  v_old jsonb;
  v_poll jsonb := coalesce(meta -> 'poll', '{}'::jsonb);
begin
  if u ->> 'kind' = 'vote' then
    v_old := meta -> 'poll_votes' -> (u ->> 'voter');
    if v_old is not null and (v_old ->> 'at')::timestamptz >= (u ->> 'at')::timestamptz then
      return null;  -- an older vote, or the same one delivered again
    end if;
    return pg_catalog.jsonb_set(meta, '{poll_votes}', coalesce(meta -> 'poll_votes', '{}'::jsonb)
      || pg_catalog.jsonb_build_object(u ->> 'voter',
           pg_catalog.jsonb_build_object('options', u -> 'options', 'at', u ->> 'at')));
  end if;
  if (v_poll ->> 'counted_at')::timestamptz > (u ->> 'at')::timestamptz then
    return null;  -- counts older than the ones stored
  end if;
  v_poll := v_poll
    || (select coalesce(pg_catalog.jsonb_object_agg(k.key, k.value), '{}'::jsonb)
          from pg_catalog.jsonb_each(u -> 'poll') k where k.key in ('options', 'total_votes'))
    || pg_catalog.jsonb_build_object('counted_at', u ->> 'at',
         'closed', coalesce((v_poll ->> 'closed')::boolean, false) or coalesce((u -> 'poll' ->> 'closed')::boolean, false));
  if v_poll - 'counted_at' = coalesce(meta -> 'poll', '{}'::jsonb) - 'counted_at' then
    return null;
  end if;
  return meta || pg_catalog.jsonb_build_object('poll', v_poll);
end;
$$;
comment on function messaging_private.apply_poll_update(jsonb, jsonb) is
  'Metadata after a vote (poll_votes[voter] = {options, at}, newest wins) or poll update (poll.options / total_votes replaced, closed kept once true, counted_at), or null when nothing changes.';
revoke all on function messaging_private.apply_poll_update(jsonb, jsonb) from public, anon, authenticated, service_role;

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
    m := m || '{"content": null}'::jsonb;
  else
    return m;
  end if;
  return m || pg_catalog.jsonb_build_object('metadata', v_meta);
end;
$$;
comment on function messaging_private.apply_update(jsonb, jsonb) is
  'One update applied to one stored message: a status that only moves up, a vote or poll count (apply_poll_update), a reaction by reactor (newest wins, null emoji = removed), or a deletion (content gone, metadata.deleted).';

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

create or replace function messaging_private.conversation_placeholders(conversation uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_conv record;
begin
  -- the caller's own conversation, or any for service_role
  select c.id, c.user_id, c.platform, c.external_conversation_id into v_conv
    from public.chat_conversations c
   where c.id = conversation
     and (c.user_id = (select auth.uid()) or (select auth.jwt() ->> 'role') = 'service_role');
  if not found then
    return '[]'::jsonb;
  end if;
  return (
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
             'id', s.id, 'direction', 'outbound', 'type', 'other', 'content', null, 'media_url', null,
             'sent_at', pg_catalog.to_char(s.first_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
             'metadata', pg_catalog.jsonb_build_object('placeholder', true, 'status', s.top ->> 'status',
                                                       'status_at', s.top ->> 'at'))
             order by s.first_at, s.id), '[]'::jsonb)
      from (select p.message_id as id, pg_catalog.min((p.update ->> 'at')::timestamptz) as first_at,
                   (pg_catalog.array_agg(p.update order by messaging_private.status_rank(p.update ->> 'status') desc,
                                         (p.update ->> 'at')::timestamptz desc))[1] as top
              from messaging_private.pending_updates p
             where p.user_id = v_conv.user_id and p.platform = v_conv.platform
               and p.update ->> 'kind' = 'status' and p.update -> 'placeholder' = 'true'::jsonb
               and p.external_conversation_id in (
                 select v_conv.external_conversation_id
                 union all
                 select a.value from public.chat_conversation_identifiers a
                  where a.conversation_id = v_conv.id and a.user_id = v_conv.user_id)
             group by p.message_id
             order by 2 desc
             limit 1000) s);
end;
$$;
comment on function messaging_private.conversation_placeholders(uuid) is
  'The placeholders of a conversation of the caller (any for service_role): one outbound message per id that only kept statuses marked placeholder: true name, with the highest status, sent_at its first status''s time, metadata.placeholder = true; the newest 1,000.';
revoke all on function messaging_private.conversation_placeholders(uuid) from public;
grant execute on function messaging_private.conversation_placeholders(uuid) to authenticated, service_role;

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
      summary := messaging_private.take_messages(pg_catalog.jsonb_build_object(
        'user_id', owner, 'connection_id', connection, 'source', 'webhook', 'messages', messages));
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
      summary := messaging_private.add_counts(summary, messaging_private.take_messages(pg_catalog.jsonb_build_object(
        'user_id', owner, 'connection_id', connection, 'source', 'webhook', 'messages', pg_catalog.jsonb_build_array(m.m))));
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
  summary := '{"applied": 0, "unchanged": 0, "missing": 0, "pending": 0}'::jsonb;
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

create or replace function messaging_private.erase_person(person uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
-- Removes the person, their identifiers and every conversation linked to them (hot rows,
-- archive chunks, search segments and read markers go with it: on delete cascade), scrubs
-- a connection's last error that names one of their identifiers, forgets the WeChat nonces
-- of those connections, and keeps one content-free row per conversation (hashes).
declare
  v_role text := coalesce(auth.jwt() ->> 'role', case when session_user = 'authenticator' then 'anon' else 'service_role' end);
  v_owner uuid;
  v_values text[];
  v_convs uuid[];
  v_messages bigint := 0;
begin
  select p.user_id into v_owner from public.people p
   where p.id = person and (v_role = 'service_role' or p.user_id = (select auth.uid()))
   for update;
  if v_owner is null or v_role not in ('authenticated', 'service_role') then
    perform messaging_private.person_not_found(person);
  end if;
  -- locked: a message ingested into them meanwhile waits, and is erased with them
  v_convs := array(select c.id from public.chat_conversations c
                    where c.person_id = person and c.user_id = v_owner order by c.id for update);
  select pg_catalog.array_agg(distinct v.value) into v_values from (
    select i.value from public.person_identifiers i where i.person_id = person
    union all select c.participant_identifier from public.chat_conversations c where c.id = any (v_convs)
    union all select c.external_conversation_id from public.chat_conversations c where c.id = any (v_convs)
    union all select p.phone from public.people p where p.id = person
    union all select p.email from public.people p where p.id = person
  ) v where pg_catalog.length(v.value) >= 3;

  with rec as (
    insert into messaging_private.erased_conversations (user_id, platform, conversation_key, participant_key, message_count)
    select v_owner, c.platform, messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, null),
           case when c.participant_identifier is not null then
             pg_catalog.sha256(pg_catalog.convert_to(v_owner::text || E'\x1f' || c.participant_identifier, 'UTF8')) end,
           c.message_count
      from public.chat_conversations c where c.id = any (v_convs)
    returning id, platform, conversation_key
  ), keys as (
    insert into messaging_private.erased_messages (user_id, message_key, erasure_id)
    select v_owner, messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, m.x ->> 'id'), r.id
      from public.chat_conversations c
      join rec r on r.conversation_key = messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, null)
      cross join lateral (
        select h.x from pg_catalog.jsonb_array_elements(c.messages) h(x)
        union all
        select e.x from public.chat_conversation_archives a, pg_catalog.jsonb_array_elements(a.messages) e(x)
         where a.conversation_id = c.id) m
     where c.id = any (v_convs)
    on conflict do nothing
    returning 1
  )
  select pg_catalog.count(*) into v_messages from keys;

  update public.messaging_connections mc set last_error = '(erased)'
   where mc.user_id = v_owner and mc.last_error is not null
     and exists (select 1 from pg_catalog.unnest(v_values) v(value)
                  where pg_catalog.strpos(mc.last_error, v.value) > 0
                     or pg_catalog.strpos(mc.last_error, pg_catalog.ltrim(v.value, '+')) > 0);
  delete from messaging_private.webhook_nonces n
   where n.connection_id in (select c.connection_id from public.chat_conversations c where c.id = any (v_convs));
  -- the updates kept for their messages (reactors, voters: 15_pending_updates.sql) go too
  delete from messaging_private.pending_updates p
   where p.user_id = v_owner
     and (p.platform, p.external_conversation_id) in (
       select c.platform, c.external_conversation_id from public.chat_conversations c where c.id = any (v_convs));
  delete from public.chat_conversations c where c.id = any (v_convs);
  -- the people merged into this one are the same customer (their row is kept by a standing
  -- merge, their identifiers and conversations were moved here): erased too
  delete from public.people p
   where p.user_id = v_owner and p.id in (select m.other_id from messaging_private.person_merges m
                                            where m.keep_id = person and m.undone_at is null);
  delete from public.people p where p.id = person;
  return pg_catalog.jsonb_build_object('person_id', person,
    'conversations', coalesce(pg_catalog.cardinality(v_convs), 0), 'messages', v_messages);
end;
$$;
comment on function messaging_private.erase_person(uuid) is
  'The privileged body of public.erase_person: the caller''s own person (service_role: any) or person_not_found.';
revoke all on function messaging_private.erase_person(uuid) from public, anon;
grant execute on function messaging_private.erase_person(uuid) to authenticated, service_role;

create or replace function messaging_private.keep_pending(owner uuid, u jsonb)
returns text
language plpgsql
set search_path = ''
as $$
-- A checked update naming no stored message kept for its message: 'pending' (also when
-- the same update is kept already), or 'missing' when the owner keeps the most allowed.
declare
  v_cap bigint := messaging_private.contract_limit('pending_updates_per_user');
begin
  delete from messaging_private.pending_updates p
   where p.user_id = owner
     and p.kept_at < pg_catalog.now() - pg_catalog.make_interval(days => messaging_private.contract_limit('pending_update_days')::integer);
  if (select pg_catalog.count(*) from (select 1 from messaging_private.pending_updates p
                                        where p.user_id = owner limit v_cap) k) >= v_cap then
    return 'missing';
  end if;
  insert into messaging_private.pending_updates (user_id, platform, external_conversation_id, message_id, update)
  values (owner, u ->> 'platform', coalesce(u ->> 'external_conversation_id', ''),
          coalesce(u ->> 'id', 'poll:' || (u ->> 'poll_id')), u)
  on conflict do nothing;
  return 'pending';
end;
$$;
comment on function messaging_private.keep_pending(uuid, jsonb) is
  'Keeps an update naming no stored message (pending_updates: once however often delivered, aged out after pending_update_days): pending, or missing past pending_updates_per_user.';
revoke all on function messaging_private.keep_pending(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.poll_target(owner uuid, u jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- An update naming a poll id only, with the conversation and id of the poll's stored
-- message; the update itself when it names its message; null when the poll is unknown.
declare
  v_at record;
begin
  if u ->> 'id' is not null or u ->> 'poll_id' is null then
    return u;
  end if;
  select p.external_conversation_id, p.message_id into v_at
    from messaging_private.poll_messages p
   where p.user_id = owner and p.platform = u ->> 'platform' and p.poll_id = u ->> 'poll_id';
  if not found then
    return null;
  end if;
  return u || pg_catalog.jsonb_build_object('external_conversation_id', v_at.external_conversation_id, 'id', v_at.message_id);
end;
$$;
comment on function messaging_private.poll_target(uuid, jsonb) is
  'A vote or poll update naming only poll_id, completed with its poll message''s conversation and id (poll_messages); null when no stored poll has that id.';
revoke all on function messaging_private.poll_target(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.poll_update_error(u jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
-- What a vote or poll update breaks, or any update naming a poll_id where it may not (null
-- when it is right).
begin
  if u ? 'poll_id' and (u ->> 'kind' not in ('vote', 'poll') or u ? 'id' or coalesce(u ->> 'poll_id', '') = '') then
    return 'poll_id: a non-empty string naming the poll instead of external_conversation_id and id (vote and poll only)';
  end if;
  if u ->> 'kind' = 'vote' then
    if coalesce(u ->> 'voter', '') = '' then
      return 'voter: required';
    end if;
    if pg_catalog.jsonb_typeof(u -> 'options') is distinct from 'array'
       or pg_catalog.jsonb_array_length(u -> 'options') > 100
       or u -> 'options' @? '$[*] ? (@.type() != "number" || @ < 0 || @ > 1000 || @.floor() != @)' then
      return 'options: required, an array of at most 100 option indexes (0-based integers; empty: the vote taken back)';
    end if;
  elsif u ->> 'kind' = 'poll' then
    if pg_catalog.jsonb_typeof(u -> 'poll') is distinct from 'object' then
      return 'poll: required, an object {options?, total_votes?, closed?}';
    end if;
    if u -> 'poll' ? 'options' and (pg_catalog.jsonb_typeof(u -> 'poll' -> 'options') <> 'array'
       or u -> 'poll' -> 'options' @? '$[*] ? (@.type() != "object" || @.text.type() != "string" || @.votes.type() != "number")') then
      return 'poll.options: must be an array of {text, votes}';
    end if;
    if u -> 'poll' ? 'total_votes' and pg_catalog.jsonb_typeof(u -> 'poll' -> 'total_votes') <> 'number' then
      return 'poll.total_votes: must be a number';
    end if;
    if u -> 'poll' ? 'closed' and pg_catalog.jsonb_typeof(u -> 'poll' -> 'closed') <> 'boolean' then
      return 'poll.closed: must be true or false';
    end if;
  end if;
  return null;
end;
$$;
comment on function messaging_private.poll_update_error(jsonb) is
  'The rule a vote update (voter, options as 0-based indexes) or poll update (poll: options with votes, total_votes, closed) breaks, or null.';
revoke all on function messaging_private.poll_update_error(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.record_polls(owner uuid, payload jsonb)
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- the first message of a poll id names it (a poll is one message)
  insert into messaging_private.poll_messages (user_id, platform, poll_id, external_conversation_id, message_id)
  -- (a message names its platform, or the payload does for all)
  select distinct on (e.platform, e.m -> 'metadata' -> 'poll' ->> 'id')
         owner, e.platform, e.m -> 'metadata' -> 'poll' ->> 'id', e.m ->> 'external_conversation_id', e.m ->> 'id'
    from (select x.m, x.ord, coalesce(x.m ->> 'platform', payload ->> 'platform') as platform
            from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality x(m, ord)) e
   where pg_catalog.jsonb_typeof(e.m -> 'metadata' -> 'poll' -> 'id') = 'string'
   order by e.platform, e.m -> 'metadata' -> 'poll' ->> 'id', e.ord
  on conflict (user_id, platform, poll_id) do nothing;
end;
$$;
comment on function messaging_private.record_polls(uuid, jsonb) is
  'Records the poll id (metadata.poll.id) of each poll message of a stored call in poll_messages, so a vote or count naming the poll id only finds it.';
revoke all on function messaging_private.record_polls(uuid, jsonb) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.take_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
-- ingest_messages, then what the stored messages complete: the poll ids of polls (only
-- when the call has one) and the updates kept for them (only when the owner keeps any).
declare
  v_answer jsonb := messaging_private.ingest_messages(payload);
  v_owner uuid;
begin
  -- ingest_messages has checked the owner: the user_id service_role names, else the caller
  v_owner := coalesce((payload ->> 'user_id')::uuid, (select auth.uid()));
  if payload @? '$.messages[*].metadata.poll.id' then
    perform messaging_private.record_polls(v_owner, payload);
  end if;
  if exists (select 1 from messaging_private.pending_updates p where p.user_id = v_owner) then
    perform messaging_private.apply_pending(v_owner, payload);
  end if;
  return v_answer;
end;
$$;
comment on function messaging_private.take_messages(jsonb) is
  'The privileged body of public.ingest_messages and of a delivery''s messages: ingest_messages, then the poll ids of its polls recorded and the updates kept for its messages applied once (pending_updates).';
revoke all on function messaging_private.take_messages(jsonb) from public;
grant execute on function messaging_private.take_messages(jsonb) to authenticated, service_role;

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
  v_upd jsonb := '{"applied": 0, "unchanged": 0, "missing": 0, "pending": 0}'::jsonb;
  v_refused jsonb[] := '{}'::jsonb[];
  v_given jsonb[] := '{}'::jsonb[];
  v_items integer := 0;
  v_failed integer;
begin
  perform messaging_private.require_service_role();
  v_conn := messaging_private.delivery_connection(payload);
  -- verified against secrets a rotation has replaced: the function reads them again and
  -- verifies once more (nothing stored, nothing counted here)
  if payload ? 'secrets_version'
     and payload ->> 'secrets_version' is distinct from messaging_private.secrets_version(v_conn.id) then
    return '{"rejected": {"kind": "stale_secrets", "reason": "the connection''s secrets were rotated"}}'::jsonb;
  end if;
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

-- (the public wrappers after the private functions their bodies name)
create or replace function public.get_conversation_placeholders(conversation_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select messaging_private.conversation_placeholders(conversation_id);
$$;
comment on function public.get_conversation_placeholders(uuid) is
  'The thread''s placeholders (docs/contract.md): outbound messages of the conversation the store has only statuses of (sent by another tool), oldest first, each {id, direction: outbound, type: other, content: null, sent_at, metadata: {placeholder: true, status, status_at}}; [] for another user''s conversation. No stored message: filled (gone from here) when the message''s copy is stored.';
revoke all on function public.get_conversation_placeholders(uuid) from public, anon;
grant execute on function public.get_conversation_placeholders(uuid) to authenticated, service_role;

create or replace function public.ingest_messages(payload jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.take_messages(payload);
$$;
comment on function public.ingest_messages(jsonb) is
  'Ingests a batch of chat messages (docs/contract.md): all-or-nothing, idempotent, returns {inserted, duplicates, updated, conversations}.';
revoke all on function public.ingest_messages(jsonb) from public, anon;
grant execute on function public.ingest_messages(jsonb) to authenticated, service_role;

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
  'service_role only (the messaging-ingest function): {connection_id, messages, updates, refused, replay_guard} of one delivery; messages as in ingest_messages, updates {kind: status|reaction|delete|vote|poll, platform, external_conversation_id, id (or poll_id for vote|poll), at, ...} applied to stored messages, or kept (pending) until the message is stored, refused: what the function itself refused ({path, kind, reason}), replay_guard: a WeChat {nonce, digest}, secrets_version: the webhook_connection secrets_version the function verified against. Each message or update the store refuses is left out (listed in refused, counted on the connection), the rest stored. Returns the ingest summary plus {updates: {applied, unchanged, missing, pending}, accepted, refused}, or {rejected: {kind: paused|replay|stale_secrets}} when nothing may be stored (stale_secrets: verified against rotated secrets).';
revoke all on function public.ingest_webhook_delivery(jsonb) from public, anon, authenticated;
grant execute on function public.ingest_webhook_delivery(jsonb) to service_role;
