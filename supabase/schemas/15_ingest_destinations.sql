-- =============================================================================
-- Where a batch's messages go
--
-- ingest_messages groups a batch by conversation, then each group's destination
-- is settled before anything is written: messages of an erased person never
-- return (15_erased_messages.sql), a merged-away conversation key lands in the
-- merge's keep (09_merge_records.sql), and an id that names a known customer
-- lands in that customer's conversation (09_identity_aliases.sql).
-- =============================================================================

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
