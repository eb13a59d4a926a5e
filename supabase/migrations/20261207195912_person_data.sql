-- issue 27, items 6 and 7 (written by hand): a person's timeline, export and erasure.
-- The two refusals of the person RPCs, and what an erasure keeps (content-free rows:
-- hashes of the conversation, participant and message ids). The functions are
-- re-declared in the person_data_functions migration.
insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('person_not_found', 'P0002', 'call', 'Name a person of yours.',
   'A person read, export or erase for a person that does not exist or is not the caller''s (HTTP 404).'),
  ('cursor_invalid', '22023', 'call', 'Pass back a cursor a timeline page returned, and only one of before and after.',
   'A timeline cursor that is not one a page returned, or both before and after.')
on conflict do nothing;

create table messaging_private.erased_conversations (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  platform text not null,
  conversation_key bytea not null,
  participant_key bytea,
  message_count integer not null check (message_count >= 0),
  erased_at timestamptz not null default pg_catalog.now()
);
comment on table messaging_private.erased_conversations is
  'One content-free row per conversation erase_person removed: the platform, SHA-256 hashes (with the owner''s id) of the conversation key and of the participant identifier, the number of messages and when. No text, no identifier in clear. Not exposed, no grants to API roles.';
comment on column messaging_private.erased_conversations.conversation_key is
  'messaging_private.erased_key(owner, platform, external_conversation_id, null).';
comment on column messaging_private.erased_conversations.participant_key is
  'SHA-256 of owner id and the normalised participant identifier (null when the conversation had none).';
create index erased_conversations_user_id_idx on messaging_private.erased_conversations (user_id);
alter table messaging_private.erased_conversations enable row level security;
revoke all on messaging_private.erased_conversations from public, anon, authenticated, service_role;

create table messaging_private.erased_messages (
  user_id uuid not null references auth.users (id) on delete cascade,
  message_key bytea not null,
  erasure_id bigint not null references messaging_private.erased_conversations (id) on delete cascade,
  primary key (user_id, message_key)
);
comment on table messaging_private.erased_messages is
  'The hash of each erased message (owner, platform, conversation, message id): ingest_messages drops an incoming message whose hash is here, so a re-import of an erased export stores nothing. Not exposed.';
comment on column messaging_private.erased_messages.message_key is
  'messaging_private.erased_key(owner, platform, external_conversation_id, message id).';
create index erased_messages_erasure_id_idx on messaging_private.erased_messages (erasure_id);
alter table messaging_private.erased_messages enable row level security;
revoke all on messaging_private.erased_messages from public, anon, authenticated, service_role;
