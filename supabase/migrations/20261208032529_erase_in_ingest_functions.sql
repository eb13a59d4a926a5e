-- The delete setting for messages that arrive deleted is applied inside ingest_messages,
-- once the owner is checked (erase_deleted_on_arrival), instead of in take_messages before
-- it, which had to read the owner from the payload a second time. Same behaviour.

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

create or replace function messaging_private.take_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
-- ingest_messages, then what the stored messages complete: the poll ids of polls (only
-- when the call has one) and the updates kept for them (only when the owner keeps any).
declare
  v_answer jsonb := messaging_private.ingest_messages(payload);
  v_owner uuid;
begin
  -- ingest_messages has checked the owner: the user_id service_role names, else the caller
  v_owner := coalesce((payload ->> 'user_id')::uuid, (select auth.uid()));
  if payload @? '$.messages[*].metadata.poll.id' then
    perform messaging_private.record_polls(v_owner, payload);
  end if;
  if exists (select 1 from messaging_private.pending_updates p where p.user_id = v_owner) then
    perform messaging_private.apply_pending(v_owner, payload);
  end if;
  return v_answer;
end;
$$;
comment on function messaging_private.take_messages(jsonb) is
  'The privileged body of public.ingest_messages and of a delivery''s messages: ingest_messages, then the poll ids of its polls recorded and the updates kept for its messages applied once (pending_updates).';
revoke all on function messaging_private.take_messages(jsonb) from public;
grant execute on function messaging_private.take_messages(jsonb) to authenticated, service_role;
