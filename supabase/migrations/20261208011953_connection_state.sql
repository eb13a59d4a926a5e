-- issue 28 (what the connection knows): history backfill, business connection and unknown kinds
-- on the connection; the business app's contact names; deliver_messages takes its source.
drop function if exists messaging_private.deliver_messages(uuid, uuid, jsonb);

alter table public.messaging_connections add column history_backfill jsonb
  check (history_backfill is null or pg_catalog.jsonb_typeof(history_backfill) = 'object');
comment on column public.messaging_connections.history_backfill is
  'WhatsApp history backfill: {phases: {"0"|"1"|"2": {progress, chunk_order, at}}, error?: {code, title, details, at}}; null until a history delivery arrives. progress is the highest percentage seen per phase.';
alter table public.messaging_connections add column business_connection jsonb
  check (business_connection is null or pg_catalog.jsonb_typeof(business_connection) = 'object');
comment on column public.messaging_connections.business_connection is
  'Telegram business connection: {id, enabled, can_reply, at} as the last business_connection update said (an older update does not replace a newer one); null until one arrives.';
alter table public.messaging_connections add column unknown_kinds jsonb not null default '{}'::jsonb
  check (pg_catalog.jsonb_typeof(unknown_kinds) = 'object');
comment on column public.messaging_connections.unknown_kinds is
  'Kinds and update types the function does not know, by the platform''s name: {kind: {count, last_at}}. Messages of such kinds are stored as other; update types are stored as nothing. Counted, never refused.';


-- -----------------------------------------------------------------------------
-- The business's names for numbers (WhatsApp Business app contacts)
-- -----------------------------------------------------------------------------

create table public.contact_name_suggestions (
  connection_id uuid not null references public.messaging_connections (id) on delete cascade,
  identifier text not null check (pg_catalog.length(identifier) between 1 and 320),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  platform text not null check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  match_key text not null,
  full_name text not null check (pg_catalog.length(full_name) between 1 and 500),
  first_name text check (pg_catalog.length(first_name) <= 500),
  changed_at timestamptz not null,
  created_at timestamptz not null default pg_catalog.now(),
  primary key (connection_id, identifier)
);
comment on table public.contact_name_suggestions is
  'The name a connected business app gives a number (WhatsApp smb_app_state_sync contacts): a suggestion shown where a user links a conversation to a person, never a link or a merge by itself. A contact removed in the app removes its row.';
comment on column public.contact_name_suggestions.identifier is 'The number as the store keys it (E.164 with +).';
comment on column public.contact_name_suggestions.match_key is
  'messaging_private.subscriber_key(identifier): what a conversation''s participant identifier is compared by.';
comment on column public.contact_name_suggestions.full_name is 'The contact''s name in the business app.';
comment on column public.contact_name_suggestions.first_name is 'The contact''s first name in the business app, when given.';
comment on column public.contact_name_suggestions.changed_at is 'The time of the app''s last add or edit of the contact.';
comment on column public.contact_name_suggestions.created_at is 'When the store first kept the name.';
create index contact_name_suggestions_user_key_idx on public.contact_name_suggestions (user_id, match_key);

alter table public.contact_name_suggestions enable row level security;
revoke all on public.contact_name_suggestions from anon, authenticated, service_role;
grant select, delete on public.contact_name_suggestions to authenticated;
grant select on public.contact_name_suggestions to service_role;

create policy "Users can view the contact names of their own connections" on public.contact_name_suggestions
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can dismiss the contact names of their own connections" on public.contact_name_suggestions
  for delete to authenticated using (user_id = (select auth.uid()));


