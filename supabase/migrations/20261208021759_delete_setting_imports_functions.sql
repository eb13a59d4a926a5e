-- A message that arrives already deleted (an import's: deleted with deleted_at) follows the
-- owner's delete setting: take_messages erases its text and versions on the way in unless
-- the owner keeps them. An export's tombstone (no deleted_at) keeps its words, also when the
-- setting is turned off.

create or replace function messaging_private.erase_deleted_on_arrival(payload jsonb, owner uuid)
returns jsonb
language sql
stable
set search_path = ''
as $$
  -- a message that arrives already deleted (the signal-cli importer's remote delete of a
  -- message in its own file: deleted with deleted_at) loses its text and versions here, as a
  -- delete update's would, unless the owner keeps deleted text; every other message (an
  -- export's tombstone included) is untouched
  select case
    when pg_catalog.jsonb_typeof(payload) is distinct from 'object'
      or pg_catalog.jsonb_typeof(payload -> 'messages') is distinct from 'array'
      or not (payload @? '$.messages[*].metadata ? (@.deleted == true && exists (@.deleted_at))')
      or messaging_private.keeps_deleted_text(owner) then payload
    else payload || pg_catalog.jsonb_build_object('messages', (
      select pg_catalog.jsonb_agg(messaging_private.erase_deleted_text(e.m) order by e.ord)
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)))
  end;
$$;
comment on function messaging_private.erase_deleted_on_arrival(jsonb, uuid) is
  'An ingest payload whose messages that arrive deleted (metadata.deleted with deleted_at) lose their content and metadata.versions (erase_deleted_text) unless the owner keeps deleted text; the payload itself when none is deleted or the owner keeps it.';
revoke all on function messaging_private.erase_deleted_on_arrival(jsonb, uuid) from public, anon, authenticated, service_role;

create or replace function messaging_private.erase_deleted_text(m jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  -- a deleted message without its text and earlier versions (the marker stays); a
  -- tombstone of an export (deleted, no deleted_at: its content is the platform's words,
  -- "This message was deleted") has no customer text to erase
  select case when (m #> '{metadata,deleted}') = 'true'::jsonb and m #> '{metadata,deleted_at}' is not null
              then m || pg_catalog.jsonb_build_object('content', null, 'metadata',
                     (m -> 'metadata') - 'versions' - 'versions_dropped')
              else m end;
$$;
comment on function messaging_private.erase_deleted_text(jsonb) is
  'A message deleted by a delete (metadata.deleted with deleted_at) without its content and metadata.versions; any other message (an export''s tombstone included) as it is.';
revoke all on function messaging_private.erase_deleted_text(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.take_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
-- ingest_messages (messages that arrive deleted first losing their text unless the owner
-- keeps it: erase_deleted_on_arrival), then what the stored messages complete: the poll ids of
-- polls (only when the call has one) and the updates kept for them (only when the owner
-- keeps any).
declare
  -- the user_id service_role names, else the caller (ingest_messages checks it; a malformed
  -- one is refused there, so it names nobody here)
  v_owner uuid := case when payload ->> 'user_id' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
                       then (payload ->> 'user_id')::uuid else (select auth.uid()) end;
  v_answer jsonb := messaging_private.ingest_messages(messaging_private.erase_deleted_on_arrival(payload, v_owner));
begin
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
  'The privileged body of public.ingest_messages and of a delivery''s messages: ingest_messages (messages arriving deleted lose their text unless the owner keeps it: erase_deleted_on_arrival), then the poll ids of its polls recorded and the updates kept for its messages applied once (pending_updates).';
revoke all on function messaging_private.take_messages(jsonb) from public;
grant execute on function messaging_private.take_messages(jsonb) to authenticated, service_role;
