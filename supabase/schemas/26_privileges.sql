-- =============================================================================
-- Privileges: what the API roles may not call or read
--
-- Last, once every function exists.
-- =============================================================================

do $$
declare
  f regprocedure;
begin
  -- the parts run only inside ingest_messages, as its owner
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'messaging_private'
       and p.proname in ('ingest_owner', 'ingest_references', 'ingest_groups', 'ingest_dedupe',
                         'ingest_apply_edits', 'ingest_merge', 'ingest_summary',
                         'ingest_new_conversations', 'ingest_unchanged', 'ingest_repeats', 'ingest_existing')
  loop
    execute pg_catalog.format('revoke all on function %s from public, anon, authenticated, service_role', f);
  end loop;
end;
$$;


-- -----------------------------------------------------------------------------
-- Internal columns are not part of the API
--
-- chat_conversation_archives.id_hashes exists for its index. API roles get no
-- column grant on it, so nobody can read it or filter on it. The searchable
-- text is not in any API table at all (messaging_private.search_segments).
-- Select explicit columns from chat_conversation_archives (select=* is refused).
-- -----------------------------------------------------------------------------

revoke select on public.chat_conversation_archives from authenticated, service_role;
grant select (
  id, conversation_id, user_id, messages, message_count, first_message_at, last_message_at,
  first_message_id, last_message_id, created_at, updated_at
) on public.chat_conversation_archives to authenticated, service_role;

revoke all on function messaging_private.index_messages(uuid, uuid, jsonb) from public, anon, authenticated, service_role;
revoke all on function messaging_private.index_batches(uuid, jsonb) from public, anon, authenticated, service_role;
revoke all on function messaging_private.merge_segments(uuid, uuid) from public, anon, authenticated, service_role;
revoke all on function messaging_private.store_segments(uuid, uuid, jsonb, boolean) from public, anon, authenticated, service_role;
