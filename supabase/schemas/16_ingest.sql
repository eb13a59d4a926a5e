-- -----------------------------------------------------------------------------
-- The ingest itself: the parts above, in order, per conversation
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  v_connection uuid;
  v_errors text[];
  v_total integer;
  v_groups jsonb;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append, quadratic over 10,000 conversations)
  v_results jsonb[] := '{}'::jsonb[];
  v_index jsonb[] := '{}'::jsonb[];
  v_repeated bigint[] := '{}'::bigint[];
  v_existing integer;
  v_hot_max integer;
  v_hot_bytes integer;
  v_inserted_all integer := 0;
  v_dups_all integer := 0;
  v_updated_all integer := 0;
  v_matched_all integer := 0;
  v_unchanged jsonb;
  v_platform text;   -- the one conversation of a call into one conversation
  v_external text;
  v_new record;      -- what each strategy returns
  v_repeats record;
  v_each record;
begin
  -- ---- shape of the payload ---------------------------------------------------
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

  v_owner := messaging_private.ingest_owner(payload);
  -- both caps in one query (a setting() call each would be two)
  select pg_catalog.max(s.value) filter (where s.key = 'hot_max_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'hot_max_bytes')
    into v_hot_max, v_hot_bytes
    from messaging_private.settings s
   where s.key in ('hot_max_messages', 'hot_max_bytes');

  -- ---- every field of every message -----------------------------------------
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

  v_connection := messaging_private.ingest_references(payload, v_owner);
  if v_total = 0 then
    return pg_catalog.jsonb_build_object('inserted', 0, 'duplicates', 0, 'updated', 0, 'matched', 0,
      'conversations', '[]'::jsonb);
  end if;

  -- ---- a batch that changes nothing (an export sent again): its answer, no write -----
  -- (not for a few messages, the live case: new ones, which the proof would only delay)
  if v_total > 20 then
    v_unchanged := messaging_private.ingest_unchanged(payload, v_owner, v_connection);
    if v_unchanged is not null then
      if v_connection is not null then
        update public.messaging_connections mc
           set last_synced_at = pg_catalog.now()
         where mc.id = v_connection;
      end if;
      return v_unchanged;
    end if;
  end if;
  v_groups := messaging_private.ingest_groups(payload);

  -- ---- the conversations this call creates, with their messages where they fit ----
  -- (each strategy's answer taken as a record: a call in a plain expression, not a query)
  -- (one conversation that exists, the live case: nothing to create, and no speculative
  -- insert, person match and preview of a row that is not written)
  -- (the key read into variables first: the group holds its messages, and a plan that
  -- evaluated the path per row scanned would walk them again for each row)
  if pg_catalog.jsonb_array_length(v_groups) = 1 then
    v_platform := v_groups -> 0 ->> 'platform';
    v_external := v_groups -> 0 ->> 'external_conversation_id';
  end if;
  if v_external is not null
     and exists (select 1 from public.chat_conversations c
                  where c.user_id = v_owner and c.platform = v_platform
                    and c.external_conversation_id = v_external) then
    v_groups := pg_catalog.jsonb_build_array(v_groups -> 0 || '{"created": false, "fresh": false}'::jsonb);
    v_existing := 1;
  else
    v_new := messaging_private.ingest_new_conversations(v_owner, v_connection, v_groups, v_hot_max, v_hot_bytes);
    v_groups := v_new.marked_groups;
    v_results := v_new.results;
    v_index := v_new.index;
    v_inserted_all := v_new.inserted;
    v_dups_all := v_new.duplicates;
    v_existing := v_new.existing;
  end if;

  -- ---- the existing ones locked in one fixed order ----------------------------
  -- (one existing conversation, the live case, is locked as the loop below reads it)
  if v_existing > 1 then
  perform 1
     from public.chat_conversations c
    where c.user_id = v_owner
      and (c.platform, c.external_conversation_id) in (
        select x ->> 'platform', x ->> 'external_conversation_id'
        from pg_catalog.jsonb_array_elements(v_groups) x
       where not (x -> 'fresh')::boolean)
    order by c.platform, c.external_conversation_id
    for update;
  end if;

  -- ---- conversations a batch only repeats, all at once. Only for batches over many
  -- existing conversations: for a few (live traffic, one message a call) the check reads
  -- every hot row once more than ingest_existing does, and it made a one-message call
  -- much dearer (figures in bench/HISTORY.md).
  if v_existing > 16 then
    v_repeats := messaging_private.ingest_repeats(v_owner, v_connection, v_groups);
    v_results := v_results || v_repeats.results;
    v_dups_all := v_dups_all + v_repeats.duplicates;
    v_repeated := v_repeats.positions;
  end if;

  -- ---- each other conversation: dedupe, edits, merge, summary ---------------------
  if v_existing > pg_catalog.cardinality(v_repeated) then
    v_each := messaging_private.ingest_existing(v_owner, v_connection, v_groups, v_repeated, v_existing = 1,
      v_hot_max, v_hot_bytes);
    v_results := v_results || v_each.results;
    v_index := v_index || v_each.index;
    v_inserted_all := v_inserted_all + v_each.inserted;
    v_dups_all := v_dups_all + v_each.duplicates;
    v_updated_all := v_each.updated;
    v_matched_all := v_each.matched;
  end if;

  -- the search segments of every conversation at once
  if pg_catalog.cardinality(v_index) > 0 then
    perform messaging_private.index_batches(v_owner, pg_catalog.to_jsonb(v_index));
  end if;

  if v_connection is not null then
    update public.messaging_connections mc
       set last_synced_at = pg_catalog.now()
     where mc.id = v_connection;
  end if;

  return pg_catalog.jsonb_build_object(
    'inserted', v_inserted_all,
    'duplicates', v_dups_all,
    'updated', v_updated_all,
    'matched', v_matched_all,
    'conversations', (select coalesce(pg_catalog.jsonb_agg(r.x order by r.x ->> 'platform', r.x ->> 'external_conversation_id'),
                                      '[]'::jsonb)
                        from pg_catalog.unnest(v_results) r(x)));
end;
$$;
comment on function messaging_private.ingest_messages(jsonb) is
  'The privileged body of public.ingest_messages: validates, then owner, references, groups, and per conversation dedupe, edits, merge and summary (the ingest_* parts).';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;

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
  select messaging_private.ingest_messages(payload);
$$;
comment on function public.ingest_messages(jsonb) is
  'Ingests a batch of chat messages (docs/contract.md): all-or-nothing, idempotent, returns {inserted, duplicates, updated, conversations}.';
revoke all on function public.ingest_messages(jsonb) from public, anon;
grant execute on function public.ingest_messages(jsonb) to authenticated, service_role;
