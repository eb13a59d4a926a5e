-- Written by `make migration` from supabase/schemas (session 8, issues 27 and 31: the live
-- call's speed won back; after live_path_triggers, which makes the names trigger a statement
-- trigger and gives the stamp trigger its condition). No todo lines.

create or replace function messaging_private.conversation_names_added()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- a statement trigger: the 10,000 conversations of one ingest call get their names in
  -- one insert, not a function call and an insert each
  insert into messaging_private.conversation_names (conversation_id, user_id, names)
  select a.id, a.user_id,
         messaging_private.conversation_search_text(a.participant_name, a.participant_identifier,
                                                    a.external_conversation_id)
    from added a;
  return null;
end;
$$;
comment on function messaging_private.conversation_names_added() is
  'Trigger: the new conversations'' names into conversation_names, one insert per statement (its transition table added); an ingest call that creates no conversation runs no insert and fires nothing.';
revoke all on function messaging_private.conversation_names_added() from public, anon, authenticated, service_role;

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
               coalesce(g ->> 'participant_identifier', c.participant_identifier)) end),
         change_xid = pg_catalog.pg_current_xact_id()::text::bigint  -- (32_inbox_changes.sql)
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

create or replace function messaging_private.ingest_destinations(owner uuid, payload jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- An owner who never erased anyone and has no standing merge (the usual case, and every
-- live call of such an owner) costs one statement of two index probes, not a call of each
-- step with its own probe.
declare
  v_groups jsonb := messaging_private.ingest_groups(payload);
  v_erased boolean;
  v_merged boolean;
begin
  select exists (select 1 from messaging_private.erased_messages e where e.user_id = owner),
         exists (select 1 from messaging_private.conversation_merges m
                  where m.user_id = owner and m.undone_at is null)
    into v_erased, v_merged;
  if v_erased then
    v_groups := messaging_private.ingest_drop_erased(owner, v_groups);
  end if;
  if v_merged then
    v_groups := messaging_private.ingest_route_merged(owner, v_groups);
  end if;
  if payload @? '$.messages[*].participant_ids' then
    v_groups := messaging_private.ingest_route(owner, v_groups);
  end if;
  return v_groups;
end;
$$;
comment on function messaging_private.ingest_destinations(uuid, jsonb) is
  'ingest_messages: the batch grouped by conversation (ingest_groups), without erased messages, merged-away keys pointed at their keep and ids routed to their customer''s conversation; an owner with no erasure and no standing merge costs one statement of two index probes.';
revoke all on function messaging_private.ingest_destinations(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_new_conversations(
  owner uuid, connection uuid, groups jsonb, hot_max integer, hot_bytes integer,
  out marked_groups jsonb, out results jsonb[], out index jsonb[], out inserted integer,
  out duplicates integer, out existing integer
)
language plpgsql
set search_path = ''
as $$
-- Creates the conversations of groups (from ingest_groups) that do not exist yet, all in
-- one insert. marked_groups: the groups, each with created (this call made its
-- conversation) and fresh (and stored its messages: nothing more to do for it); results,
-- index, inserted, duplicates: what the fresh ones give ingest_messages' answer and the
-- search index; existing: how many groups are left for the other strategies. hot_max / hot_bytes: the
-- hot row's caps, read once by the caller.
begin
  -- A group whose messages fit the hot row (sorted and unique already; the jsonb size
  -- bounds the searchable text, as in ingest_merge) is created with them in the same
  -- insert: it needs no dedupe, merge or spill. A statement per conversation would cost
  -- seconds on 10,000 new conversations.
  with src as (
    select g.ord, g.x,
           pg_catalog.jsonb_array_length(g.x -> 'messages') <= hot_max
             and pg_catalog.pg_column_size(g.x -> 'messages') <= hot_bytes as fits
      from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
  ),
  ins as (
    insert into public.chat_conversations (
      user_id, platform, external_conversation_id, connection_id, conversation_type,
      participant_identifier, participant_name, person_id,
      messages, message_count, first_message_at, last_message_at, last_message_preview, change_xid)
    select owner, x ->> 'platform', x ->> 'external_conversation_id', connection,
      coalesce(x ->> 'conversation_type', 'direct'),
      x ->> 'participant_identifier', x ->> 'participant_name',
      coalesce((x ->> 'person_id')::uuid,
               case when x ->> 'participant_identifier' is not null then
                 messaging_private.match_person(owner, x ->> 'platform', x ->> 'participant_identifier') end),
      case when fits then x -> 'messages' else '[]'::jsonb end,
      case when fits then pg_catalog.jsonb_array_length(x -> 'messages') else 0 end,
      case when fits then (x -> 'messages' -> 0 ->> 'sent_at')::timestamptz end,
      case when fits then (x -> 'messages' -> -1 ->> 'sent_at')::timestamptz end,
      case when fits then messaging_private.preview(x -> 'messages' -> -1) end,
      pg_catalog.pg_current_xact_id()::text::bigint  -- (the live inbox's stamp, 32_inbox_changes.sql)
    from src
    order by x ->> 'platform', x ->> 'external_conversation_id'
    on conflict (user_id, platform, external_conversation_id) do nothing
    returning id, platform, external_conversation_id, person_id, message_count
  ),
  marked as (
    -- each group learns whether this call created its conversation, and stored it
    -- (one join, not a search of a list per conversation)
    select src.ord, src.x, ins.id, ins.person_id, ins.message_count,
           ins.id is not null as created, ins.id is not null and src.fits as fresh
      from src
      left join ins on ins.platform = src.x ->> 'platform'
                   and ins.external_conversation_id = src.x ->> 'external_conversation_id'
  )
  select
    pg_catalog.jsonb_agg(m.x || pg_catalog.jsonb_build_object('created', m.created, 'fresh', m.fresh)
      order by m.ord),
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object(
      'id', m.id,
      'platform', m.x ->> 'platform',
      'external_conversation_id', m.x ->> 'external_conversation_id',
      'created', true,
      'inserted', m.message_count,
      'duplicates', (m.x ->> 'batch_duplicates')::integer,
      'updated', 0,
      'matched', 0,
      'person_id', m.person_id,
      'message_count', m.message_count)) filter (where m.fresh), '{}'),
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object('conversation', m.id, 'messages', m.x -> 'messages'))
      filter (where m.fresh), '{}'),
    coalesce(pg_catalog.sum(m.message_count) filter (where m.fresh), 0),
    coalesce(pg_catalog.sum((m.x ->> 'batch_duplicates')::integer) filter (where m.fresh), 0),
    pg_catalog.count(*) filter (where not m.fresh)
    into marked_groups, results, index, inserted, duplicates, existing
    from marked m;
end;
$$;
comment on function messaging_private.ingest_new_conversations(uuid, uuid, jsonb, integer, integer) is
  'Ingest, new conversations: creates the missing conversations of a batch in one insert, with their messages where they fit the hot row; marks each group created / fresh.';

create or replace function messaging_private.merge_batch_segments(owner uuid, batches jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- index_batches' last step: merges the small segments of each conversation of batches
-- ([{conversation, ...}]) that has 16 of them into sealed ones (merge_segments).
declare
  v_conversation uuid;
  v_probe_max integer;
begin
  -- One conversation (a live call): its open segments counted in one simple query (the
  -- general query below was planned again on every call, 0.1 ms of a one-message call).
  if pg_catalog.jsonb_array_length(batches) = 1 then
    v_conversation := (batches -> 0 ->> 'conversation')::uuid;
    if (select pg_catalog.count(*) from messaging_private.search_segments s
         where s.conversation_id = v_conversation and not s.sealed) >= 16 then
      perform messaging_private.merge_segments(v_conversation, owner);
    end if;
    return;
  end if;
  v_probe_max := messaging_private.setting('index_probe_max_conversations');
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

create or replace function messaging_private.record_coverage(
  owner uuid, connection uuid, payload jsonb, results jsonb[]
)
returns void
language plpgsql
set search_path = ''
as $$
-- Called once by ingest_messages when a call is stored: for each conversation of its answer
-- (results), one upsert of the call's source (payload source, source_name, source_phase;
-- app when left out) with the span of the conversation's message times in the payload and
-- the answer's counts. The conversations are locked already (by the ingest), so the rows
-- are written in their order without waiting on one another. An edit of an older message
-- (with edited_at) does not stretch the span back when the call brought other messages.
-- One conversation whose source has its row (a live call): one update in place.
declare
  v_one jsonb := results[1];
  v_first timestamptz;
  v_last timestamptz;
  v_m jsonb;
begin
  if pg_catalog.cardinality(results) = 0 then
    return;
  end if;
  if pg_catalog.cardinality(results) = 1 and v_one ->> 'id' is not null then
    if pg_catalog.jsonb_array_length(payload -> 'messages') = 1 then
      v_m := payload -> 'messages' -> 0;  -- one message (live): its time is the span
      if coalesce(v_m ->> 'platform', payload ->> 'platform') = v_one ->> 'platform'
         and v_m ->> 'external_conversation_id' = v_one ->> 'external_conversation_id' then
        v_first := (v_m ->> 'sent_at')::timestamptz;
        v_last := v_first;
      end if;
    else
      select coalesce(pg_catalog.min((e.m ->> 'sent_at')::timestamptz) filter (where e.m -> 'edited_at' is null),
                      pg_catalog.min((e.m ->> 'sent_at')::timestamptz)),
             pg_catalog.max((e.m ->> 'sent_at')::timestamptz)
        into v_first, v_last
        from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
       where coalesce(e.m ->> 'platform', payload ->> 'platform') = v_one ->> 'platform'
         and e.m ->> 'external_conversation_id' = v_one ->> 'external_conversation_id';
    end if;
    if v_last is null then
      return;  -- none of the payload's messages name it (as the upsert's join below)
    end if;
    update public.chat_conversation_sources s
       set first_message_at = least(s.first_message_at, v_first),
           last_message_at = greatest(s.last_message_at, v_last),
           inserted = s.inserted + coalesce((v_one ->> 'inserted')::bigint, 0),
           duplicates = s.duplicates + coalesce((v_one ->> 'duplicates')::bigint, 0),
           updated = s.updated + coalesce((v_one ->> 'updated')::bigint, 0),
           matched = case when coalesce((v_one ->> 'inserted')::bigint, 0) = 0
                          then greatest(s.matched, coalesce((v_one ->> 'matched')::bigint, 0))
                          else s.matched + coalesce((v_one ->> 'matched')::bigint, 0) end,
           batches = s.batches + 1,
           connection_id = coalesce(connection, s.connection_id),
           last_seen_at = pg_catalog.now()
     where s.conversation_id = (v_one ->> 'id')::uuid
       and s.kind = coalesce(payload ->> 'source', 'app')
       and s.name = coalesce(payload ->> 'source_name', '')
       and s.phase = coalesce(payload ->> 'source_phase', '');
    if found then
      return;
    end if;
  end if;
  insert into public.chat_conversation_sources as s (
    user_id, conversation_id, kind, name, phase, connection_id, first_message_at, last_message_at,
    inserted, duplicates, updated, matched)
  select owner, (r.x ->> 'id')::uuid,
         coalesce(payload ->> 'source', 'app'), coalesce(payload ->> 'source_name', ''),
         coalesce(payload ->> 'source_phase', ''), connection,
         sp.first_at, sp.last_at,
         coalesce((r.x ->> 'inserted')::bigint, 0), coalesce((r.x ->> 'duplicates')::bigint, 0),
         coalesce((r.x ->> 'updated')::bigint, 0), coalesce((r.x ->> 'matched')::bigint, 0)
    from pg_catalog.unnest(results) r(x)
    join (select coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
                 e.m ->> 'external_conversation_id' as ext_id,
                 coalesce(pg_catalog.min((e.m ->> 'sent_at')::timestamptz) filter (where e.m -> 'edited_at' is null),
                          pg_catalog.min((e.m ->> 'sent_at')::timestamptz)) as first_at,
                 pg_catalog.max((e.m ->> 'sent_at')::timestamptz) as last_at
            from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
           group by 1, 2) sp
      on sp.platform = r.x ->> 'platform' and sp.ext_id = r.x ->> 'external_conversation_id'
   where r.x ->> 'id' is not null
   order by 2
  on conflict on constraint chat_conversation_sources_source_unique do update
    set first_message_at = least(s.first_message_at, excluded.first_message_at),
        last_message_at = greatest(s.last_message_at, excluded.last_message_at),
        inserted = s.inserted + excluded.inserted,
        duplicates = s.duplicates + excluded.duplicates,
        updated = s.updated + excluded.updated,
        -- a call that stores nothing new and reports matched copies again (a re-import of
        -- an export whose copies met live ones) counts them once, not once more
        matched = case when excluded.inserted = 0 then greatest(s.matched, excluded.matched)
                       else s.matched + excluded.matched end,
        batches = s.batches + 1,
        connection_id = coalesce(excluded.connection_id, s.connection_id),
        last_seen_at = pg_catalog.now();
end;
$$;
comment on function messaging_private.record_coverage(uuid, uuid, jsonb, jsonb[]) is
  'Ingest, last step: one upsert per conversation of the call into chat_conversation_sources (the payload''s source, its span of message times, the answer''s counts); a call into one conversation whose source is recorded updates its row in place.';
revoke all on function messaging_private.record_coverage(uuid, uuid, jsonb, jsonb[]) from public, anon, authenticated, service_role;
