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
declare
  v_groups jsonb := messaging_private.ingest_groups(payload);
begin
  v_groups := messaging_private.ingest_drop_erased(owner, v_groups);
  v_groups := messaging_private.ingest_route_merged(owner, v_groups);
  if payload @? '$.messages[*].participant_ids' then
    v_groups := messaging_private.ingest_route(owner, v_groups);
  end if;
  return v_groups;
end;
$$;
comment on function messaging_private.ingest_destinations(uuid, jsonb) is
  'ingest_messages: the batch grouped by conversation (ingest_groups), without erased messages, merged-away keys pointed at their keep and ids routed to their customer''s conversation.';
revoke all on function messaging_private.ingest_destinations(uuid, jsonb) from public, anon, authenticated, service_role;
