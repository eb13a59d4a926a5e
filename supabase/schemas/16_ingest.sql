-- -----------------------------------------------------------------------------
-- The ingest itself: the parts above, in order, per conversation
-- -----------------------------------------------------------------------------

insert into messaging_private.settings (key, value, strategy, description) values
  ('ingest_few_messages', 20, true,
   'A conversation''s part of a call with at most this many messages takes the live path: its stored copies are looked up per id first, and a part with none stored skips the dedupe query.'),
  ('ingest_unchanged_past_messages', 20, true,
   'A call of more messages than this is first checked for changing nothing (ingest_unchanged: an export sent again is answered without a write).'),
  ('ingest_repeats_past_conversations', 16, true,
   'A call into more existing conversations than this counts the ones it only repeats at once (ingest_repeats) before the per-conversation work.');

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

create or replace function messaging_private.ingest_identities(owner uuid, groups jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- After storing a call whose messages carry participant_ids: the aliases, people and
-- suggestions (ingest_record_ids); the changes they show (a new number) as system lines,
-- stored by ingest_messages itself (their ids name the change: a retry stores them once).
declare
  v_lines jsonb := messaging_private.ingest_record_ids(owner, groups);
begin
  if v_lines is not null then
    perform messaging_private.ingest_messages(pg_catalog.jsonb_build_object('user_id', owner, 'messages', v_lines));
  end if;
end;
$$;
comment on function messaging_private.ingest_identities(uuid, jsonb) is
  'Ingest, after storing: the participant_ids'' aliases, people and suggestions (ingest_record_ids), and the system lines of the changes they show, stored through ingest_messages.';
revoke all on function messaging_private.ingest_identities(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
-- Validates, then owner (a message arriving deleted follows its delete setting), references,
-- groups; new conversations, repeats and the rest per conversation (ingest_*); search index.
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
  payload := messaging_private.erase_deleted_on_arrival(payload, v_owner);
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

  v_groups := messaging_private.ingest_destinations(v_owner, payload);
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
  perform messaging_private.ingest_identities(v_owner, v_groups) where payload @? '$.messages[*].participant_ids';
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
  'The privileged body of public.ingest_messages: validates, then owner, references (messages arriving deleted lose their text unless the owner keeps it: erase_deleted_on_arrival), groups, and per conversation dedupe, edits, merge and summary (the ingest_* parts).';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;
