-- issue 27, items 2 and 3 (written by hand): ids that are not phones, and number and id
-- changes. The kinds of identifier (identifier_kinds) and the new kinds of
-- person_identifiers; the message field participant_ids; the aliases of a conversation
-- (chat_conversation_identifiers) and the link suggestions an id met in two conversations
-- leaves. The functions are re-declared in the identity_aliases_functions migration, and
-- the trigger that needs one of them in identity_aliases_trigger.
create table messaging_private.identifier_kinds (
  kind text primary key check (kind ~ '^[a-z][a-z_]*$'),
  position integer not null unique,
  platform text check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  example text not null,
  description text not null
);
comment on table messaging_private.identifier_kinds is
  'The kinds of person_identifiers and chat_conversation_identifiers (docs/contract.md, identifier kinds): platform is the one platform whose participants have that kind, null for any.';

insert into messaging_private.identifier_kinds (kind, position, platform, example, description) values
  ('phone', 1, null, '+34612345678', 'A phone number, E.164.'),
  ('username', 2, null, 'ana.lopez', 'A username (WhatsApp, Telegram, Signal), lower-case without @; give the platform.'),
  ('email', 3, null, 'ana@example.com', 'An email address, lower-case.'),
  ('whatsapp_user_id', 4, 'whatsapp', 'US.13491208655302741918',
   'WhatsApp''s business-scoped user id (BSUID: from_user_id, user_id, recipient_user_id).'),
  ('whatsapp_parent_user_id', 5, 'whatsapp', 'US.ENT.11815799212886844830',
   'WhatsApp''s parent business-scoped user id (parent_user_id, shared by a business''s portfolios).'),
  ('whatsapp_lid', 6, 'whatsapp', '123456789012345', 'A WhatsApp linked-device id of msgstore.db (the digits of a @lid jid).'),
  ('telegram_user_id', 7, 'telegram', '123456789', 'A Telegram numeric user id.'),
  ('signal_aci', 8, 'signal', '6e1c6b0e-6ad7-4f8b-9e43-3b5d6a7e9c01', 'A Signal account identity (ACI), a UUID.'),
  ('signal_pni', 9, 'signal', '0b3c8e1d-2f4a-4b6c-8d9e-1a2b3c4d5e6f', 'A Signal phone-number identity (PNI), a UUID.'),
  ('wechat_openid', 10, 'wechat', 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 'A WeChat official account''s openid of a follower.');

alter table public.person_identifiers drop constraint person_identifiers_kind_check;
alter table public.person_identifiers add constraint person_identifiers_kind_check
  check (kind in ('phone', 'username', 'email', 'whatsapp_user_id', 'whatsapp_parent_user_id',
                  'whatsapp_lid', 'telegram_user_id', 'signal_aci', 'signal_pni', 'wechat_openid'));

insert into messaging_private.payload_fields (scope, position, field, kind, required, max_length, vocabulary, description) values
('message', 19, 'participant_ids', 'object', false, 4096, null,
   'The other party''s ids by kind ({"phone": "+34612345678", "whatsapp_user_id": "US.1349..."}, a value or an array of up to 8): aliases of a direct conversation (docs/contract.md, identity aliases).');

create table public.chat_conversation_identifiers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  platform text not null check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  kind text not null check (kind in ('phone', 'username', 'email', 'whatsapp_user_id', 'whatsapp_parent_user_id',
                                     'whatsapp_lid', 'telegram_user_id', 'signal_aci', 'signal_pni', 'wechat_openid')),
  value text not null check (pg_catalog.length(value) between 1 and 320),
  first_seen_at timestamptz not null default now(),
  constraint chat_conversation_identifiers_unique unique (user_id, platform, kind, value)
);
comment on table public.chat_conversation_identifiers is
  'The ids of a direct conversation''s participant (an alias each: one conversation per owner, platform, kind and value), recorded by ingest_messages from the messages'' participant_ids; first_seen_at: when the store first met it. docs/contract.md, identity aliases.';

create index chat_conversation_identifiers_conversation_id_idx
  on public.chat_conversation_identifiers (conversation_id);
create index chat_conversation_identifiers_user_kind_value_idx
  on public.chat_conversation_identifiers (user_id, kind, value);

alter table public.chat_conversation_identifiers enable row level security;

revoke all on public.chat_conversation_identifiers from anon, authenticated, service_role;
grant select on public.chat_conversation_identifiers to authenticated, service_role;

create policy "Users can view the identifiers of their own conversations" on public.chat_conversation_identifiers
  for select to authenticated using (user_id = (select auth.uid()));

-- -----------------------------------------------------------------------------
-- chat_conversation_link_suggestions: an id met in two conversations
-- -----------------------------------------------------------------------------

create table public.chat_conversation_link_suggestions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  other_conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  kind text not null,
  value text not null check (pg_catalog.length(value) between 1 and 320),
  created_at timestamptz not null default now(),
  constraint chat_conversation_link_suggestions_unique unique (conversation_id, other_conversation_id, kind, value),
  constraint chat_conversation_link_suggestions_two check (conversation_id <> other_conversation_id)
);
comment on table public.chat_conversation_link_suggestions is
  'Two conversations of one owner that share an id (kind, value): conversation_id holds it as an alias, other_conversation_id received a message carrying it. The store never merges them by itself; a user merges or deletes the suggestion.';

create index chat_conversation_link_suggestions_user_id_idx on public.chat_conversation_link_suggestions (user_id);
create index chat_conversation_link_suggestions_other_idx
  on public.chat_conversation_link_suggestions (other_conversation_id);

alter table public.chat_conversation_link_suggestions enable row level security;

revoke all on public.chat_conversation_link_suggestions from anon, authenticated, service_role;
grant select, delete on public.chat_conversation_link_suggestions to authenticated, service_role;

create policy "Users can view their own link suggestions" on public.chat_conversation_link_suggestions
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can dismiss their own link suggestions" on public.chat_conversation_link_suggestions
  for delete to authenticated using (user_id = (select auth.uid()));
