-- =============================================================================
-- Updates kept for messages not stored yet
--
-- A reaction, status, vote or deletion can arrive before its message (a webhook's
-- order is not the chat's; an import brings the message later) or without it. The
-- update is kept here, per owner, keyed by the message it names, and applied exactly
-- once when that message is stored by any path (22_pending_updates.sql). Capped per
-- owner (contract limit pending_updates_per_user) and aged out after
-- pending_update_days. A poll's later counts and votes name the poll only (Telegram's
-- poll and poll_answer): poll_messages finds the message of a poll id.
-- =============================================================================

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

create or replace function messaging_private.keep_pending(owner uuid, u jsonb)
returns text
language plpgsql
set search_path = ''
as $$
-- A checked update naming no stored message kept for its message: 'pending' (also when
-- the same update is kept already), or 'missing' when the owner keeps the most allowed.
declare
  v_cap bigint := messaging_private.contract_limit('pending_updates_per_user');
begin
  delete from messaging_private.pending_updates p
   where p.user_id = owner
     and p.kept_at < pg_catalog.now() - pg_catalog.make_interval(days => messaging_private.contract_limit('pending_update_days')::integer);
  if (select pg_catalog.count(*) from (select 1 from messaging_private.pending_updates p
                                        where p.user_id = owner limit v_cap) k) >= v_cap then
    return 'missing';
  end if;
  insert into messaging_private.pending_updates (user_id, platform, external_conversation_id, message_id, update)
  values (owner, u ->> 'platform', coalesce(u ->> 'external_conversation_id', ''),
          coalesce(u ->> 'id', 'poll:' || (u ->> 'poll_id')), u)
  on conflict do nothing;
  return 'pending';
end;
$$;
comment on function messaging_private.keep_pending(uuid, jsonb) is
  'Keeps an update naming no stored message (pending_updates: once however often delivered, aged out after pending_update_days): pending, or missing past pending_updates_per_user.';
revoke all on function messaging_private.keep_pending(uuid, jsonb) from public, anon, authenticated, service_role;
