-- Issue 27, merges (hand-written DDL; the functions follow in the drafted *_merges_functions
-- migration): the refusal kinds of merges and the private merge records.
insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('merge_invalid', '22023', 'call', 'Nothing was changed. Name two different direct conversations of one platform, or two different people.',
   'merge_conversations / merge_people: a conversation or person merged with itself, conversations of different platforms, a group conversation, or a person already merged away.'),
  ('merge_not_found', 'P0002', 'call', 'Name your own conversations, people or merges.',
   'merge_conversations / merge_people / undo_merge: the conversation, person or merge does not exist or is not the caller''s.'),
  ('merge_already_undone', '55000', 'call', 'Nothing was changed: the merge was undone before.',
   'undo_merge of a merge that was already undone.'),
  ('merge_undo_blocked', '55000', 'call', 'Undo the later merge the message names first (or merge the new conversation it names into keep).',
   'undo_merge of a merge that a later standing merge builds on, or whose merged-away conversation key has a conversation again.');

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

create table messaging_private.person_merges (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity,
  user_id uuid not null references auth.users (id) on delete cascade,
  keep_id uuid not null references public.people (id) on delete cascade,
  other_id uuid not null references public.people (id) on delete cascade,
  moved_identifiers uuid[] not null,
  left_identifiers uuid[] not null,
  moved_conversations uuid[] not null,
  linked_conversations uuid[] not null,
  merged_at timestamptz not null default now(),
  merged_by uuid,
  undone_at timestamptz,
  undone_by uuid,
  undo_answer jsonb
);
comment on table messaging_private.person_merges is
  'One row per merge of two people: the identifiers and conversations moved to keep_id, the other person''s identifiers left in place (keep already had them), conversations linked to keep by a moved identifier, when and by whom. The other person row stays (the CRM''s own table); a standing merge marks it merged. Not exposed; list_merges() shows it.';
comment on column messaging_private.person_merges.linked_conversations is
  'Unlinked conversations that a moved identifier linked to keep (two people matched them before): undo unlinks them again.';
create index person_merges_keep_idx on messaging_private.person_merges (keep_id);
create index person_merges_other_idx on messaging_private.person_merges (other_id);
create index person_merges_user_idx on messaging_private.person_merges (user_id, merged_at desc);
revoke all on messaging_private.person_merges from public, anon, authenticated, service_role;
