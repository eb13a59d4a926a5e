-- Written by `make migration` from supabase/schemas; finish the todo lines.

drop function if exists messaging_private.ingest_dedupe(uuid,jsonb,boolean,jsonb);

drop function if exists messaging_private.ingest_existing(uuid,uuid,jsonb,bigint[],boolean,integer,integer);

drop function if exists messaging_private.stored_copies(uuid,jsonb,boolean,jsonb);

create or replace function messaging_private.ingest_check_fields(payload jsonb)
returns void
language plpgsql
stable
set search_path = ''
as $$
-- Every field of every message (payload_errors), refused as one error naming them all.
declare
  v_errors text[];
begin
  v_errors := messaging_private.payload_errors(payload);
  if pg_catalog.cardinality(v_errors) > 0 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('invalid payload, %s problem%s: %s', pg_catalog.cardinality(v_errors),
        case when pg_catalog.cardinality(v_errors) > 1 then 's' else '' end,
        pg_catalog.array_to_string(v_errors[1:50], '; ')
          || case when pg_catalog.cardinality(v_errors) > 50
                  then pg_catalog.format('; and %s more (see details)', pg_catalog.cardinality(v_errors) - 50)
                  else '' end),
      detail = pg_catalog.array_to_string(v_errors[1:2000], E'\n'),
      hint = 'payload_invalid';
  end if;
end;
$$;
comment on function messaging_private.ingest_check_fields(jsonb) is
  'Ingest, field check: refuses a payload with any invalid field (22023 payload_invalid), naming up to 50 problems in the message and 2,000 in the detail.';
revoke all on function messaging_private.ingest_check_fields(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_check_shape(payload jsonb)
returns integer
language plpgsql
stable
set search_path = ''
as $$
-- The payload's shape before anything else: an object with a messages array of at most
-- the contract's messages_per_call. Returns the number of messages.
declare
  v_total integer;
begin
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023',
      message = 'payload: must be a JSON object like {"messages": [...]}, got '
        || coalesce(pg_catalog.jsonb_typeof(payload), 'nothing'),
      hint = 'payload_not_object';
  end if;
  if pg_catalog.jsonb_typeof(payload -> 'messages') is distinct from 'array' then
    raise exception using errcode = '22023',
      message = 'messages: required, must be an array of message objects, got '
        || coalesce(pg_catalog.jsonb_typeof(payload -> 'messages'), 'nothing'),
      hint = 'messages_not_array';
  end if;
  v_total := pg_catalog.jsonb_array_length(payload -> 'messages');
  if v_total > messaging_private.contract_limit('messages_per_call') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('messages: %s messages in one call; at most %s', v_total,
        messaging_private.contract_limit('messages_per_call')),
      hint = 'too_many_messages';
  end if;
  return v_total;
end;
$$;
comment on function messaging_private.ingest_check_shape(jsonb) is
  'Ingest, first check: the payload is an object whose messages array is within messages_per_call; returns its length.';
revoke all on function messaging_private.ingest_check_shape(jsonb) from public, anon, authenticated, service_role;

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
               coalesce(g ->> 'participant_identifier', c.participant_identifier)) end)
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

create or replace function messaging_private.ingest_create(
  owner uuid, connection uuid, groups jsonb, hot_max integer, hot_bytes integer,
  out marked_groups jsonb, out results jsonb[], out index jsonb[], out inserted integer,
  out duplicates integer, out existing integer
)
language plpgsql
set search_path = ''
as $$
-- The conversations this call creates, with their messages where they fit
-- (ingest_new_conversations). One conversation that exists, the live case, creates
-- nothing: no speculative insert, person match and preview of a row that is not written.
-- (The key is read into variables first: the group holds its messages, and a plan that
-- evaluated the path per row scanned would walk them again for each row.)
declare
  v_platform text;
  v_external text;
  v_new record;
begin
  if pg_catalog.jsonb_array_length(groups) = 1 then
    v_platform := groups -> 0 ->> 'platform';
    v_external := groups -> 0 ->> 'external_conversation_id';
  end if;
  if v_external is not null
     and exists (select 1 from public.chat_conversations c
                  where c.user_id = owner and c.platform = v_platform
                    and c.external_conversation_id = v_external) then
    marked_groups := pg_catalog.jsonb_build_array(groups -> 0 || '{"created": false, "fresh": false}'::jsonb);
    results := '{}'::jsonb[];
    index := '{}'::jsonb[];
    inserted := 0;
    duplicates := 0;
    existing := 1;
    return;
  end if;
  v_new := messaging_private.ingest_new_conversations(owner, connection, groups, hot_max, hot_bytes);
  marked_groups := v_new.marked_groups;
  results := v_new.results;
  index := v_new.index;
  inserted := v_new.inserted;
  duplicates := v_new.duplicates;
  existing := v_new.existing;
end;
$$;
comment on function messaging_private.ingest_create(uuid, uuid, jsonb, integer, integer) is
  'Ingest: creates the conversations of a call that do not exist (none for a call into one existing conversation); returns the groups marked created/fresh, the answer''s parts and counts.';
revoke all on function messaging_private.ingest_create(uuid, uuid, jsonb, integer, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_dedupe(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb, few integer,
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
-- only by one with a newer edited_at (a missing edited_at counts as older); else the
-- message is a duplicate.
-- fresh: not stored yet; hot_edits: replace a hot-row copy; archive_edits: {chunk, m}.
-- What no id matched then meets its export or live copy, if stored (ingest_match):
-- matched pairs, and replaced: stored export copies a platform copy takes the place of.
declare
  v_few jsonb;  -- the stored copies of a few incoming messages, [{chunk, m}]
begin
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
                  or (n.m ->> 'edited_at')::timestamptz > (s.m ->> 'edited_at')::timestamptz), false) as newer
      from pg_catalog.jsonb_array_elements(incoming) with ordinality n(m, ord)
      left join stored s on (s.m ->> 'id') = (n.m ->> 'id')
  )
  select
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord) filter (where x.sm is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord)
      filter (where x.sm is not null and x.newer and x.chunk is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', x.chunk, 'm', x.nm))
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

create or replace function messaging_private.ingest_lock_existing(owner uuid, groups jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- The existing conversations of a call locked in one fixed order, so two calls into the
-- same conversations wait for each other instead of deadlocking.
begin
  perform 1
     from public.chat_conversations c
    where c.user_id = owner
      and (c.platform, c.external_conversation_id) in (
        select x ->> 'platform', x ->> 'external_conversation_id'
        from pg_catalog.jsonb_array_elements(groups) x
       where not (x -> 'fresh')::boolean)
    order by c.platform, c.external_conversation_id
    for update;
end;
$$;
comment on function messaging_private.ingest_lock_existing(uuid, jsonb) is
  'Ingest: locks the existing conversations of a call in (platform, external_conversation_id) order.';
revoke all on function messaging_private.ingest_lock_existing(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
-- Validates, then owner, references and groups; creates the new conversations, counts
-- the repeated ones and stores the rest per conversation (the ingest_* steps); indexes
-- what was stored for search. The strategies' thresholds are settings (ingest_settings).
declare
  v_owner uuid;
  v_connection uuid;
  v_total integer;
  v_groups jsonb;
  v_set record;
  v_unchanged jsonb;
  v_new record;      -- what each strategy returns
  v_repeats record;
  v_each record;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append, quadratic over 10,000 conversations)
  v_results jsonb[];
  v_index jsonb[];
  v_repeated bigint[] := '{}'::bigint[];
  v_inserted integer;
  v_dups integer;
  v_updated integer := 0;
  v_matched integer := 0;
begin
  v_total := messaging_private.ingest_check_shape(payload);
  v_owner := messaging_private.ingest_owner(payload);
  v_set := messaging_private.ingest_settings();
  perform messaging_private.ingest_check_fields(payload);
  v_connection := messaging_private.ingest_references(payload, v_owner);
  if v_total = 0 then
    return pg_catalog.jsonb_build_object('inserted', 0, 'duplicates', 0, 'updated', 0, 'matched', 0,
      'conversations', '[]'::jsonb);
  end if;

  -- a batch that changes nothing (an export sent again): its answer, no write (not for
  -- a few messages, the live case: new ones, which the proof would only delay)
  if v_total > v_set.unchanged_past then
    v_unchanged := messaging_private.ingest_unchanged(payload, v_owner, v_connection);
    if v_unchanged is not null then
      perform messaging_private.ingest_synced(v_connection);
      return v_unchanged;
    end if;
  end if;

  v_groups := messaging_private.ingest_groups(payload);
  v_new := messaging_private.ingest_create(v_owner, v_connection, v_groups, v_set.hot_max, v_set.hot_bytes);
  v_results := v_new.results;
  v_index := v_new.index;
  v_inserted := v_new.inserted;
  v_dups := v_new.duplicates;
  -- (one existing conversation, the live case, is locked as ingest_existing reads it)
  if v_new.existing > 1 then
    perform messaging_private.ingest_lock_existing(v_owner, v_new.marked_groups);
  end if;

  -- conversations a batch only repeats, all at once. Only for batches over many existing
  -- conversations: for a few (live traffic, one message a call) the check reads every hot
  -- row once more than ingest_existing does (figures in bench/HISTORY.md).
  if v_new.existing > v_set.repeats_past then
    v_repeats := messaging_private.ingest_repeats(v_owner, v_connection, v_new.marked_groups);
    v_results := v_results || v_repeats.results;
    v_dups := v_dups + v_repeats.duplicates;
    v_repeated := v_repeats.positions;
  end if;

  if v_new.existing > pg_catalog.cardinality(v_repeated) then
    v_each := messaging_private.ingest_existing(v_owner, v_connection, v_new.marked_groups, v_repeated,
      v_new.existing = 1, v_set.hot_max, v_set.hot_bytes, v_set.few);
    v_results := v_results || v_each.results;
    v_index := v_index || v_each.index;
    v_inserted := v_inserted + v_each.inserted;
    v_dups := v_dups + v_each.duplicates;
    v_updated := v_each.updated;
    v_matched := v_each.matched;
  end if;

  -- the search segments of every conversation at once
  if pg_catalog.cardinality(v_index) > 0 then
    perform messaging_private.index_batches(v_owner, pg_catalog.to_jsonb(v_index));
  end if;
  perform messaging_private.ingest_synced(v_connection);

  return pg_catalog.jsonb_build_object(
    'inserted', v_inserted,
    'duplicates', v_dups,
    'updated', v_updated,
    'matched', v_matched,
    'conversations', (select coalesce(pg_catalog.jsonb_agg(r.x order by r.x ->> 'platform', r.x ->> 'external_conversation_id'),
                                      '[]'::jsonb)
                        from pg_catalog.unnest(v_results) r(x)));
end;
$$;
comment on function messaging_private.ingest_messages(jsonb) is
  'The privileged body of public.ingest_messages: validates, then owner, references, groups, and per conversation dedupe, edits, merge and summary (the ingest_* parts).';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;

create or replace function messaging_private.ingest_settings(
  out hot_max integer, out hot_bytes integer, out few integer, out unchanged_past integer,
  out repeats_past integer
)
language plpgsql
stable
set search_path = ''
as $$
-- The settings one ingest call reads, in one query (a setting() call each would be five).
begin
  select pg_catalog.max(s.value) filter (where s.key = 'hot_max_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'hot_max_bytes'),
         pg_catalog.max(s.value) filter (where s.key = 'ingest_few_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'ingest_unchanged_past_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'ingest_repeats_past_conversations')
    into hot_max, hot_bytes, few, unchanged_past, repeats_past
    from messaging_private.settings s
   where s.key in ('hot_max_messages', 'hot_max_bytes', 'ingest_few_messages',
                   'ingest_unchanged_past_messages', 'ingest_repeats_past_conversations');
end;
$$;
comment on function messaging_private.ingest_settings() is
  'Ingest: the hot row''s caps and the strategy thresholds, read once per call.';
revoke all on function messaging_private.ingest_settings() from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_synced(connection uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if connection is not null then
    update public.messaging_connections mc
       set last_synced_at = pg_catalog.now()
     where mc.id = connection;
  end if;
end;
$$;
comment on function messaging_private.ingest_synced(uuid) is
  'Ingest: moves the connection''s last_synced_at (none without a connection).';
revoke all on function messaging_private.ingest_synced(uuid) from public, anon, authenticated, service_role;

create or replace function messaging_private.stored_copies(
  conversation uuid, hot jsonb, has_archive boolean, msgs jsonb, few integer default null
)
returns table (chunk uuid, m jsonb)
language plpgsql
stable
set search_path = ''
-- the chunks holding an id are found through the GIN index of id_hashes only:
-- array overlap as a filter compares every pair of hashes (1,000 x 1,000 per chunk read)
set enable_seqscan = off
as $$
-- The stored copies (chunk null for the hot row) of the messages msgs names by id (whole
-- messages or {id} objects) in one conversation: in its hot row (given, as the caller read
-- it) first and then, when has_archive and the hot row lacks some of them, in the archive
-- chunks whose id_hashes hold an id's hash. A few ids the hot row does not contain cost a
-- containment test each (the hot row is expanded only when one is there), and a message
-- found in the hot row costs no index probe. (Rows, not a jsonb array: building one cost
-- a re-imported 10,000-message batch a quarter more time in its dedupe.)
declare
  v_chunks uuid[];
  v_hashes bigint[];
  v_hot integer := 0;
begin
  -- (few: the setting ingest_few_messages, passed by the ingest, read here for the webhooks)
  if pg_catalog.jsonb_array_length(msgs) > coalesce(few, messaging_private.setting('ingest_few_messages'))
     or exists (select 1 from pg_catalog.jsonb_array_elements(msgs) n(m)
                 where hot @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', n.m -> 'id')))
  then
    return query
      select null::uuid, h.m
        from pg_catalog.jsonb_array_elements(hot) h(m)
       where (h.m ->> 'id') in (select n.m ->> 'id' from pg_catalog.jsonb_array_elements(msgs) n(m));
    get diagnostics v_hot = row_count;
  end if;
  if not has_archive or v_hot >= pg_catalog.jsonb_array_length(msgs) then
    return;
  end if;
  v_hashes := messaging_private.id_hashes(msgs);
  -- computed once (inside a query's condition it would be recomputed for every row), and
  -- asked of the index alone (offset 0 keeps the conversation out of the index scan)
  select pg_catalog.array_agg(h.id) into v_chunks
    from (select a.id, a.conversation_id
            from public.chat_conversation_archives a
           where a.id_hashes && v_hashes
          offset 0) h
   where h.conversation_id = conversation;
  if v_chunks is not null then
    return query
      select a.id, e.m
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
       where a.id = any (v_chunks)
         and (e.m ->> 'id') in (select n.m ->> 'id' from pg_catalog.jsonb_array_elements(msgs) n(m));
  end if;
end;
$$;
comment on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb, integer) is
  'The stored copies (chunk, m; chunk null: the hot row) of messages named by id in one conversation: the hot row first, then archive chunks found through id_hashes. Past few ids (ingest_few_messages) the hot row is read whole instead of probed per id.';
revoke all on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb, integer)
  from public, anon, authenticated, service_role;
