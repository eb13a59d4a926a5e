-- =============================================================================
-- Store: dedupe, merge, summary
-- =============================================================================

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
-- only by one with a newer edited_at (a missing edited_at counts as older) that is not
-- the same capped edit again (the same metadata.edited_at_given); else the message is a
-- duplicate.
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
                  or (n.m ->> 'edited_at')::timestamptz > (s.m ->> 'edited_at')::timestamptz)
             -- an edit time past the clock, capped as it arrived (ingest_groups), sent again
             and (n.m #> '{metadata,edited_at_given}' is null
                  or n.m #> '{metadata,edited_at_given}' is distinct from s.m #> '{metadata,edited_at_given}'),
             false) as newer
      from pg_catalog.jsonb_array_elements(incoming) with ordinality n(m, ord)
      left join stored s on (s.m ->> 'id') = (n.m ->> 'id')
  )
  select
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord) filter (where x.sm is null), '[]'::jsonb),
    -- (an edit keeps the export copy its message met: edit_keeps_match)
    coalesce(pg_catalog.jsonb_agg(messaging_private.edit_keeps_match(x.nm, x.sm) order by x.ord)
      filter (where x.sm is not null and x.newer and x.chunk is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', x.chunk,
        'm', messaging_private.edit_keeps_match(x.nm, x.sm)))
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

create or replace function messaging_private.ingest_summary(
  conversation uuid, hot jsonb, first_message_at timestamptz, edited boolean,
  out first_at timestamptz, out last_message jsonb
)
language plpgsql
stable
set search_path = ''
as $$
-- The conversation's oldest time and newest message after a merge. Appends only move
-- them forward (first_message_at: the older of the stored one and the oldest new one);
-- edits can move a message either way, even out of the hot row, so then the archive's
-- first and newest chunks say.
begin
  first_at := first_message_at;
  last_message := hot -> -1;
  if edited then
    select a.first_message_at into first_at
      from public.chat_conversation_archives a
     where a.conversation_id = conversation
     order by a.first_message_at, a.first_message_id collate "C"
     limit 1;
    if not found then
      first_at := (hot -> 0 ->> 'sent_at')::timestamptz;
    end if;
    if last_message is null then
      select a.messages -> -1 into last_message
        from public.chat_conversation_archives a
       where a.conversation_id = conversation
       order by a.first_message_at desc, a.first_message_id collate "C" desc
       limit 1;
    end if;
  end if;
end;
$$;
comment on function messaging_private.ingest_summary(uuid, jsonb, timestamptz, boolean) is
  'Ingest, part 7: the oldest time and the newest message of a conversation after a merge (edits included).';
