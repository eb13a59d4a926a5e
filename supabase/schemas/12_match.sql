-- =============================================================================
-- Matching: people to conversations, export copies to live copies
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Contact matching
-- -----------------------------------------------------------------------------

create or replace function messaging_private.match_person(
  owner uuid, conversation_platform text, identifier text
)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    -- the person with an identifier of the participant's subscriber key (one index range,
    -- person_identifiers_user_match_key_idx), if exactly one person matches
    select case when pg_catalog.count(distinct pi.person_id) = 1 then (pg_catalog.array_agg(pi.person_id))[1] end
    from public.person_identifiers pi
    where pi.user_id = owner
      and pi.match_key = messaging_private.subscriber_key(identifier)
      and (pi.platform is null or pi.platform = conversation_platform)
  );
end;
$$;
comment on function messaging_private.match_person(uuid, text, text) is
  'The one person of owner with an identifier of the (normalised) participant identifier''s subscriber key on that platform (national phone variants fold together); null when none or several match.';

create or replace function messaging_private.link_conversations_to_new_identifier()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.chat_conversations c
     set person_id = messaging_private.match_person(c.user_id, c.platform, c.participant_identifier)
   where c.user_id = new.user_id
     and c.person_id is null
     -- one range of chat_conversations_participant_key_idx: every spelling of the key
     and messaging_private.subscriber_key(c.participant_identifier) = new.match_key
     and (new.platform is null or c.platform = new.platform)
     and messaging_private.match_person(c.user_id, c.platform, c.participant_identifier) is not null;
  return null;
end;
$$;
comment on function messaging_private.link_conversations_to_new_identifier() is
  'Trigger: links the owner''s unlinked conversations whose participant (any national variant of the identifier''s subscriber key) now matches exactly one person.';
revoke all on function messaging_private.link_conversations_to_new_identifier() from public;

create trigger person_identifiers_link_conversations
  after insert or update of value, platform, person_id on public.person_identifiers
  for each row execute function messaging_private.link_conversations_to_new_identifier();


-- -----------------------------------------------------------------------------
-- Export and live copies of one message. An export gives some messages ids of its
-- own making (a hash: WhatsApp .txt) and times cut to a minute or a second; a live
-- webhook gives the platform's id and the exact time. The importer marks such a copy
-- with metadata.id_source = 'export' and metadata.time_precision = 'minute' | 'second'
-- (anything else is a second). A fresh message meets a stored copy of the other kind
-- in the same conversation when direction, type, content (whitespace aside) and sender
-- agree and both times fall in the same minute (or second) of the export's precision;
-- pairs are made one to one, in (sent_at, id) order, so two `ok` of one minute stay
-- two. The copy with the platform id (exact time, status) is the one kept; the other
-- counts as a duplicate, and what it said differently is kept on the stored message as
-- metadata.matched {id, sent_at, and each field that differed}. A pairing is made once:
-- a platform copy with metadata.matched meets no other export copy, and meets its own
-- again by id alone (a re-import, even after an edit, which keeps metadata.matched:
-- edit_keeps_match). ingest_dedupe calls
-- ingest_match with what is fresh after the id dedupe; ingest_messages takes the
-- replaced export copies out (match_take_out) before the edits are applied.
-- -----------------------------------------------------------------------------

create or replace function messaging_private.match_candidates(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored messages ({chunk, m}; chunk null for the hot row) that could be the other
-- copy of an incoming one: of the other kind (export vs platform id) and within the
-- minutes the incoming messages span. Chunks are read only where their range overlaps.
declare
  v_lo timestamptz;
  v_hi timestamptz;
  v_export boolean;
  v_live boolean;
begin
  select pg_catalog.min(pg_catalog.date_trunc('minute', (n.m ->> 'sent_at')::timestamptz, 'UTC')),
         pg_catalog.max(pg_catalog.date_trunc('minute', (n.m ->> 'sent_at')::timestamptz, 'UTC'))
           + interval '1 minute',
         pg_catalog.bool_or(n.m #>> '{metadata,id_source}' = 'export'),
         pg_catalog.bool_or(n.m #>> '{metadata,id_source}' is distinct from 'export')
    into v_lo, v_hi, v_export, v_live
    from pg_catalog.jsonb_array_elements(incoming) n(m);
  if v_lo is null then
    return '[]'::jsonb;
  end if;
  return (
    with stored as (
      select null::uuid as chunk, h.m
        from pg_catalog.jsonb_array_elements(hot) h(m)
      union all
      select a.id, e.m
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
       where has_archive
         and a.conversation_id = conversation
         and a.first_message_at < v_hi
         and a.last_message_at >= v_lo
    )
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', s.chunk, 'm', s.m)
                      order by (s.m ->> 'sent_at')::timestamptz, (s.m ->> 'id') collate "C"), '[]'::jsonb)
      from stored s
     where (s.m ->> 'sent_at')::timestamptz >= v_lo
       and (s.m ->> 'sent_at')::timestamptz < v_hi
       and case when s.m #>> '{metadata,id_source}' = 'export' then v_live else v_export end
  );
end;
$$;
comment on function messaging_private.match_candidates(uuid, jsonb, boolean, jsonb) is
  'Export/live matching: stored messages ({chunk, m}) of the other kind within the minutes incoming messages span, sorted by (sent_at, id).';

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

-- One-to-one pairs [{i, s}] (0-based positions in incoming and in stored, a {chunk, m}
-- array) of an export copy and a platform copy of the same message: same direction (in a
-- group, or the same sender identifier: a bot sees the account's own messages as a
-- member's), type (an export's omitted media, type other, meets any media type), content with
-- whitespace runs collapsed, sender (outbound, or a direct chat, or the same identifier
-- or name; Telegram's `user123` is 123), and the same minute or second (UTC) at the
-- export copy's precision; a media file's SHA-256 (media_sha256), where both copies carry
-- one, is the same, and meets whatever the captions say. A pairing is made once: a stored
-- platform copy that met an export copy before (metadata.matched) pairs only with that
-- export copy again, by its id whatever its words are now (a re-import after an edit);
-- first those, then greedy in order: each other incoming message, in array order, takes
-- the first stored copy (in array order) not taken yet and not paired before.
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
      union all  -- the same media file (its hash) in the same minute, whatever the captions say
      select n.i, s.s, n.export, n.m, s.m from n join s on n.minute = s.minute and n.export <> s.export
         and n.words <> s.words and messaging_private.media_sha256(n.m) = messaging_private.media_sha256(s.m)
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
       and coalesce(messaging_private.media_sha256(p.e) = messaging_private.media_sha256(p.l), true)
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

create or replace function messaging_private.match_copy(keep jsonb, other jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- The copy kept of a matched pair (the one with the platform id): its own fields, the
-- sender name, identifier and media the other had where it has none, and
-- metadata.matched = {id, sent_at} of the other copy plus each field the other said
-- differently (its metadata without the export marks), so nothing the two disagree on
-- is lost.
declare
  v_diff jsonb;
  v_other_meta jsonb := coalesce(other -> 'metadata', '{}'::jsonb) - 'id_source' - 'time_precision' - 'matched';
begin
  select coalesce(pg_catalog.jsonb_object_agg(f.k, other -> f.k), '{}'::jsonb) into v_diff
    from pg_catalog.unnest(array['content', 'type', 'media_url', 'sender_identifier', 'sender_name',
                                 'reply_to_id', 'edited_at']) f(k)
   where other -> f.k is not null and other -> f.k <> 'null'::jsonb
     and other -> f.k is distinct from keep -> f.k;
  if v_other_meta <> '{}'::jsonb and not (coalesce(keep -> 'metadata', '{}'::jsonb) @> v_other_meta) then
    v_diff := v_diff || pg_catalog.jsonb_build_object('metadata', v_other_meta);
  end if;
  return keep
    || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
         'sender_identifier', case when keep ->> 'sender_identifier' is null then other -> 'sender_identifier' end,
         'sender_name', case when keep ->> 'sender_name' is null then other -> 'sender_name' end,
         'media_url', case when keep ->> 'media_url' is null then other -> 'media_url' end))
    || pg_catalog.jsonb_build_object('metadata', coalesce(keep -> 'metadata', '{}'::jsonb)
         || pg_catalog.jsonb_build_object('matched',
              pg_catalog.jsonb_build_object('id', other -> 'id', 'sent_at', other -> 'sent_at') || v_diff));
end;
$$;
comment on function messaging_private.match_copy(jsonb, jsonb) is
  'Export/live matching: the kept copy of a pair, with what only the other copy had and metadata.matched = {id, sent_at, fields that differed} of the other.';

create or replace function messaging_private.ingest_match(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb,
  out fresh jsonb, out hot_edits jsonb, out archive_edits jsonb, out duplicates integer,
  out matched integer, out replaced jsonb
)
language plpgsql
stable
set search_path = ''
as $$
-- Called by ingest_dedupe with the messages no stored id matched. An incoming export copy
-- of a stored platform message is a duplicate; the stored message learns metadata.matched
-- (once: an edit of it, in hot_edits or archive_edits). An incoming platform copy of a
-- stored export message replaces it: the new message (with metadata.matched) goes to
-- hot_edits (ingest_merge files it by time), the stored copy to replaced ({chunk, m}),
-- which ingest_messages takes out; the export copy counts as the duplicate.
declare
  v_stored jsonb;
  v_pairs jsonb;
  v_direct boolean;
begin
  fresh := incoming;
  hot_edits := '[]'::jsonb;
  archive_edits := '[]'::jsonb;
  duplicates := 0;
  matched := 0;
  replaced := '[]'::jsonb;
  if pg_catalog.jsonb_array_length(incoming) = 0 then
    return;
  end if;
  v_stored := messaging_private.match_candidates(conversation, hot, has_archive, incoming);
  if pg_catalog.jsonb_array_length(v_stored) = 0 then
    return;
  end if;
  select c.conversation_type = 'direct' into v_direct from public.chat_conversations c where c.id = conversation;
  v_pairs := messaging_private.match_pairs(incoming, v_stored, coalesce(v_direct, false));
  if pg_catalog.jsonb_array_length(v_pairs) = 0 then
    return;
  end if;
  with p as (
    select (x ->> 'i')::integer + 1 as i, (x ->> 's')::integer + 1 as s
      from pg_catalog.jsonb_array_elements(v_pairs) x
  ),
  n as (
    select x.ord as i, x.m, x.m #>> '{metadata,id_source}' = 'export' as export
      from pg_catalog.jsonb_array_elements(incoming) with ordinality x(m, ord)
  ),
  st as (
    select x.ord as s, x.v -> 'm' as m, (x.v ->> 'chunk')::uuid as chunk
      from pg_catalog.jsonb_array_elements(v_stored) with ordinality x(v, ord)
  ),
  j as (
    select n.i, coalesce(n.export, false) as export, n.m as nm, st.m as sm, st.chunk
      from p join n on n.i = p.i join st on st.s = p.s
  )
  select
    (select coalesce(pg_catalog.jsonb_agg(n.m order by n.i), '[]'::jsonb)
       from n where n.i not in (select p.i from p)),
    coalesce(pg_catalog.jsonb_agg(
        case when j.export then messaging_private.match_copy(j.sm, j.nm)
             else messaging_private.match_copy(j.nm, j.sm) end order by j.i)
      filter (where not j.export or (j.chunk is null and j.sm #> '{metadata,matched}' is null)), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', j.chunk,
        'm', messaging_private.match_copy(j.sm, j.nm)) order by j.i)
      filter (where j.export and j.chunk is not null and j.sm #> '{metadata,matched}' is null), '[]'::jsonb),
    pg_catalog.count(*)::integer,
    pg_catalog.count(*)::integer,
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', j.chunk, 'm', j.sm) order by j.i)
      filter (where not j.export), '[]'::jsonb)
    into fresh, hot_edits, archive_edits, duplicates, matched, replaced
    from j;
end;
$$;
comment on function messaging_private.ingest_match(uuid, jsonb, boolean, jsonb) is
  'Export/live matching, called by ingest_dedupe: splits messages no stored id matched into fresh ones, duplicates of a stored platform copy (which learns metadata.matched) and platform copies replacing a stored export copy (replaced).';

do $$
declare
  f regprocedure;
begin
  -- like the ingest parts: only inside ingest_messages, as its owner
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'messaging_private'
       and p.proname in ('match_candidates', 'match_again', 'match_pairs', 'match_copy', 'ingest_match')
  loop
    execute pg_catalog.format('revoke all on function %s from public, anon, authenticated, service_role', f);
  end loop;
end;
$$;
