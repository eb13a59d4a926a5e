-- issue 28: updates kept for messages not stored yet (pending_updates), poll ids (poll_messages),
-- the played status and the two limits of pending updates. Functions: the _functions migration after this.

create table messaging_private.pending_updates (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  platform text not null,
  external_conversation_id text not null,
  message_id text not null,
  update jsonb not null check (pg_catalog.jsonb_typeof(update) = 'object'),
  kept_at timestamptz not null default pg_catalog.now()
);
comment on table messaging_private.pending_updates is
  'Updates (status, reaction, vote, poll, delete) naming a message the store does not hold yet, kept per owner until the message is stored (then applied once and removed), at most pending_updates_per_user per owner, for pending_update_days. Not exposed, no grants to API roles.';
comment on column messaging_private.pending_updates.id is 'Order of arrival: kept updates are applied in it.';
comment on column messaging_private.pending_updates.user_id is 'The owner the update was delivered for.';
comment on column messaging_private.pending_updates.platform is 'The update''s platform.';
comment on column messaging_private.pending_updates.external_conversation_id is
  'The conversation the update names (empty for an update naming a poll id only).';
comment on column messaging_private.pending_updates.message_id is
  'The message id the update names, or poll:<poll id> for an update naming a poll id only.';
comment on column messaging_private.pending_updates.update is 'The checked update as delivered.';
comment on column messaging_private.pending_updates.kept_at is 'When it was kept (aged out after pending_update_days).';
-- the same update delivered again is kept once; the owner's probe, the message's lookup and
-- the age-out read these
create unique index pending_updates_once_idx on messaging_private.pending_updates
  (user_id, platform, message_id, external_conversation_id, (pg_catalog.md5(update::text)));
create index pending_updates_kept_at_idx on messaging_private.pending_updates (user_id, kept_at);
-- a conversation's kept statuses: the thread's placeholders (get_conversation_placeholders)
create index pending_updates_conversation_idx on messaging_private.pending_updates
  (user_id, platform, external_conversation_id);
alter table messaging_private.pending_updates enable row level security;
revoke all on messaging_private.pending_updates from public, anon, authenticated, service_role;

create table messaging_private.poll_messages (
  user_id uuid not null references auth.users (id) on delete cascade,
  platform text not null,
  poll_id text not null,
  external_conversation_id text not null,
  message_id text not null,
  primary key (user_id, platform, poll_id)
);
comment on table messaging_private.poll_messages is
  'The stored message of each poll id (metadata.poll.id) per owner, recorded when the poll message is stored: a poll or vote update naming only the poll id (Telegram) finds its message here. Not exposed.';
comment on column messaging_private.poll_messages.user_id is 'The owner of the poll message.';
comment on column messaging_private.poll_messages.platform is 'The poll message''s platform.';
comment on column messaging_private.poll_messages.poll_id is 'The platform''s poll id (metadata.poll.id).';
comment on column messaging_private.poll_messages.external_conversation_id is 'The poll message''s conversation.';
comment on column messaging_private.poll_messages.message_id is 'The poll message''s id.';
alter table messaging_private.poll_messages enable row level security;
revoke all on messaging_private.poll_messages from public, anon, authenticated, service_role;

insert into messaging_private.delivery_statuses (status, rank, description) values
  ('played', 5, 'The recipient played it (a voice message listened to; WhatsApp).');
insert into messaging_private.contract_limits (name, value, unit, description) values
  ('pending_updates_per_user', 10000, 'updates',
   'Most updates kept per user for messages not stored yet (past it an update naming no stored message is counted missing).'),
  ('pending_update_days', 30, 'days',
   'How long an update naming no stored message is kept for its message.');
