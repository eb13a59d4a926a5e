-- Written by `make migration` from supabase/schemas; finish the todo lines.

create or replace function public.conversation_coverage(conversation_id uuid)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
-- Under the caller's row-level security: a conversation that is not theirs is not found.
-- A source covers [first_message_at, last_message_at], but a live webhook covers from its
-- first message onwards (covers_until null: ongoing). The gaps are the spans of at least a
-- minute (an export's times are to the minute) between the conversation's first and last
-- message that no source covers. A conversation stored before coverage was recorded, with
-- no source row, answers one source of kind unknown spanning its stored messages. matched:
-- the copies paired between sources, counted in the stored messages (metadata.matched).
declare
  v_conv record;
begin
  select c.id, c.platform, c.external_conversation_id, c.first_message_at, c.last_message_at,
         c.message_count, c.created_at, c.updated_at
    into v_conv
    from public.chat_conversations c
   where c.id = conversation_coverage.conversation_id;
  if not found then
    if pg_catalog.current_setting('request.method', true) <> '' then
      raise sqlstate 'PGRST' using
        message = pg_catalog.jsonb_build_object('code', 'P0002', 'hint', 'conversation_not_found', 'details', null,
          'message', pg_catalog.format('conversation_id: no such conversation (%s)', conversation_id))::text,
        detail = '{"status": 404, "headers": {}}';
    end if;
    raise exception using errcode = 'P0002', hint = 'conversation_not_found',
      message = pg_catalog.format('conversation_id: no such conversation (%s)', conversation_id);
  end if;
  return (
    with src as (
      select s.kind, s.name, s.phase, s.connection_id, s.first_message_at, s.last_message_at,
             s.inserted, s.duplicates, s.updated, s.matched, s.batches, s.first_seen_at, s.last_seen_at
        from public.chat_conversation_sources s
       where s.conversation_id = v_conv.id
      union all
      select 'unknown', '', '', null::uuid, v_conv.first_message_at, v_conv.last_message_at,
             v_conv.message_count::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, v_conv.created_at, v_conv.updated_at
       where v_conv.first_message_at is not null
         and not exists (select 1 from public.chat_conversation_sources s where s.conversation_id = v_conv.id)
    ),
    spans as (
      select x.first_message_at as s_from,
             case when x.kind = 'webhook' then greatest(x.last_message_at, v_conv.last_message_at)
                  else x.last_message_at end as s_to
        from src x
      union all
      -- the conversation's own ends, so a span before the first source or after the last shows
      select v_conv.first_message_at, v_conv.first_message_at where v_conv.first_message_at is not null
      union all
      select v_conv.last_message_at, v_conv.last_message_at where v_conv.last_message_at is not null
    ),
    running as (
      select p.s_from, pg_catalog.max(p.s_to) over (order by p.s_from, p.s_to
               rows between unbounded preceding and 1 preceding) as covered_to
        from spans p
    ),
    gaps as (
      select r.covered_to as g_from, r.s_from as g_to
        from running r
       where r.s_from - r.covered_to >= interval '1 minute'
    )
    select pg_catalog.jsonb_build_object(
      'conversation_id', v_conv.id,
      'platform', v_conv.platform,
      'external_conversation_id', v_conv.external_conversation_id,
      'first_message_at', v_conv.first_message_at,
      'last_message_at', v_conv.last_message_at,
      'message_count', v_conv.message_count,
      -- the pairs as stored: each kept copy that met another source's copy says so
      'matched', (select coalesce(pg_catalog.sum(pg_catalog.jsonb_array_length(pg_catalog.jsonb_path_query_array(
                     x.messages, '$[*] ? (exists(@.metadata.matched))'))), 0)
                    from (select c.messages from public.chat_conversations c where c.id = v_conv.id
                          union all
                          select a.messages from public.chat_conversation_archives a
                           where a.conversation_id = v_conv.id) x),
      'sources', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                     'kind', x.kind, 'name', nullif(x.name, ''), 'phase', nullif(x.phase, ''),
                     'connection_id', x.connection_id,
                     'first_message_at', x.first_message_at, 'last_message_at', x.last_message_at,
                     'covers_from', x.first_message_at,
                     'covers_until', case when x.kind = 'webhook' then null else x.last_message_at end,
                     'inserted', x.inserted, 'duplicates', x.duplicates, 'updated', x.updated,
                     'matched', x.matched, 'batches', x.batches,
                     'first_seen_at', x.first_seen_at, 'last_seen_at', x.last_seen_at)
                   order by x.first_message_at, x.kind, x.name, x.phase), '[]'::jsonb)
                    from src x),
      'gaps', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('from', g.g_from, 'to', g.g_to)
                 order by g.g_from), '[]'::jsonb)
                 from gaps g))
  );
end;
$$;
comment on function public.conversation_coverage(uuid) is
  'Where a conversation''s history comes from (docs/contract.md "Coverage"): {conversation_id, platform, external_conversation_id, first_message_at, last_message_at, message_count, matched, sources: [{kind, name, phase, connection_id, first_message_at, last_message_at, covers_from, covers_until (null: live, ongoing), inserted, duplicates, updated, matched, batches, first_seen_at, last_seen_at}], gaps: [{from, to}]}; the caller''s own conversations only (P0002 conversation_not_found, HTTP 404).';
revoke all on function public.conversation_coverage(uuid) from public, anon;
grant execute on function public.conversation_coverage(uuid) to authenticated, service_role;

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
      summary := messaging_private.ingest_messages(pg_catalog.jsonb_build_object(
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
      summary := messaging_private.add_counts(summary, messaging_private.ingest_messages(pg_catalog.jsonb_build_object(
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
  -- where each conversation's history comes from (coverage): one upsert per conversation
  perform messaging_private.record_coverage(v_owner, v_connection, payload, v_results);

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
begin
  if pg_catalog.cardinality(results) = 0 then
    return;
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
  'Ingest, last step: one upsert per conversation of the call into chat_conversation_sources (the payload''s source, its span of message times, the answer''s counts).';
revoke all on function messaging_private.record_coverage(uuid, uuid, jsonb, jsonb[]) from public, anon, authenticated, service_role;
