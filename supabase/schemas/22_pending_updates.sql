-- =============================================================================
-- Kept updates applied when their message is stored
--
-- Every path that stores messages (public.ingest_messages: the client, imports, the
-- function's app route; webhook deliveries, 22_webhook_delivery.sql; the history
-- webhook) goes through take_messages: the ingest, then the poll ids of the stored
-- polls, then the updates kept for these messages (15_pending_updates.sql), each applied
-- once and removed in the same transaction. For an owner who keeps none this costs one
-- indexed probe (pending_updates_kept_at_idx).
-- =============================================================================

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

-- -----------------------------------------------------------------------------
-- The public RPC: supabase.rpc("ingest_messages", {"payload": {...}})
-- -----------------------------------------------------------------------------

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

-- -----------------------------------------------------------------------------
-- Placeholders: outbound messages the store has only statuses of
-- -----------------------------------------------------------------------------
-- A status for an outbound message the store has never seen (sent by another tool through
-- the platform's API) is kept like any update; one the function marks `placeholder: true`
-- (WhatsApp's statuses: every status there is of a message the business sent, while a
-- Signal receipt of a group message names the sender's direct chat) shows in the thread as
-- a placeholder
-- ("sent from another tool", content null, sent_at the first status's time) until the
-- message's copy arrives (an echo, an export, the history backfill), which takes the
-- status and replaces the placeholder. A placeholder is no stored message: it counts in no
-- summary (message_count, unread, the inbox's preview and time) and no search.

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
