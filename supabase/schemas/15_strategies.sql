-- -----------------------------------------------------------------------------
-- The three strategies of the ingest over the conversations of a batch: create the new
-- ones (with their messages, when they fit), count the ones it only repeats, and the
-- per-conversation work of the parts above for the rest
-- -----------------------------------------------------------------------------

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


create or replace function messaging_private.ingest_repeats(
  owner uuid, connection uuid, groups jsonb,
  out results jsonb[], out duplicates integer, out positions bigint[]
)
language plpgsql
stable
set search_path = ''
as $$
-- The existing conversations a batch only repeats, all at once: every message already in
-- the hot row and none with a newer edited_at, no conversation field changed (a re-sent
-- batch over 10,000 conversations would otherwise cost a dedupe per conversation).
-- results, duplicates: their part of ingest_messages' answer; positions: theirs in
-- groups (1-based), which ingest_existing then skips. The caller has locked them.
begin
  with repeated as (
    select g.ord, c.id, c.platform, c.external_conversation_id, c.person_id, c.message_count,
           (g.x ->> 'batch_duplicates')::integer + pg_catalog.jsonb_array_length(g.x -> 'messages') as dups
      from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
      join public.chat_conversations c
        on c.user_id = owner
       and c.platform = g.x ->> 'platform'
       and c.external_conversation_id = g.x ->> 'external_conversation_id'
     where not (g.x -> 'fresh')::boolean
       and (coalesce(g.x ->> 'participant_identifier', c.participant_identifier),
            coalesce(g.x ->> 'participant_name', c.participant_name),
            coalesce(g.x ->> 'conversation_type', c.conversation_type),
            coalesce(connection, c.connection_id),
            coalesce((g.x ->> 'person_id')::uuid, c.person_id))
           is not distinct from
           (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id)
       and not exists (
         select 1
           from pg_catalog.jsonb_array_elements(g.x -> 'messages') n(m)
          where not (c.messages @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', n.m -> 'id')))
             or (n.m ->> 'edited_at' is not null
                 and not (c.messages @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                            'id', n.m -> 'id', 'edited_at', n.m -> 'edited_at')))
                 and exists (select 1 from pg_catalog.jsonb_array_elements(c.messages) h(m)
                              where h.m ->> 'id' = n.m ->> 'id'
                                and (h.m ->> 'edited_at' is null
                                     or (h.m ->> 'edited_at')::timestamptz < (n.m ->> 'edited_at')::timestamptz))))
  )
  select
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object(
      'id', r.id,
      'platform', r.platform,
      'external_conversation_id', r.external_conversation_id,
      'created', false,
      'inserted', 0,
      'duplicates', r.dups,
      'updated', 0,
      'matched', 0,
      'person_id', r.person_id,
      'message_count', r.message_count)), '{}'),
    coalesce(pg_catalog.sum(r.dups), 0),
    coalesce(pg_catalog.array_agg(r.ord), '{}')
    into results, duplicates, positions
    from repeated r;
end;
$$;
comment on function messaging_private.ingest_repeats(uuid, uuid, jsonb) is
  'Ingest, repeats: the existing conversations a batch only repeats (every message in the hot row, nothing newer, no field changed), counted at once without a dedupe each.';

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
