-- =============================================================================
-- Merge records and the ingest's route to a merge's keep
--
-- The record of each conversation merge (30_merges.sql merges and undoes) lives
-- here, before the ingest steps, because ingest reads it: a message to a
-- merged-away conversation key lands in the conversation it was merged into, for
-- as long as the merge stands.
-- =============================================================================

create table messaging_private.conversation_merges (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity,
  user_id uuid not null references auth.users (id) on delete cascade,
  platform text not null,
  keep_id uuid not null references public.chat_conversations (id) on delete cascade,
  other_id uuid not null,
  other_key text not null,
  other_row jsonb not null,
  other_messages jsonb not null,
  other_read_markers jsonb not null default '[]'::jsonb,
  keep_ids_before text[] not null,
  added_ids text[] not null,
  replaced jsonb not null default '[]'::jsonb,
  repointed uuid[] not null default '{}'::uuid[],
  adopted_person uuid,
  moved_count integer not null,
  duplicate_count integer not null,
  first_moved_at timestamptz,
  last_moved_at timestamptz,
  merged_at timestamptz not null default now(),
  merged_by uuid,
  undone_at timestamptz,
  undone_by uuid,
  undo_answer jsonb
);
comment on table messaging_private.conversation_merges is
  'One row per merge of two conversations: what moved (ids, counts, span), when and by whom, and what undo_merge needs to restore the other conversation (its row, messages and read markers). Not exposed; list_merges() shows it.';
comment on column messaging_private.conversation_merges.other_key is
  'The external_conversation_id of the merged-away conversation: while the merge stands, messaging_private.merged_into routes it to keep_id.';
comment on column messaging_private.conversation_merges.keep_ids_before is
  'Ids of the messages keep held before the merge: undo lists the ones that arrived since.';
comment on column messaging_private.conversation_merges.added_ids is
  'Ids the merge added to keep (the other''s messages keep did not hold): undo takes them out of keep again.';
comment on column messaging_private.conversation_merges.replaced is
  'Keep''s copies that a newer edit of the other conversation replaced: undo puts them back.';
comment on column messaging_private.conversation_merges.repointed is
  'Earlier merges into the other conversation whose keep_id this merge moved to keep (undo moves them back).';
comment on column messaging_private.conversation_merges.adopted_person is
  'The other conversation''s person, taken over by an unlinked keep (undo unlinks keep again while it is still that person).';
comment on column messaging_private.conversation_merges.merged_by is 'auth.uid() of the user who merged (null: the service role).';

create index conversation_merges_route_idx
  on messaging_private.conversation_merges (user_id, platform, other_key) where undone_at is null;
create index conversation_merges_keep_idx on messaging_private.conversation_merges (keep_id);
create index conversation_merges_other_idx on messaging_private.conversation_merges (other_id);
create index conversation_merges_user_idx on messaging_private.conversation_merges (user_id, merged_at desc);
revoke all on messaging_private.conversation_merges from public, anon, authenticated, service_role;


create or replace function messaging_private.merged_into(owner uuid, platform text, participant text)
returns uuid
language sql
stable
set search_path = ''
as $$
  -- the latest standing merge of the key (a key merged again, after a conversation of it
  -- came back before ingest routed it, routes to where it went last)
  select m.keep_id from messaging_private.conversation_merges m
   where m.user_id = owner and m.platform = merged_into.platform and m.other_key = participant
     and m.undone_at is null
   order by m.seq desc
   limit 1;
$$;
comment on function messaging_private.merged_into(uuid, text, text) is
  'The conversation a merged-away conversation key (external_conversation_id) of an owner and platform now lives in, or null: one index lookup, for ingest to route later messages to keep.';
revoke all on function messaging_private.merged_into(uuid, text, text) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_route_merged(owner uuid, groups jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
  -- A group whose conversation does not exist and whose key a standing merge moved lands
  -- in the merge's keep (one probe of the conversation, then one of the merges' route
  -- index, per such group). Groups of conversations that exist are left as they are.
begin
  if not exists (select 1 from messaging_private.conversation_merges m
                  where m.user_id = owner and m.undone_at is null) then
    return groups;  -- nobody merged: one probe for the whole batch
  end if;
  return (
    select pg_catalog.jsonb_agg(coalesce(
             (select g.x || pg_catalog.jsonb_build_object('external_conversation_id', k.external_conversation_id)
                from public.chat_conversations k
               where not exists (select 1 from public.chat_conversations c
                                  where c.user_id = owner and c.platform = g.x ->> 'platform'
                                    and c.external_conversation_id = g.x ->> 'external_conversation_id')
                 and k.id = messaging_private.merged_into(owner, g.x ->> 'platform', g.x ->> 'external_conversation_id')),
             g.x) order by g.ord)
      from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
  );
end;
$$;
comment on function messaging_private.ingest_route_merged(uuid, jsonb) is
  'ingest_messages: the groups whose conversation key a standing merge moved, pointed at the keep conversation (an owner who never merged costs one probe per batch).';
revoke all on function messaging_private.ingest_route_merged(uuid, jsonb) from public, anon, authenticated, service_role;
