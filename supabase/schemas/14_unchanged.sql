-- =============================================================================
-- An unchanged batch: answered without a write
-- =============================================================================

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

-- A valid batch that changes nothing (an export sent again), proved on the payload as it
-- came, before any stored object is built: every conversation exists and keeps its fields,
-- and every message id is stored, in the hot row or in an archive chunk whose time range
-- holds its sent_at, with an edited_at at least as new as the one sent (none sent counts as
-- oldest). Then the answer (every message a duplicate) comes from the rows, and nothing is
-- written or locked; it is the answer of the usual way as of the statement's snapshot.
-- Anything not proved (an id stored elsewhere, a newer edit, a new message, a field) gives
-- null, and ingest_messages goes the usual way (groups, dedupe, merge).
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
