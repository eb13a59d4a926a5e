-- Session 9's three branches meet: a delete honours the owner's delete setting and a
-- vote or poll update applies (apply_update with its owner), and a delivery's messages
-- (webhook or history) go through take_messages, which applies kept updates. The two
-- older signatures the branches' own migrations left behind are dropped.

drop function if exists messaging_private.apply_update(jsonb,jsonb);

drop function if exists messaging_private.deliver_messages(uuid,uuid,jsonb);

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
  'service_role only (the messaging-ingest function): {connection_id, messages, updates, refused, replay_guard, history_messages, history_phase, connection_state} of one delivery; messages as in ingest_messages, history_messages likewise but stored as history (coverage source history with history_phase, and read already: the owner''s read marker moves past them), connection_state {unknown_kinds, history, business, contacts}: what the delivery says of the connection (21_connection_state.sql), updates {kind: status|reaction|delete|vote|poll, platform, external_conversation_id, id (or poll_id for vote|poll), at, ...} applied to stored messages, or kept (pending) until the message is stored, refused: what the function itself refused ({path, kind, reason}), replay_guard: a WeChat {nonce, digest}, secrets_version: the webhook_connection secrets_version the function verified against. Each message or update the store refuses is left out (listed in refused, counted on the connection), the rest stored. Returns the ingest summary plus {updates: {applied, unchanged, missing, pending}, accepted, refused}, or {rejected: {kind: paused|replay|stale_secrets}} when nothing may be stored (stale_secrets: verified against rotated secrets).';
revoke all on function public.ingest_webhook_delivery(jsonb) from public, anon, authenticated;
grant execute on function public.ingest_webhook_delivery(jsonb) to service_role;

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

create or replace function messaging_private.deliver_messages(
  owner uuid, connection uuid, messages jsonb, source text, phase text, out summary jsonb, out refused jsonb[])
language plpgsql
set search_path = ''
as $$
declare
  m record;
  v_state text;
  v_text text;
  -- where the messages come from (coverage): webhook, or history with its phase
  v_from jsonb := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
    'user_id', owner, 'connection_id', connection, 'source', source, 'source_phase', phase));
begin
  summary := '{"inserted": 0, "duplicates": 0, "updated": 0, "matched": 0, "conversations": []}'::jsonb;
  refused := '{}'::jsonb[];
  -- all at once (the common case: every message valid), else each message on its own
  if pg_catalog.jsonb_array_length(messages) > 1 then
    begin
      summary := messaging_private.take_messages(v_from || pg_catalog.jsonb_build_object('messages', messages));
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
      summary := messaging_private.add_counts(summary, messaging_private.take_messages(
        v_from || pg_catalog.jsonb_build_object('messages', pg_catalog.jsonb_build_array(m.m))));
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
comment on function messaging_private.deliver_messages(uuid, uuid, jsonb, text, text) is
  'The messages of a delivery stored through ingest_messages (source webhook, or history with the backfill''s phase), all at once or else each alone: the ingest summary and the messages refused for good (a retryable error fails the delivery).';
revoke all on function messaging_private.deliver_messages(uuid, uuid, jsonb, text, text) from public, anon, authenticated, service_role;

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
      messaging_private.edits_keep_stored(v_conn.user_id, payload ->> 'platform', payload -> 'messages'), 'webhook', null);
    v_result := v_part.summary;
    v_refused := v_part.refused;
  end if;
  -- WhatsApp's history backfill: stored as history (coverage source history, its phase),
  -- and read already (history_read): it adds to the conversation, marks nothing unread
  if pg_catalog.jsonb_typeof(payload -> 'history_messages') = 'array'
     and pg_catalog.jsonb_array_length(payload -> 'history_messages') > 0 then
    v_items := v_items + pg_catalog.jsonb_array_length(payload -> 'history_messages');
    v_part := messaging_private.deliver_messages(v_conn.user_id, v_conn.id,
      messaging_private.edits_keep_stored(v_conn.user_id, payload ->> 'platform', payload -> 'history_messages'),
      'history', pg_catalog.left(payload ->> 'history_phase', 64));
    perform messaging_private.history_read(v_conn.user_id, payload -> 'history_messages', v_part.summary -> 'conversations');
    v_result := messaging_private.add_counts(v_result, v_part.summary);
    v_refused := v_refused || v_part.refused;
  end if;
  -- what the delivery says of the connection itself (21_connection_state.sql)
  if payload ? 'connection_state' then
    perform messaging_private.record_connection_state(v_conn, payload -> 'connection_state');
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
