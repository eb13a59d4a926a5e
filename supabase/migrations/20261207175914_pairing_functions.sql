-- Written by `make migration` from supabase/schemas; finish the todo lines.

create or replace function messaging_private.edit_keeps_match(edit jsonb, stored jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- The new version of an edited message, keeping the record of the export copy the stored
-- version met (metadata.matched): an edit changes what the message says, not which export
-- copy it is, so a re-import of that export copy stays a duplicate. The stored record wins
-- over one the new version brings.
begin
  if stored #> '{metadata,matched}' is null then
    return edit;
  end if;
  return edit || pg_catalog.jsonb_build_object('metadata',
    case when pg_catalog.jsonb_typeof(edit -> 'metadata') = 'object' then edit -> 'metadata' else '{}'::jsonb end
    || pg_catalog.jsonb_build_object('matched', stored #> '{metadata,matched}'));
end;
$$;
comment on function messaging_private.edit_keeps_match(jsonb, jsonb) is
  'The new version of an edited message with the stored version''s metadata.matched (the export copy it met), so every edit path keeps the pairing.';
revoke all on function messaging_private.edit_keeps_match(jsonb, jsonb)
  from public, anon, authenticated, service_role;

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

create or replace function messaging_private.ingest_groups(payload jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The messages of a valid payload as stored objects, grouped by conversation (sorted by
-- platform, id), repeats inside the batch collapsed (the newest edited_at wins) and
-- counted, with the conversation fields the newest message gives. An edited_at more than
-- the contract's edit_future_seconds past the database's clock is stored as the time the
-- edit arrived (not before sent_at), the time given kept in metadata.edited_at_given: a
-- clock ahead must not make one version win over every real later edit. (One statement,
-- but plpgsql: its plan is kept for the session instead of planned again on every call.)
begin
  return (
    with src as (
      select
        e.ord,
        coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
        e.m ->> 'external_conversation_id' as ext_id,
        e.m ->> 'id' as msg_id,
        (e.m ->> 'sent_at')::timestamptz as sent_at,
        (e.m ->> 'edited_at')::timestamptz as edited_at,
        e.m
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    ranked as (
      select s.*,
        pg_catalog.row_number() over (
          partition by s.platform, s.ext_id, s.msg_id
          order by s.edited_at desc nulls last, s.ord desc) as rn
      from src s
    ),
    capped as (
      -- (the limit is read only when a message has an edit time: an initplan runs when used)
      select r.*,
        case when r.edited_at is null then null
             when r.edited_at > pg_catalog.now() + pg_catalog.make_interval(secs =>
                    (select l.value from messaging_private.contract_limits l where l.name = 'edit_future_seconds'))
             then greatest(pg_catalog.now(), r.sent_at) else r.edited_at end as stored_edit
      from ranked r
    ),
    stored as (
      select r.*,
        pg_catalog.jsonb_build_object(
          'id', r.msg_id,
          'direction', r.m ->> 'direction',
          'type', coalesce(r.m ->> 'type', 'text'),
          'content', r.m ->> 'content',
          'media_url', r.m ->> 'media_url',
          -- ISO 8601 UTC, the fraction only when there is one: 2026-02-01T10:30:00Z
          'sent_at', (pg_catalog.to_jsonb(r.sent_at at time zone 'UTC') #>> '{}') || 'Z')
        || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
          'sender_identifier', r.m ->> 'sender_identifier',
          'sender_name', r.m ->> 'sender_name',
          'reply_to_id', r.m ->> 'reply_to_id',
          'edited_at', (pg_catalog.to_jsonb(r.stored_edit at time zone 'UTC') #>> '{}') || 'Z',
          'metadata', case when r.stored_edit is distinct from r.edited_at
                           then coalesce(case when r.m -> 'metadata' <> 'null'::jsonb then r.m -> 'metadata' end,
                                         '{}'::jsonb)
                                || pg_catalog.jsonb_build_object('edited_at_given', r.m -> 'edited_at')
                           when r.m -> 'metadata' <> 'null'::jsonb then r.m -> 'metadata' end)) as obj
      from capped r
    ),
    grouped as (
      select
        s.platform, s.ext_id,
        pg_catalog.count(*) filter (where s.rn > 1) as batch_dups,
        pg_catalog.jsonb_agg(s.obj order by s.sent_at, s.msg_id collate "C") filter (where s.rn = 1) as msgs,
        (pg_catalog.array_agg(s.m ->> 'participant_identifier' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'participant_identifier' is not null))[1] as participant_identifier,
        (pg_catalog.array_agg(s.m ->> 'participant_name' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'participant_name' is not null))[1] as participant_name,
        (pg_catalog.array_agg(s.m ->> 'conversation_type' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'conversation_type' is not null))[1] as conversation_type,
        (pg_catalog.array_agg(s.m ->> 'person_id' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'person_id' is not null))[1] as person_id
      from stored s
      group by s.platform, s.ext_id
    )
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'platform', gr.platform,
        'external_conversation_id', gr.ext_id,
        'batch_duplicates', gr.batch_dups,
        'messages', gr.msgs,
        'participant_identifier', messaging_private.normalize_identifier('any', gr.participant_identifier),
        'participant_name', gr.participant_name,
        'conversation_type', gr.conversation_type,
        'person_id', gr.person_id)
      order by gr.platform, gr.ext_id), '[]'::jsonb)
    from grouped gr
  );
end;
$$;
comment on function messaging_private.ingest_groups(jsonb) is
  'Ingest, part 3: a valid payload''s messages as stored objects grouped by conversation, repeats collapsed (newest edited_at wins) and counted; an edited_at past edit_future_seconds stored as the time it arrived (metadata.edited_at_given: the time given).';

create or replace function messaging_private.match_again(incoming jsonb, stored jsonb)
returns table (i integer, s integer)
language plpgsql
immutable
set search_path = ''
as $$
-- The pairs made before, met again (a re-import): each incoming export copy whose id a
-- stored platform copy records as the export copy it met (metadata.matched.id), as 0-based
-- positions in incoming and stored ({chunk, m}), one to one. Found by id alone: the
-- platform copy may have been edited since, its words no longer the export's.
#variable_conflict use_column
begin
  return query
    select pg_catalog.min(p.i), p.s
      from (select distinct on (x.ord) (x.ord - 1)::integer as i, (y.ord - 1)::integer as s
              from pg_catalog.jsonb_array_elements(incoming) with ordinality x(m, ord)
              join pg_catalog.jsonb_array_elements(stored) with ordinality y(v, ord)
                on (y.v #>> '{m,metadata,matched,id}') = (x.m ->> 'id')
             where x.m #>> '{metadata,id_source}' = 'export'
               and y.v #>> '{m,metadata,id_source}' is distinct from 'export'
             order by x.ord, y.ord) p
     group by p.s;
end;
$$;
comment on function messaging_private.match_again(jsonb, jsonb) is
  'Export/live matching: the pairs [i, s] of incoming export copies and the stored platform copies that met them before (metadata.matched.id), one to one, words aside.';
revoke all on function messaging_private.match_again(jsonb, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.match_pairs(incoming jsonb, stored jsonb, direct boolean)
returns jsonb
language plpgsql
stable  -- (text to timestamptz)
set search_path = ''
as $$
-- (the rule: in the comment above)
declare
  v_pair record;
  v_taken_i boolean[] := '{}'::boolean[];  -- by position (an expanded array: O(1) a look-up)
  v_taken_s boolean[] := '{}'::boolean[];
  v_out jsonb[] := '{}'::jsonb[];
begin
  -- re-imports: an incoming export copy whose id a stored platform copy records as met
  for v_pair in select a.i, a.s from messaging_private.match_again(incoming, stored) a loop
    v_taken_i[v_pair.i] := true;
    v_taken_s[v_pair.s] := true;
    v_out := v_out || pg_catalog.jsonb_build_object('i', v_pair.i, 's', v_pair.s);
  end loop;
  for v_pair in
    -- joined on (text, minute): an export copy's precision is a minute or a second, so
    -- the two copies always share their UTC minute; the rest is checked per pair. Where
    -- one minute repeats one text very often (over 64 copies on a side: every pair would
    -- be tried), the k-th copy is tried only against the k-th of the other side: a pair
    -- missed that way leaves both copies stored, never one dropped.
    with n0 as (
      select (x.ord - 1)::integer as i, x.m, coalesce(x.m #>> '{metadata,id_source}' = 'export', false) as export,
             pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(x.m ->> 'content', '')), '\s+', ' ', 'g') as words,
             pg_catalog.date_trunc('minute', (x.m ->> 'sent_at')::timestamptz, 'UTC') as minute
        from pg_catalog.jsonb_array_elements(incoming) with ordinality x(m, ord)
    ),
    n as (
      select n0.*, pg_catalog.count(*) over w as copies, pg_catalog.row_number() over (w order by n0.i) as k
        from n0 window w as (partition by n0.words, n0.minute, n0.export)
    ),
    s0 as (
      select (x.ord - 1)::integer as s, x.v -> 'm' as m,
             coalesce(x.v #>> '{m,metadata,id_source}' = 'export', false) as export,
             pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(x.v #>> '{m,content}', '')), '\s+', ' ', 'g') as words,
             pg_catalog.date_trunc('minute', (x.v #>> '{m,sent_at}')::timestamptz, 'UTC') as minute
        from pg_catalog.jsonb_array_elements(stored) with ordinality x(v, ord)
       -- a platform copy that met an export copy before is not met again by another one
       where x.v #> '{m,metadata,matched}' is null or x.v #>> '{m,metadata,id_source}' = 'export'
    ),
    s as (
      select s0.*, pg_catalog.count(*) over w as copies, pg_catalog.row_number() over (w order by s0.s) as k
        from s0 window w as (partition by s0.words, s0.minute, s0.export)
    ),
    joined as (
      select n.i, s.s, n.export, n.m as nm, s.m as sm
        from n join s on n.words = s.words and n.minute = s.minute and n.export <> s.export
       where n.copies <= 64 and s.copies <= 64
      union all
      select n.i, s.s, n.export, n.m, s.m
        from n join s on n.words = s.words and n.minute = s.minute and n.k = s.k and n.export <> s.export
       where n.copies > 64 or s.copies > 64
    ),
    pairs as (
      select j.i, j.s, j.nm, j.sm,
             case when j.export then j.nm else j.sm end as e,   -- the export copy
             case when j.export then j.sm else j.nm end as l    -- the platform copy
        from joined j
    )
    select p.i, p.s
      from pairs p
     where (p.e ->> 'type' = p.l ->> 'type'
            or (p.e ->> 'type' = 'other' and p.e #>> '{metadata,media_omitted}' = 'true'
                and p.l ->> 'type' in ('image', 'video', 'audio', 'voice', 'document', 'sticker')))
       and pg_catalog.date_trunc(
             case when p.e #>> '{metadata,time_precision}' = 'minute' then 'minute' else 'second' end,
             (p.e ->> 'sent_at')::timestamptz, 'UTC')
         = pg_catalog.date_trunc(
             case when p.e #>> '{metadata,time_precision}' = 'minute' then 'minute' else 'second' end,
             (p.l ->> 'sent_at')::timestamptz, 'UTC')
       and ((p.nm ->> 'direction' = p.sm ->> 'direction'
             and (p.nm ->> 'direction' = 'outbound' or direct
                  or pg_catalog.regexp_replace(p.nm ->> 'sender_identifier', '^user(\d+)$', '\1')
                     = pg_catalog.regexp_replace(p.sm ->> 'sender_identifier', '^user(\d+)$', '\1')
                  or pg_catalog.lower(pg_catalog.btrim(p.nm ->> 'sender_name'))
                     = pg_catalog.lower(pg_catalog.btrim(p.sm ->> 'sender_name'))))
            -- a bot in a group cannot tell the account's own messages from the others': there
            -- the same sender id is the same sender whatever the direction says
            or (not direct
                and pg_catalog.regexp_replace(p.nm ->> 'sender_identifier', '^user(\d+)$', '\1')
                    = pg_catalog.regexp_replace(p.sm ->> 'sender_identifier', '^user(\d+)$', '\1')))
     order by p.i, p.s
  loop
    if v_taken_i[v_pair.i] is null and v_taken_s[v_pair.s] is null then
      v_taken_i[v_pair.i] := true;
      v_taken_s[v_pair.s] := true;
      v_out := v_out || pg_catalog.jsonb_build_object('i', v_pair.i, 's', v_pair.s);
    end if;
  end loop;
  return pg_catalog.to_jsonb(v_out);
end;
$$;
comment on function messaging_private.match_pairs(jsonb, jsonb, boolean) is
  'Export/live matching: one-to-one, in-order pairs [{i, s}] of incoming messages and stored {chunk, m} copies of the other kind that are the same message.';
