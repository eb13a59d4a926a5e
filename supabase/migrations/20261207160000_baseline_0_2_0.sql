-- Baseline rendered from supabase/schemas (python -m devstack release); do not edit.

-- ---- supabase/schemas/01_foundation.sql ----

-- =============================================================================
-- Foundation: the private schema, function privileges, shared triggers
--
-- Runs first. messaging_private holds the privileged code; PostgREST does not expose it.
-- =============================================================================

-- Supabase's default privileges grant EXECUTE on every new function in `public` to anon,
-- authenticated and service_role, so a helper created without thinking becomes an RPC
-- endpoint anyone with the anon key can call. As basejump does, this project revokes that
-- default before any function exists; every file grants each public function to the
-- roles that need it (and revokes PUBLIC's execute, which PostgreSQL grants globally).
-- supabase/tests/09_function_privileges_test.sql checks that anon can call none of them.
--
-- Function style, for every file: private helpers are plpgsql, even one-statement
-- ones. No function here can be inlined into its caller (every one pins
-- `search_path = ''`, as the advisors require, and a SET clause rules inlining out), and
-- PostgreSQL 15 plans a SQL function's statements again in every outer query, while
-- plpgsql keeps each statement's plan for the session: one-message ingest calls were
-- dearer with the one-statement helpers as `language sql`, and large calls no faster
-- (figures in bench/HISTORY.md). `language sql` is kept for the thin
-- public wrappers over private functions (one call per request, nothing worth caching).
-- Inside function bodies, built-ins are written with pg_catalog. (redundant, since
-- pg_catalog is always searched first, but uniform); DDL outside functions is not.

alter default privileges for role postgres in schema public
  revoke execute on functions from anon, authenticated, service_role;

create schema if not exists messaging_private;
comment on schema messaging_private is
  'crm-messaging internals: privileged functions and settings. Not exposed by PostgREST.';
revoke all on schema messaging_private from public;
grant usage on schema messaging_private to authenticated, service_role;


create or replace function messaging_private.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end;
$$;
comment on function messaging_private.touch_updated_at() is 'Trigger: sets updated_at on every update.';

-- ---- supabase/schemas/02_vocabulary.sql ----

-- =============================================================================
-- The messaging vocabulary, defined once
--
-- The platforms, message directions, message types and conversation types are
-- enum types here and nowhere else: table checks and the ingest's payload rules
-- read them (pg_catalog.enum_range), and `supabase gen types` carries them to
-- the Python models (client/db_types.py), the CRM screens
-- (web/src/types/database.ts) and the edge function
-- (supabase/functions/_shared/database.ts). Columns stay text, checked against
-- the enum, so the API, its filters and its error codes are what they were.
-- Adding a value: `alter type ... add value`, then `make types web-types`.
-- =============================================================================

create type public.messaging_platform as enum ('whatsapp', 'signal', 'telegram', 'wechat');
comment on type public.messaging_platform is 'The chat platforms the store takes messages from.';

create type public.message_direction as enum ('inbound', 'outbound');
comment on type public.message_direction is 'Who sent a message: the other party (inbound) or the CRM user (outbound).';

create type public.message_type as enum (
  'text', 'image', 'video', 'audio', 'voice', 'document', 'sticker', 'location', 'contact', 'system', 'other'
);
comment on type public.message_type is 'The kind of a stored message; what a platform calls otherwise is other.';

create type public.conversation_type as enum ('direct', 'group');
comment on type public.conversation_type is 'A conversation with one other party (direct) or several (group).';

-- ---- supabase/schemas/03_contract.sql ----

-- =============================================================================
-- The contract, published as data
--
-- What callers of the store must know and what the store itself checks, written
-- once here as rows: the limits of a call, the rules of every payload field, the
-- keys of a stored message, the platforms with the names of their webhook
-- secrets, the delivery statuses in their order, the kinds of refusal (each
-- raise in this schema carries its kind in the error's `hint`) and the form of a
-- webhook URL. The SQL reads its own rules from these tables (payload_errors,
-- ingest_messages, add_messaging_connection, webhook_connection, status_rank,
-- apply_message_updates); public.messaging_contract() publishes them as one JSON
-- object, and `make types` / `make web-types` write it to contract.json for
-- Python, the screens and the edge function (checked fresh by `make test`).
-- The functions that read these tables live in the files after this one.
--
-- Adding a platform is one migration: `alter type public.messaging_platform add
-- value`, a row in platforms, a row per secret in platform_secrets (and a column
-- of that name in connection_secrets when the name is new), then its mapping
-- module in the edge function. docs/contract.md says the same for people.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Limits
-- -----------------------------------------------------------------------------

create table messaging_private.contract_limits (
  name text primary key check (name ~ '^[a-z][a-z0-9_]*$'),
  value bigint not null,
  unit text not null,
  description text not null
);
comment on table messaging_private.contract_limits is
  'Limits of the public contract that are no field''s length: published by messaging_contract(), read by the checks.';

insert into messaging_private.contract_limits (name, value, unit, description) values
  ('messages_per_call', 10000, 'messages',
   'Most messages one ingest_messages call takes (22023 past it); the Python client sends batches below it.'),
  ('updates_per_call', 1000, 'updates',
   'Most status, reaction and delete updates one ingest_webhook_delivery call takes.'),
  ('deliveries_per_call', 100, 'deliveries',
   'Most webhook deliveries one ingest_webhook_deliveries call takes.'),
  ('metadata_max_depth', 32, 'levels',
   'Deepest nesting of a message''s metadata (the metadata object itself is level 1).'),
  ('future_seconds', 86400, 'seconds',
   'How far past the database''s clock sent_at and edited_at may be (clocks of phones drift).'),
  ('earliest_epoch_seconds', 0, 'seconds since 1970-01-01T00:00:00Z',
   'The earliest sent_at and edited_at.');

create or replace function messaging_private.contract_limit(limit_name text)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select l.value from messaging_private.contract_limits l where l.name = limit_name);
end;
$$;
comment on function messaging_private.contract_limit(text) is 'The value of a limit of the published contract.';

-- -----------------------------------------------------------------------------
-- Payload fields: what ingest_messages takes
-- -----------------------------------------------------------------------------

create table messaging_private.payload_fields (
  scope text not null check (scope in ('payload', 'message')),
  position integer not null,
  field text not null check (field ~ '^[a-z][a-z0-9_]*$'),
  kind text not null check (kind in ('uuid', 'enum', 'text', 'timestamp', 'object', 'array')),
  required boolean not null default false,
  max_length integer check (max_length > 0),
  vocabulary regtype check ((kind = 'enum') = (vocabulary is not null)),
  description text not null,
  primary key (scope, field),
  unique (scope, position)
);
comment on table messaging_private.payload_fields is
  'The fields of an ingest_messages payload and of each of its messages, with the rule payload_errors checks for each.';
comment on column messaging_private.payload_fields.max_length is
  'text: most characters; object: most characters of its JSON text (as jsonb prints it).';
comment on column messaging_private.payload_fields.vocabulary is 'enum: the enum type whose values are allowed.';

insert into messaging_private.payload_fields (scope, position, field, kind, required, max_length, vocabulary, description) values
  ('payload', 0, 'user_id', 'uuid', false, null, null,
   'The owning CRM user: service_role must name it; a signed-in caller may leave it out (it is auth.uid()).'),
  ('payload', 1, 'platform', 'enum', false, null, 'public.messaging_platform',
   'The platform of every message that names none.'),
  ('payload', 2, 'connection_id', 'uuid', false, null, null,
   'A connection of the owner; the conversations are filed under it and its last_synced_at moves.'),
  ('payload', 3, 'messages', 'array', true, null, null, 'The messages (objects below).'),
  ('message', 2, 'platform', 'enum', true, null, 'public.messaging_platform',
   'Required here or at the top level of the payload.'),
  ('message', 3, 'external_conversation_id', 'text', true, 256, null,
   'The conversation on its platform (a phone in E.164, a chat id, group:<id>).'),
  ('message', 4, 'id', 'text', true, 256, null, 'The message id, unique within its conversation.'),
  ('message', 5, 'direction', 'enum', true, null, 'public.message_direction', 'Who sent it.'),
  ('message', 6, 'type', 'enum', false, null, 'public.message_type', 'The kind of message; text when left out.'),
  ('message', 7, 'content', 'text', false, 65536, null, 'The text, or a media caption.'),
  ('message', 8, 'media_url', 'text', false, 2048, null, 'Where the media is.'),
  ('message', 9, 'sent_at', 'timestamp', true, null, null,
   'ISO 8601 with an offset, from earliest_epoch_seconds to future_seconds past now.'),
  ('message', 10, 'edited_at', 'timestamp', false, null, null,
   'When it was edited (not before sent_at); a re-sent id with a newer edited_at replaces the stored copy.'),
  ('message', 11, 'participant_identifier', 'text', false, 256, null,
   'The other party''s phone or username: links the conversation to a person.'),
  ('message', 12, 'participant_name', 'text', false, 256, null, 'The other party''s name.'),
  ('message', 13, 'conversation_type', 'enum', false, null, 'public.conversation_type', 'direct when left out.'),
  ('message', 14, 'person_id', 'uuid', false, null, null, 'A person of the owner to link the conversation to.'),
  ('message', 15, 'sender_identifier', 'text', false, 256, null, 'Who sent it, in a group.'),
  ('message', 16, 'sender_name', 'text', false, 256, null, 'The sender''s name.'),
  ('message', 17, 'reply_to_id', 'text', false, 256, null, 'The id of the message it answers.'),
  ('message', 18, 'metadata', 'object', false, 16384, null,
   'Anything else, at most metadata_max_depth levels deep.');

-- -----------------------------------------------------------------------------
-- A stored message: the keys every read returns
-- -----------------------------------------------------------------------------

create table messaging_private.stored_message_keys (
  key text primary key check (key ~ '^[a-z][a-z0-9_]*$'),
  position integer not null unique,
  always boolean not null,
  type text not null check (type in ('string', 'string or null', 'object')),
  description text not null
);
comment on table messaging_private.stored_message_keys is
  'The keys of a stored message object (hot row, archive, get_conversation_messages, search hits); always: present in every message.';

insert into messaging_private.stored_message_keys (key, position, always, type, description) values
  ('id', 1, true, 'string', 'The message id.'),
  ('direction', 2, true, 'string', 'inbound or outbound.'),
  ('type', 3, true, 'string', 'A message_type value.'),
  ('content', 4, true, 'string or null', 'The text (null for media without a caption, or a deleted message).'),
  ('media_url', 5, true, 'string or null', 'Where the media is.'),
  ('sent_at', 6, true, 'string', 'ISO 8601 in UTC with Z, the fraction only when there is one.'),
  ('sender_identifier', 7, false, 'string', 'When given.'),
  ('sender_name', 8, false, 'string', 'When given.'),
  ('reply_to_id', 9, false, 'string', 'When given.'),
  ('edited_at', 10, false, 'string', 'When given: ISO 8601 in UTC, like sent_at.'),
  ('metadata', 11, false, 'object',
   'When given; webhooks add status, status_at, status_error, reactions, deleted and deleted_at.');

-- -----------------------------------------------------------------------------
-- Platforms and their webhook secrets
-- -----------------------------------------------------------------------------

create table messaging_private.platforms (
  platform text primary key,
  label text not null,
  description text not null
);
comment on table messaging_private.platforms is
  'One row per messaging_platform value: its name for people and how its webhook authenticates.';

create table messaging_private.platform_secrets (
  platform text not null references messaging_private.platforms (platform) on delete cascade,
  name text not null check (name ~ '^[a-z][a-z0-9_]*$'),
  position integer not null,
  pattern text,
  max_length integer not null default 512 check (max_length > 0),
  description text not null,
  primary key (platform, name),
  unique (platform, position)
);
comment on table messaging_private.platform_secrets is
  'The webhook secrets each platform needs (add_messaging_connection''s secrets keys); each name is a column of connection_secrets.';
comment on column messaging_private.platform_secrets.pattern is
  'A regular expression the whole value must match (what the platform accepts), or null for any non-empty string.';

insert into messaging_private.platforms (platform, label, description) values
  ('whatsapp', 'WhatsApp',
   'WhatsApp Cloud API: GET answers hub.challenge when hub.verify_token is the verify token; POST carries X-Hub-Signature-256, HMAC-SHA256 of the raw body with the app secret.'),
  ('signal', 'Signal',
   'signal-cli receive notifications forwarded with Authorization: Bearer <token>.'),
  ('telegram', 'Telegram',
   'Telegram Bot API: X-Telegram-Bot-Api-Secret-Token is the secret_token given to setWebhook.'),
  ('wechat', 'WeChat',
   'WeChat Official Account, plaintext mode: signature is sha1 of the sorted token, timestamp and nonce.');

insert into messaging_private.platform_secrets (platform, name, position, pattern, max_length, description) values
  ('whatsapp', 'app_secret', 1, null, 512, 'The Meta app secret: signs every delivery.'),
  ('whatsapp', 'verify_token', 2, null, 512, 'Any string; the same in Meta''s "Verify token" field.'),
  ('telegram', 'secret_token', 1, '^[A-Za-z0-9_-]+$', 256,
   'The secret_token given to setWebhook: 1-256 of A-Z a-z 0-9 _ - (what Telegram accepts).'),
  ('signal', 'token', 1, null, 512, 'The bearer token the forwarder sends.'),
  ('wechat', 'token', 1, '^[A-Za-z0-9]{3,32}$', 32,
   'The token of the account''s server settings: 3-32 letters or digits (what WeChat accepts).');

-- -----------------------------------------------------------------------------
-- Delivery statuses
-- -----------------------------------------------------------------------------

create table messaging_private.delivery_statuses (
  status text primary key check (status ~ '^[a-z]+$'),
  rank integer not null unique check (rank > 0),
  description text not null
);
comment on table messaging_private.delivery_statuses is
  'The values of a stored message''s metadata.status, in the order a status may move (only up).';

insert into messaging_private.delivery_statuses (status, rank, description) values
  ('sent', 1, 'The platform accepted the message.'),
  ('failed', 2, 'The send failed after it was accepted (above sent: a later delivered or read proves it arrived).'),
  ('delivered', 3, 'It reached the recipient''s device.'),
  ('read', 4, 'The recipient read it.');

-- -----------------------------------------------------------------------------
-- Kinds of refusal
-- -----------------------------------------------------------------------------

create table messaging_private.refusal_kinds (
  kind text primary key check (kind ~ '^[a-z][a-z0-9_]*$'),
  sqlstate text not null check (sqlstate ~ '^[0-9A-Z]{5}$'),
  scope text not null check (scope in ('call', 'conversation')),
  advice text not null,
  description text not null
);
comment on table messaging_private.refusal_kinds is
  'Every refusal the store raises carries one of these kinds in the error''s hint (PostgREST passes it on as "hint"); callers branch on the kind, never on the message. scope call: any call of this caller would be refused alike (stop); conversation: the content of a conversation (the rest can be sent without it).';

insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('payload_invalid', '22023', 'conversation',
   'Nothing was written. Fix the fields named and send the batch again.',
   'A message field breaks its rule (payload_fields, contract_limits); the message names every one by path, details lists them one a line.'),
  ('payload_not_object', '22023', 'call', 'Send {"messages": [...]}.', 'The payload is not a JSON object.'),
  ('messages_not_array', '22023', 'call', 'Send {"messages": [...]}.', 'messages is missing or not an array.'),
  ('too_many_messages', '22023', 'call',
   'Split the import into batches (the Python client does this for you).',
   'More than messages_per_call messages in one call.'),
  ('user_id_required', '22023', 'call', 'Name the owning CRM user in user_id.',
   'service_role called without a user_id, or one that is no UUID.'),
  ('user_unknown', '22023', 'call', 'Name a user of auth.users.', 'The user_id names no user.'),
  ('user_id_not_own', '42501', 'call', 'Leave user_id out; it is taken from the token.',
   'A signed-in user named another user, or a delivery named a user that does not own the connection.'),
  ('token_without_user', '42501', 'call', 'Sign in again: the token names no user.',
   'An authenticated token without sub.'),
  ('role_not_allowed', '42501', 'call', 'Call as a signed-in user or with the service key.',
   'The role of the request may not call this (anon, or a role of its own).'),
  ('service_role_required', '42501', 'call', 'Only the messaging-ingest function calls this.',
   'A service_role-only function called by another role.'),
  ('connection_not_own', '42501', 'call', 'Name a connection of the owner, or none.',
   'connection_id names a connection of another user, or none at all.'),
  ('person_not_own', '42501', 'conversation', 'Name a person of the owner, or none.',
   'A message''s person_id is not a person of the owner.'),
  ('connection_id_invalid', '22023', 'call', 'Name the connection by its UUID.',
   'A webhook delivery without a connection_id UUID.'),
  ('connection_unknown', '22023', 'call', 'Create the connection first (add_messaging_connection).',
   'A webhook delivery for a connection that does not exist (deleted since).'),
  ('platform_unknown', '22023', 'call', 'Use one of the platforms of the contract.',
   'A platform that is not a messaging_platform value.'),
  ('connection_invalid', '22023', 'call', 'Nothing was written. Give the secrets the platform needs.',
   'add_messaging_connection: a missing account, a secret the platform does not use, or a missing or malformed one.'),
  ('delivery_invalid', '22023', 'call', 'Nothing was written. The messaging-ingest function builds this call; fix the field named.',
   'ingest_webhook_delivery: refused not an array, or a replay_guard without its nonce and digest strings.'),
  ('conversation_not_found', 'P0002', 'call', 'Name a conversation of yours.',
   'mark_conversation_read: the conversation does not exist or is not the caller''s.'),
  ('connection_not_found', 'P0002', 'call', 'Name a connection of yours.',
   'A connection-management call for a connection that does not exist or is not the caller''s.'),
  ('status_invalid', '22023', 'call', 'Set active or paused.',
   'set_messaging_connection_status with a status a user may not set.'),
  ('updates_invalid', '22023', 'call', 'Nothing was written. Fix the updates named.',
   'ingest_webhook_delivery: updates not an array, more than updates_per_call, or an update breaking its rule.'),
  ('identifier_invalid', '22023', 'call', 'Write phones with their country code (+34 ...).',
   'A person identifier that is empty, or a phone that is not in international form.'),
  ('max_count_out_of_range', '22023', 'call', 'Ask for fewer.',
   'max_count of a read or a search outside what it allows.'),
  ('cursor_incomplete', '22023', 'call', 'Give before_sent_at with before_id.',
   'A page cursor with before_id but no before_sent_at.');

-- -----------------------------------------------------------------------------
-- The contract as one JSON object: public.messaging_contract()
-- -----------------------------------------------------------------------------

create or replace function messaging_private.messaging_contract()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return pg_catalog.jsonb_build_object(
    'limits', (
      select pg_catalog.jsonb_object_agg(l.name, pg_catalog.jsonb_build_object(
               'value', l.value, 'unit', l.unit, 'description', l.description))
        from messaging_private.contract_limits l),
    'payload_fields', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'scope', f.scope, 'field', f.field, 'kind', f.kind, 'required', f.required,
               'max_length', f.max_length,
               'vocabulary', (select t.typname from pg_catalog.pg_type t where t.oid = f.vocabulary),
               'values', (select pg_catalog.jsonb_agg(e.enumlabel order by e.enumsortorder)
                            from pg_catalog.pg_enum e where e.enumtypid = f.vocabulary),
               'description', f.description)
             order by f.scope desc, f.position)
        from messaging_private.payload_fields f),
    'stored_message', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'key', k.key, 'always', k.always, 'type', k.type, 'description', k.description)
             order by k.position)
        from messaging_private.stored_message_keys k),
    'platforms', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'platform', e.enumlabel, 'label', p.label, 'description', p.description,
               'secrets', coalesce((
                 select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                          'name', s.name, 'pattern', s.pattern, 'max_length', s.max_length,
                          'description', s.description) order by s.position)
                   from messaging_private.platform_secrets s where s.platform = e.enumlabel), '[]'::jsonb))
             order by e.enumsortorder)
        from pg_catalog.pg_enum e
        left join messaging_private.platforms p on p.platform = e.enumlabel::text
       where e.enumtypid = 'public.messaging_platform'::regtype),
    'delivery_statuses', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'status', d.status, 'rank', d.rank, 'description', d.description) order by d.rank)
        from messaging_private.delivery_statuses d),
    'refusals', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'kind', r.kind, 'sqlstate', r.sqlstate, 'scope', r.scope, 'advice', r.advice,
               'description', r.description) order by r.kind)
        from messaging_private.refusal_kinds r),
    'webhook_url', '{functions_url}/messaging-ingest/{platform}/{connection_id}'
  );
end;
$$;
comment on function messaging_private.messaging_contract() is
  'The privileged body of public.messaging_contract(): reads the contract tables of messaging_private.';
revoke all on function messaging_private.messaging_contract() from public;
grant execute on function messaging_private.messaging_contract() to authenticated, service_role;

create or replace function public.messaging_contract()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select messaging_private.messaging_contract();
$$;
comment on function public.messaging_contract() is
  'The contract as data: limits, payload field rules, stored-message keys, platforms with their webhook secret names, delivery statuses, refusal kinds (carried in each error''s hint) and the webhook URL form. make types writes it to contract.json.';
revoke all on function public.messaging_contract() from public, anon;
grant execute on function public.messaging_contract() to authenticated, service_role;

-- ---- supabase/schemas/04_people.sql ----

-- =============================================================================
-- People and their identifiers
--
-- `people` is the CRM's own table; it is created here only when the CRM does not
-- have one. `person_identifiers` holds the phones, usernames and emails by which
-- a chat participant is matched to a person. Values are stored normalised:
-- phones as E.164 (+34612345678), usernames lower-case without a leading @,
-- emails lower-case.
--

-- =============================================================================


-- -----------------------------------------------------------------------------
-- Identifier normalisation (the same rules as crm_messaging.identifiers)
-- -----------------------------------------------------------------------------

create or replace function messaging_private.normalize_identifier(kind text, value text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  ws constant text := E' \t\n\r\f\v';
  trimmed text := pg_catalog.btrim(value, ws);
  digits text;
begin
  if trimmed is null or trimmed = '' then
    return null;
  end if;
  if kind = 'email' then
    return pg_catalog.lower(trimmed);
  end if;
  if kind in ('phone', 'any') then
    if trimmed ~ '^\+?[0-9]{6,15}@(s\.whatsapp\.net|c\.us)$' then
      -- a WhatsApp JID: 34612345678@s.whatsapp.net
      return '+' || pg_catalog.regexp_replace(pg_catalog.split_part(trimmed, '@', 1), '[^0-9]', '', 'g');
    end if;
    if trimmed ~ '^(\+|00)[0-9 ().\-/]{6,24}$' then
      -- international form: + or 00, digits and separators; a trunk (0) is dropped
      digits := pg_catalog.regexp_replace(
        pg_catalog.regexp_replace(pg_catalog.replace(trimmed, '(0)', ''), '^00', ''),
        '[^0-9]', '', 'g');
      if digits ~ '^[1-9][0-9]{5,14}$' then
        return '+' || digits;
      end if;
    end if;
    if kind = 'phone' then
      return null;  -- no country code (or no phone at all): refused, never guessed
    end if;
  end if;
  return pg_catalog.lower(pg_catalog.regexp_replace(trimmed, '^@+', ''));
end;
$$;
comment on function messaging_private.normalize_identifier(text, text) is
  'Normalises an identifier of the given kind (phone, username, email, or any for a chat participant): a JID or an international phone (+ or 00) to E.164, null for a phone without a country code; usernames lower-case without a leading @; emails lower-case. crm_messaging.identifiers.normalize_identifier is the same rule (tests/fixtures/phone_cases.json).';
grant execute on function messaging_private.normalize_identifier(text, text) to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- people (only if the CRM does not have it)
-- -----------------------------------------------------------------------------

do $people$
begin
  if pg_catalog.to_regclass('public.people') is not null then
    raise notice 'public.people exists: using the CRM''s own table';
    return;
  end if;

  create table public.people (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    full_name text not null check (pg_catalog.length(full_name) between 1 and 500),
    email text check (pg_catalog.length(email) <= 320),
    phone text check (pg_catalog.length(phone) <= 64),
    created_at timestamptz not null default now()
  );
  comment on table public.people is
    'CRM people. Created by crm-messaging only where the CRM has no people table.';

  create index people_user_id_idx on public.people (user_id);

  alter table public.people enable row level security;

  revoke all on public.people from anon, authenticated, service_role;
  grant select, insert, update, delete on public.people to authenticated, service_role;

  create policy "Users can view their own people" on public.people
    for select to authenticated using (user_id = (select auth.uid()));
  create policy "Users can add people of their own" on public.people
    for insert to authenticated with check (user_id = (select auth.uid()));
  create policy "Users can update their own people" on public.people
    for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
  create policy "Users can delete their own people" on public.people
    for delete to authenticated using (user_id = (select auth.uid()));
end
$people$;

-- -----------------------------------------------------------------------------
-- person_identifiers
-- -----------------------------------------------------------------------------

create table public.person_identifiers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  person_id uuid not null references public.people (id) on delete cascade,
  kind text not null check (kind in ('phone', 'username', 'email')),
  platform text check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  value text not null check (pg_catalog.length(value) between 1 and 320),
  created_at timestamptz not null default now(),
  constraint person_identifiers_unique unique nulls not distinct (person_id, kind, platform, value)
);
comment on table public.person_identifiers is
  'Phones (E.164), usernames (lower-case, no @) and emails of a person, matched against chat participants. platform null means any platform.';

create index person_identifiers_user_value_idx on public.person_identifiers (user_id, value);
create index person_identifiers_person_id_idx on public.person_identifiers (person_id);

alter table public.person_identifiers enable row level security;

revoke all on public.person_identifiers from anon, authenticated, service_role;
grant select, insert, update, delete on public.person_identifiers to authenticated, service_role;

create policy "Users can view their own person identifiers" on public.person_identifiers
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can add identifiers to their own people" on public.person_identifiers
  for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.people p where p.id = person_id and p.user_id = (select auth.uid()))
  );
create policy "Users can update identifiers of their own people" on public.person_identifiers
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.people p where p.id = person_id and p.user_id = (select auth.uid()))
  );
create policy "Users can delete their own person identifiers" on public.person_identifiers
  for delete to authenticated using (user_id = (select auth.uid()));

-- -----------------------------------------------------------------------------
-- Normalise identifier values on the way in
-- -----------------------------------------------------------------------------

create or replace function messaging_private.person_identifiers_normalize()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.kind = 'phone' and pg_catalog.btrim(coalesce(new.value, '')) <> ''
     and messaging_private.normalize_identifier('phone', new.value) is null then
    raise exception using errcode = '22023',
      message = pg_catalog.format(
        'value: %L is not a phone number in international form (+34 612 34 56 78)', new.value),
      hint = 'identifier_invalid';
  end if;
  new.value := messaging_private.normalize_identifier(new.kind, new.value);
  if new.value is null then
    raise exception using errcode = '22023', message = 'value: must not be empty', hint = 'identifier_invalid';
  end if;
  return new;
end;
$$;
comment on function messaging_private.person_identifiers_normalize() is
  'Trigger: stores person_identifiers.value normalised for its kind and refuses malformed phones.';

create trigger person_identifiers_normalize
  before insert or update of kind, value on public.person_identifiers
  for each row execute function messaging_private.person_identifiers_normalize();

-- ---- supabase/schemas/05_connections.sql ----

-- =============================================================================
-- Messaging connections
--
-- A CRM user's account on a messaging platform: the phone or username the chats
-- were exported from or synced with. Imports record it, set last_synced_at and
-- file their conversations under it (chat_conversations.connection_id).
-- =============================================================================

create table public.messaging_connections (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  platform text not null check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  account_identifier text not null check (pg_catalog.length(account_identifier) between 1 and 320),
  display_name text check (pg_catalog.length(display_name) <= 500),
  status text not null default 'active' check (status in ('active', 'paused', 'error', 'disconnected')),
  last_synced_at timestamptz,
  last_error text check (pg_catalog.length(last_error) <= 4000),
  refused_count bigint not null default 0 check (refused_count >= 0),
  last_refused_at timestamptz,
  settings jsonb not null default '{}'::jsonb check (pg_catalog.jsonb_typeof(settings) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint messaging_connections_account_unique unique (user_id, platform, account_identifier)
);
comment on table public.messaging_connections is
  'A CRM user''s account on a messaging platform (the exporting or syncing side of their chats).';
comment on column public.messaging_connections.status is
  'active | error (the last delivery failed in the database; the platform retries) | paused | disconnected (webhook deliveries are answered so the platform stops retrying, and nothing is stored).';
comment on column public.messaging_connections.last_synced_at is
  'When a delivery or an import last stored something through this connection (a delivery wholly refused or paused does not move it).';
comment on column public.messaging_connections.last_error is
  'The last failure or refusal of a webhook delivery, in words (refusals also count in refused_count).';
comment on column public.messaging_connections.refused_count is
  'Webhook messages, updates and deliveries refused for good (invalid content, another account, a replayed nonce): a retry cannot store them.';
comment on column public.messaging_connections.last_refused_at is
  'When the last refusal counted in refused_count happened.';

alter table public.messaging_connections enable row level security;

revoke all on public.messaging_connections from anon, authenticated, service_role;
grant select, insert, update, delete on public.messaging_connections to authenticated, service_role;

create policy "Users can view their own connections" on public.messaging_connections
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can add connections of their own" on public.messaging_connections
  for insert to authenticated with check (user_id = (select auth.uid()));
create policy "Users can update their own connections" on public.messaging_connections
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy "Users can delete their own connections" on public.messaging_connections
  for delete to authenticated using (user_id = (select auth.uid()));


create trigger messaging_connections_touch
  before update on public.messaging_connections
  for each row execute function messaging_private.touch_updated_at();


-- -----------------------------------------------------------------------------
-- Secrets
-- -----------------------------------------------------------------------------

create table messaging_private.connection_secrets (
  connection_id uuid primary key references public.messaging_connections (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  app_secret text check (pg_catalog.length(app_secret) between 1 and 512),
  verify_token text check (pg_catalog.length(verify_token) between 1 and 512),
  secret_token text check (secret_token ~ '^[A-Za-z0-9_-]+$' and pg_catalog.length(secret_token) <= 256),
  token text check (pg_catalog.length(token) between 1 and 512),
  created_at timestamptz not null default pg_catalog.now(),
  updated_at timestamptz not null default pg_catalog.now()
);
comment on table messaging_private.connection_secrets is
  'Webhook secrets of a messaging connection. Not exposed by PostgREST, no grants to API roles: read only by webhook_connection() for the service role.';
comment on column messaging_private.connection_secrets.app_secret is
  'WhatsApp: the Meta app secret; X-Hub-Signature-256 is HMAC-SHA256 of the raw body with it.';
comment on column messaging_private.connection_secrets.verify_token is
  'WhatsApp: the verify token the GET subscription handshake must name (hub.verify_token).';
comment on column messaging_private.connection_secrets.secret_token is
  'Telegram: the secret_token given to setWebhook, sent back in X-Telegram-Bot-Api-Secret-Token.';
comment on column messaging_private.connection_secrets.token is
  'Signal: the bearer token of the forwarder. WeChat: the token of the sha1 signature.';

create index connection_secrets_user_id_idx on messaging_private.connection_secrets (user_id);

-- RLS on and no policy: no role but the owner of the table (the security definer
-- functions below) reads or writes a row, even if a grant were added by mistake.
alter table messaging_private.connection_secrets enable row level security;
revoke all on messaging_private.connection_secrets from public, anon, authenticated, service_role;

create trigger connection_secrets_touch
  before update on messaging_private.connection_secrets
  for each row execute function messaging_private.touch_updated_at();

-- ---- supabase/schemas/06_conversations.sql ----

-- =============================================================================
-- Conversations: one row per chat, newest messages in JSONB, older ones in
-- archive chunks
--
-- chat_conversations.messages holds the newest messages of a conversation
-- (at most settings.hot_max_messages), sorted by (sent_at, id). When it passes
-- the cap, the oldest spill into chat_conversation_archives chunks of at most
-- settings.archive_chunk_messages messages. Chunks never overlap in (sent_at,
-- id) order and are all older than the hot row. message_count counts the whole
-- conversation. Messages are written only by public.ingest_messages(); users may
-- change the link columns (person_id, entity_table, entity_id) and delete.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Settings
-- -----------------------------------------------------------------------------

create table messaging_private.settings (
  key text primary key,
  value integer not null check (value > 0),
  description text not null
);
comment on table messaging_private.settings is 'Tunables of the conversation store.';

insert into messaging_private.settings (key, value, description) values
  ('hot_max_messages', 100,
   'Most messages kept in chat_conversations.messages; past it the oldest spill to the archive.'),
  ('hot_keep_messages', 50,
   'Messages left in the hot row after a spill (spilling in bulk keeps appends cheap).'),
  ('hot_max_bytes', 262144,
   'Most bytes of searchable text (see messaging_private.search_document) in the hot row; past it the oldest spill.'),
  ('hot_keep_bytes', 131072, 'Most bytes of searchable text left in the hot row after a spill.'),
  ('archive_chunk_messages', 250,
   'Most messages in one chat_conversation_archives chunk: a history page decompresses one or two chunks, so it reads at most ~5x the 50 it returns.'),
  ('archive_chunk_bytes', 262144,
   'Most bytes of searchable text in one archive chunk: keeps every search document far below the 1 MB a tsvector can hold.');

create or replace function messaging_private.setting(setting_key text)
returns integer
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select s.value from messaging_private.settings s where s.key = setting_key
  );
end;
$$;
comment on function messaging_private.setting(text) is 'The value of a conversation-store setting.';

-- -----------------------------------------------------------------------------
-- chat_conversations
-- -----------------------------------------------------------------------------

create table public.chat_conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  connection_id uuid references public.messaging_connections (id) on delete set null,
  platform text not null check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  external_conversation_id text not null
    check (pg_catalog.length(external_conversation_id) between 1 and 256),
  conversation_type text not null default 'direct' check (conversation_type = any (pg_catalog.enum_range(null::public.conversation_type)::text[])),
  person_id uuid references public.people (id) on delete set null,
  entity_table text check (pg_catalog.length(entity_table) between 1 and 63),
  entity_id uuid,
  participant_identifier text check (pg_catalog.length(participant_identifier) <= 256),
  participant_name text check (pg_catalog.length(participant_name) <= 256),
  messages jsonb not null default '[]'::jsonb check (pg_catalog.jsonb_typeof(messages) = 'array'),
  message_count integer not null default 0 check (message_count >= 0),
  first_message_at timestamptz,
  last_message_at timestamptz,
  last_message_preview text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint chat_conversations_external_unique unique (user_id, platform, external_conversation_id)
);
comment on table public.chat_conversations is
  'One row per conversation. messages: the newest messages (sorted oldest to newest, capped); older ones live in chat_conversation_archives. Written only by ingest_messages().';
comment on column public.chat_conversations.messages is
  'The newest messages, sorted by (sent_at, id), at most messaging_private.settings hot_max_messages.';
comment on column public.chat_conversations.message_count is 'Messages in the whole conversation, archive included.';

alter table public.chat_conversations alter column messages set compression lz4;

-- the inbox in keyset pages, newest first, id breaking ties: the order PostgREST's
-- `order=last_message_at.desc,id.desc` asks for (desc puts nulls first, as here), so the
-- first page of 5,000 conversations reads 50 index entries, not 5,000 rows and a sort.
-- It carries every column of chat_conversation_list, so the inbox is an index-only scan
-- (wherever the visibility map allows) that never reads the wide heap rows, whose hot
-- messages stay inline up to ~2 kB.
create index chat_conversations_user_last_message_idx
  on public.chat_conversations (user_id, last_message_at desc, id desc)
  include (connection_id, platform, external_conversation_id, conversation_type, person_id,
           entity_table, entity_id, participant_identifier, participant_name, message_count,
           first_message_at, last_message_preview, created_at, updated_at);
create index chat_conversations_person_id_idx on public.chat_conversations (person_id);
create index chat_conversations_connection_id_idx on public.chat_conversations (connection_id);
create index chat_conversations_participant_idx
  on public.chat_conversations (user_id, participant_identifier) where person_id is null;

alter table public.chat_conversations enable row level security;

revoke all on public.chat_conversations from anon, authenticated, service_role;
grant select, delete on public.chat_conversations to authenticated, service_role;
grant update (person_id, entity_table, entity_id) on public.chat_conversations to authenticated, service_role;

create policy "Users can view their own conversations" on public.chat_conversations
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can link their own conversations to their own people" on public.chat_conversations
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (
    user_id = (select auth.uid())
    and (
      person_id is null
      or exists (select 1 from public.people p where p.id = person_id and p.user_id = (select auth.uid()))
    )
  );
create policy "Users can delete their own conversations" on public.chat_conversations
  for delete to authenticated using (user_id = (select auth.uid()));

create trigger chat_conversations_touch
  before update on public.chat_conversations
  for each row execute function messaging_private.touch_updated_at();

-- -----------------------------------------------------------------------------
-- chat_conversation_archives
-- -----------------------------------------------------------------------------

create table public.chat_conversation_archives (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  messages jsonb not null check (pg_catalog.jsonb_typeof(messages) = 'array'),
  message_count integer not null check (message_count > 0),
  first_message_at timestamptz not null,
  last_message_at timestamptz not null,
  first_message_id text not null,
  last_message_id text not null,
  -- hashtextextended(id, 0) of every message in the chunk: a GIN index over it
  -- finds the chunk holding a re-sent id without reading any chunk.
  id_hashes bigint[] not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (first_message_at <= last_message_at)
);
comment on table public.chat_conversation_archives is
  'Older messages of a conversation, in chunks sorted by (sent_at, id) that never overlap and are all older than the hot row.';
comment on column public.chat_conversation_archives.id_hashes is
  'hashtextextended(message id, 0) of each message: the dedupe index for ids that left the hot row.';

alter table public.chat_conversation_archives alter column messages set compression lz4;

create index chat_conversation_archives_position_idx
  on public.chat_conversation_archives (conversation_id, first_message_at, first_message_id collate "C");
create index chat_conversation_archives_user_id_idx on public.chat_conversation_archives (user_id);
-- every ingest asks this index which chunks hold its ids: without a pending list (fastupdate)
-- a lookup never scans megabytes of not-yet-merged entries
create index chat_conversation_archives_id_hashes_idx
  on public.chat_conversation_archives using gin (id_hashes) with (fastupdate = off);

alter table public.chat_conversation_archives enable row level security;

revoke all on public.chat_conversation_archives from anon, authenticated, service_role;
grant select on public.chat_conversation_archives to authenticated, service_role;

create policy "Users can view the archives of their own conversations" on public.chat_conversation_archives
  for select to authenticated using (user_id = (select auth.uid()));

-- -----------------------------------------------------------------------------
-- chat_conversation_list: the inbox and the Person page's Messages tab
-- -----------------------------------------------------------------------------

create view public.chat_conversation_list
with (security_invoker = true)
as
select
  c.id, c.user_id, c.connection_id, c.platform, c.external_conversation_id, c.conversation_type,
  c.person_id, c.entity_table, c.entity_id, c.participant_identifier, c.participant_name,
  c.message_count, c.first_message_at, c.last_message_at, c.last_message_preview,
  c.created_at, c.updated_at
from public.chat_conversations c;
comment on view public.chat_conversation_list is
  'Conversations without their messages, under the caller''s RLS: filter by person_id, order by last_message_at desc.';

revoke all on public.chat_conversation_list from anon, authenticated, service_role;
grant select on public.chat_conversation_list to authenticated, service_role;


-- =============================================================================
-- Unread state per conversation, per signed-in user
--
-- A read marker says up to which message time a user has read a conversation.
-- A conversation is unread for them while its last_message_at is later than
-- their marker (or they have none). mark_conversation_read moves the marker to
-- the conversation's newest message, never backwards.
-- =============================================================================

create table public.chat_conversation_read_markers (
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  last_read_at timestamptz not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, conversation_id)
);
comment on table public.chat_conversation_read_markers is
  'Up to which message time (last_read_at) a user has read a conversation; later messages are unread for them.';
comment on column public.chat_conversation_read_markers.last_read_at is
  'The last_message_at of the conversation when the user last read it.';
create index chat_conversation_read_markers_conversation_idx
  on public.chat_conversation_read_markers (conversation_id);

alter table public.chat_conversation_read_markers enable row level security;
revoke all on public.chat_conversation_read_markers from anon, authenticated, service_role;
grant select, insert, update, delete on public.chat_conversation_read_markers to authenticated;
grant select, insert, update, delete on public.chat_conversation_read_markers to service_role;

create policy "Users can view their own read markers" on public.chat_conversation_read_markers
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can add read markers to their own conversations" on public.chat_conversation_read_markers
  for insert to authenticated with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.chat_conversations c
                 where c.id = conversation_id and c.user_id = (select auth.uid())));
create policy "Users can move their own read markers" on public.chat_conversation_read_markers
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy "Users can delete their own read markers" on public.chat_conversation_read_markers
  for delete to authenticated using (user_id = (select auth.uid()));

-- ---- supabase/schemas/07_search_index.sql ----

-- =============================================================================
-- Message search across the conversation store
--
-- search_messages(query, person_id, max_count, ...) finds messages in the hot
-- rows and the archive chunks alike, best first, among the caller's own.
--
-- The searchable text of every stored message is a line in a private search
-- segment, appended by ingest_messages (new messages and new versions of edited
-- ones), and indexed twice:
--   * full text with the language-neutral 'simple' configuration over
--     unaccented, lower-cased text (cafe finds café; Portuguese, German and
--     English alike), and
--   * trigrams over the same text for what full text misses: codes such as
--     INV-2024-0042, phone numbers, URLs, and Chinese or Japanese text without
--     spaces.
-- Matching lines are then checked against the stored messages and ranked.
-- =============================================================================

create extension if not exists unaccent with schema extensions;
create extension if not exists pg_trgm with schema extensions;

-- -----------------------------------------------------------------------------
-- The text that is indexed
-- -----------------------------------------------------------------------------

create or replace function messaging_private.search_normalize(value text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return (
    -- unaccent() is only stable because its dictionary could change; the dictionary is
    -- fixed here, which is what lets the expression indexes below use it.
    select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, coalesce(value, '')))
  );
end;
$$;
comment on function messaging_private.search_normalize(text) is
  'Search form of a text: unaccented and lower-cased (café -> cafe).';

create or replace function messaging_private.search_document(messages jsonb)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return (
    -- one line per message: the first 2,000 characters of content, sender name and media
    -- URL without its query string (messaging_private.line_sizes measures the same line);
    -- normalised in one call for the whole text (a call per message would dominate index
    -- maintenance)
    select messaging_private.search_normalize(pg_catalog.string_agg(pg_catalog.left(
      concat_ws(' ', m ->> 'content', m ->> 'sender_name', pg_catalog.split_part(m ->> 'media_url', '?', 1)),
      2000), E'\n'))
    from pg_catalog.jsonb_array_elements(messages) m
  );
end;
$$;
comment on function messaging_private.search_document(jsonb) is
  'The searchable text of a message array, one normalised line per message: what the search indexes cover.';

create or replace function messaging_private.search_tsvector(document text)
returns tsvector
language plpgsql
immutable
parallel safe
-- a document holds up to ~16 kB of lines: tell the planner that building its tsvector is
-- expensive, so it reads the index rather than a sequential scan on a small table
cost 100000
set search_path = ''
as $$
begin
  return pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, document);
end;
$$;
comment on function messaging_private.search_tsvector(text) is
  'The full-text vector of a search document (the language-neutral simple configuration).';

-- -----------------------------------------------------------------------------
-- The search index: small, append-mostly segments of searchable lines
--
-- The searchable lines live in a private table of their own, not in the hot row or
-- the archive chunks: a GIN index re-enters every word and trigram of a row each
-- time the row is rewritten, so indexing the hot row (rewritten on every message)
-- cost the whole row per message. Here every ingest appends one small segment
-- with the lines of just the messages it stored (new ones and new versions of
-- edited ones); once a conversation has 16 small segments they are merged into
-- sealed ones of at most ~16 kB, so a message is indexed about twice, whatever
-- the conversation's size. Hot-row appends, spills and chunk rewrites touch no
-- search index at all. A segment line whose message was edited since is stale:
-- search_messages re-checks every hit against the stored message.
-- -----------------------------------------------------------------------------

create table messaging_private.search_segments (
  id bigint generated always as identity primary key,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  message_ids text[] not null,
  sent_ats timestamptz[] not null,
  outbound boolean[] not null,
  first_sent_at timestamptz not null,
  last_sent_at timestamptz not null,
  sealed boolean not null default false,
  -- one normalised line per message (newlines inside a message are spaces), in the
  -- order of message_ids
  document text not null,
  -- its words, without positions: computed once per write, so neither the full-text
  -- index's re-check nor a scan ever rebuilds a vector (phrases are checked per line)
  lexemes tsvector generated always as (pg_catalog.strip(messaging_private.search_tsvector(document))) stored,
  check (pg_catalog.cardinality(message_ids) = pg_catalog.cardinality(sent_ats)
         and pg_catalog.cardinality(message_ids) = pg_catalog.cardinality(outbound)
         and pg_catalog.cardinality(message_ids) > 0)
);
comment on table messaging_private.search_segments is
  'Searchable lines of stored messages in small append-mostly segments (merged and sealed 16 at a time); the search indexes live here.';
comment on column messaging_private.search_segments.document is
  'One normalised searchable line per message (see messaging_private.line_sizes), in message_ids order.';
comment on column messaging_private.search_segments.lexemes is
  'The document''s words without positions (strip of its simple tsvector): what the full-text index covers.';
comment on column messaging_private.search_segments.sealed is
  'False for the small segments single ingests append; merged into sealed ones once 16 exist.';

alter table messaging_private.search_segments alter column document set compression lz4;

create index search_segments_conversation_idx on messaging_private.search_segments (conversation_id);
create index search_segments_open_idx on messaging_private.search_segments (conversation_id) where not sealed;
create index search_segments_user_recent_idx on messaging_private.search_segments (user_id, last_sent_at desc);
create index search_segments_fts_idx on messaging_private.search_segments using gin (lexemes);
create index search_segments_trgm_idx on messaging_private.search_segments
  using gin (document extensions.gin_trgm_ops);

alter table messaging_private.search_segments enable row level security;
-- no policy and no grant: only the definer functions (ingest, search) read or write it
revoke all on messaging_private.search_segments from public, anon, authenticated, service_role;

create or replace function messaging_private.segment_pieces(lines jsonb)
returns jsonb[]
language plpgsql
immutable
set search_path = ''
as $$
-- Cuts [{id, sent_at, outbound, line}] into pieces of about 16 kB of lines at most
-- (a line is at most 2,000 characters, so a piece stays well below 24 kB).
begin
  return (
    select coalesce(pg_catalog.array_agg(p.piece order by p.k), '{}'::jsonb[])
    from (
      select t.k, pg_catalog.jsonb_agg(t.x order by t.ord) as piece
      from (
        select l.x, l.ord,
               (pg_catalog.sum(pg_catalog.octet_length(l.x ->> 'line') + 1) over (order by l.ord) - 1) / 16384 as k
        from pg_catalog.jsonb_array_elements(lines) with ordinality l(x, ord)
      ) t
      group by t.k
    ) p
  );
end;
$$;
comment on function messaging_private.segment_pieces(jsonb) is
  'Cuts a list of searchable lines into pieces of about 16 kB: the bound of one search segment''s document.';

create or replace function messaging_private.store_segments(conversation uuid, owner uuid, lines jsonb, seal boolean)
returns void
language plpgsql
set search_path = ''
as $$
-- Writes [{id, sent_at, outbound, line}] as search segments of bounded size.
declare
  v_piece jsonb;
begin
  foreach v_piece in array
    case when pg_catalog.octet_length(lines::text) <= 16384 then array[lines]  -- the usual case
         else messaging_private.segment_pieces(lines) end
  loop
    insert into messaging_private.search_segments (
      conversation_id, user_id, message_ids, sent_ats, outbound, first_sent_at, last_sent_at, sealed, document)
    select conversation, owner,
           pg_catalog.array_agg(l.x ->> 'id' order by l.ord),
           pg_catalog.array_agg((l.x ->> 'sent_at')::timestamptz order by l.ord),
           pg_catalog.array_agg((l.x ->> 'outbound')::boolean order by l.ord),
           pg_catalog.min((l.x ->> 'sent_at')::timestamptz),
           pg_catalog.max((l.x ->> 'sent_at')::timestamptz),
           seal or pg_catalog.count(*) >= 64,
           pg_catalog.string_agg(l.x ->> 'line', E'\n' order by l.ord)
      from pg_catalog.jsonb_array_elements(v_piece) with ordinality l(x, ord);
  end loop;
end;
$$;
comment on function messaging_private.store_segments(uuid, uuid, jsonb, boolean) is
  'Writes searchable lines as search segments of about 16 kB at most.';

insert into messaging_private.settings (key, value, description) values
  ('search_dense_segments', 8,
   'search_messages reads the newest segments first when its words are in at least this many of the owner''s 32 newest segments (a common word); 33 turns that off.');

create or replace function messaging_private.index_batches(owner uuid, batches jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- Appends the searchable lines of stored messages, [{conversation, messages}], to each
-- conversation's search segments, for every conversation of an ingest at once: the lines
-- are normalised in one call, and one insert writes a segment per conversation (a
-- statement per conversation would cost 10,000 of them on a batch of new conversations).
-- A conversation whose lines pass 16 kB is cut by store_segments; one reaching 16 small
-- segments has them merged into sealed ones.
declare
  v_big jsonb;
  v_piece jsonb;
  v_conversation uuid;
begin
  with src as (
    -- (sorted by the ordinals alone: a sort that carried the batch's jsonb along would
    -- spill a copy of it per message to disk)
    select (b.x ->> 'conversation')::uuid as conversation, b.bord, e.ord, e.m
      from pg_catalog.jsonb_array_elements(batches) with ordinality b(x, bord)
     cross join lateral pg_catalog.jsonb_array_elements(b.x -> 'messages') with ordinality e(m, ord)
  ),
  -- the line: the first 2,000 characters of content, sender name and media URL without its
  -- query string (as line_sizes measures it), normalised in one call for all the messages,
  -- then zipped back onto the messages by position (one pass; a join or a subscript per
  -- message would walk the 10,000 lines again for each)
  doc as (
    select pg_catalog.array_agg(s.conversation order by s.bord, s.ord) as conversations,
           pg_catalog.array_agg(s.m order by s.bord, s.ord) as msgs,
           pg_catalog.string_to_array(messaging_private.search_normalize(pg_catalog.string_agg(
             pg_catalog.translate(pg_catalog.left(concat_ws(' ', s.m ->> 'content', s.m ->> 'sender_name',
               pg_catalog.split_part(s.m ->> 'media_url', '?', 1)), 2000), E'\n\r\u2028\u2029', '    '),
             E'\n' order by s.bord, s.ord)), E'\n') as lines
      from src s
  ),
  lines as materialized (
    select z.conversation, z.ord, z.m ->> 'id' as id, (z.m ->> 'sent_at')::timestamptz as sent_at,
           z.m ->> 'direction' = 'outbound' as outbound, z.line,
           pg_catalog.sum(pg_catalog.octet_length(z.line) + 1) over (partition by z.conversation) as bytes
      from doc d
     cross join unnest(d.conversations, d.msgs, d.lines) with ordinality z(conversation, m, line, ord)
     where z.line <> ''  -- nothing searchable: media without a URL, empty texts
     -- (unnest of several arrays is syntax, written without its schema)
  ),
  -- the usual case: a conversation's new lines fit one segment
  ins as (
    insert into messaging_private.search_segments (
      conversation_id, user_id, message_ids, sent_ats, outbound, first_sent_at, last_sent_at, sealed, document)
    select l.conversation, owner,
           pg_catalog.array_agg(l.id order by l.ord),
           pg_catalog.array_agg(l.sent_at order by l.ord),
           pg_catalog.array_agg(l.outbound order by l.ord),
           pg_catalog.min(l.sent_at), pg_catalog.max(l.sent_at),
           pg_catalog.count(*) >= 64,
           pg_catalog.string_agg(l.line, E'\n' order by l.ord)
      from lines l
     where l.bytes <= 16384
     group by l.conversation
    returning 1
  )
  -- the rest are cut into pieces of about 16 kB below
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('conversation', g.conversation, 'lines', g.lines))
    into v_big
    from (select l.conversation,
                 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'id', l.id, 'sent_at', l.sent_at, 'outbound', l.outbound, 'line', l.line) order by l.ord) as lines
            from lines l
           where l.bytes > 16384
           group by l.conversation) g;
  for v_piece in select x from pg_catalog.jsonb_array_elements(v_big) x loop
    perform messaging_private.store_segments((v_piece ->> 'conversation')::uuid, owner, v_piece -> 'lines', false);
  end loop;

  -- Which conversations reached 16 open segments. A few conversations (live traffic: one)
  -- are each counted through the partial index of open segments: a join with every open
  -- segment read all users' open segments on each call. A large batch is joined with the
  -- owner's open segments at once: 10,000 probes planned on statistics taken before the
  -- batch inserted its own segments could each become a scan of the table.
  for v_conversation in
    select b.conversation
      from (select distinct (b.x ->> 'conversation')::uuid as conversation
              from pg_catalog.jsonb_array_elements(batches) b(x)) b
     where pg_catalog.jsonb_array_length(batches) <= 64
       and (select pg_catalog.count(*) from messaging_private.search_segments s
             where s.conversation_id = b.conversation and not s.sealed) >= 16
    union all
    select s.conversation_id
      from messaging_private.search_segments s
     where pg_catalog.jsonb_array_length(batches) > 64
       and s.user_id = owner
       and not s.sealed
       and s.conversation_id in (select (b.x ->> 'conversation')::uuid
                                   from pg_catalog.jsonb_array_elements(batches) b(x))
     group by s.conversation_id
    having pg_catalog.count(*) >= 16
  loop
    perform messaging_private.merge_segments(v_conversation, owner);
  end loop;
end;
$$;
comment on function messaging_private.index_batches(uuid, jsonb) is
  'Appends the searchable lines of stored messages ([{conversation, messages}]) to the conversations'' search segments, all conversations at once; merges small ones 16 at a time.';

create or replace function messaging_private.merge_segments(conversation uuid, owner uuid)
returns void
language plpgsql
set search_path = ''
as $$
-- Replaces a conversation's small (unsealed) segments by sealed ones of about 16 kB.
declare
  v_lines jsonb;
begin
  with gone as (
    delete from messaging_private.search_segments s
     where s.conversation_id = conversation and not s.sealed
    returning s.id, s.message_ids, s.sent_ats, s.outbound, s.document
  )
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', g.message_ids[l.ord], 'sent_at', g.sent_ats[l.ord], 'outbound', g.outbound[l.ord],
           'line', l.line) order by g.id, l.ord)
    into v_lines
    from gone g
   cross join lateral pg_catalog.unnest(pg_catalog.string_to_array(g.document, E'\n')) with ordinality l(line, ord);
  if v_lines is not null then
    perform messaging_private.store_segments(conversation, owner, v_lines, true);
  end if;
end;
$$;
comment on function messaging_private.merge_segments(uuid, uuid) is
  'Merges a conversation''s small search segments into sealed ones of about 16 kB.';

create or replace function messaging_private.index_messages(conversation uuid, owner uuid, msgs jsonb)
returns void
language sql
set search_path = ''
as $$
  select messaging_private.index_batches(owner,
    pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('conversation', conversation, 'messages', msgs)));
$$;
comment on function messaging_private.index_messages(uuid, uuid, jsonb) is
  'Appends the searchable lines of one conversation''s stored messages to its search segments (index_batches for one).';

-- ---- supabase/schemas/08_store_pieces.sql ----

-- =============================================================================
-- Store pieces: sorting, sizing and cutting message arrays, archive chunks
--
-- The small helpers every ingest path uses to keep hot rows and chunks bounded.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Small helpers
-- -----------------------------------------------------------------------------

create or replace function messaging_private.preview(m jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select case
      when pg_catalog.btrim(coalesce(m ->> 'content', '')) <> '' then
        pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace(m ->> 'content', '\s+', ' ', 'g')), 100)
      else '[' || coalesce(m ->> 'type', 'message') || ']'
    end
  );
end;
$$;
comment on function messaging_private.preview(jsonb) is 'The inbox preview of a stored message: its text, or [type] for media.';

create or replace function messaging_private.id_hashes(msgs jsonb)
returns bigint[]
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select pg_catalog.array_agg(pg_catalog.hashtextextended(x ->> 'id', 0) order by x.ord)
    from pg_catalog.jsonb_array_elements(msgs) with ordinality x(x, ord)
  );
end;
$$;
comment on function messaging_private.id_hashes(jsonb) is
  'hashtextextended(id, 0) of each message, in order: what chat_conversation_archives.id_hashes holds.';

create or replace function messaging_private.sort_messages(msgs jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select coalesce(
      pg_catalog.jsonb_agg(e.m order by (e.m ->> 'sent_at')::timestamptz, (e.m ->> 'id') collate "C"),
      '[]'::jsonb)
    from pg_catalog.jsonb_array_elements(msgs) e(m)
  );
end;
$$;
comment on function messaging_private.sort_messages(jsonb) is 'A message array sorted by (sent_at, id).';

-- The searchable line of a message is written out in three places (search_document,
-- the sizes below, search_messages' re-check): its first 2,000 characters of content,
-- sender name and media URL without its query string (a signed URL's signature is noise).
-- Whole lines then bound every search document by construction: a hot row or a chunk
-- holds at most hot_max_bytes / archive_chunk_bytes of them (256 kB), and even the URL
-- and hyphenated-word tokens the parser adds keep its tsvector far below the 1 MB limit.

create or replace function messaging_private.line_sizes(msgs jsonb)
returns integer[]
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select coalesce(pg_catalog.array_agg(pg_catalog.octet_length(pg_catalog.left(
             concat_ws(' ', e.m ->> 'content', e.m ->> 'sender_name',
                       pg_catalog.split_part(e.m ->> 'media_url', '?', 1)), 2000)) + 1
             order by e.ord), '{}')
    from pg_catalog.jsonb_array_elements(msgs) with ordinality e(m, ord)
  );
end;
$$;
comment on function messaging_private.line_sizes(jsonb) is
  'Bytes of each message''s searchable line (what search_document indexes), in array order.';

create or replace function messaging_private.cut_pieces(msgs jsonb, max_count integer, max_bytes integer)
returns jsonb[]
language plpgsql
immutable
set search_path = ''
as $$
-- Cuts a sorted message array, oldest first, into pieces of at most max_count messages and
-- max_bytes of searchable text (a single message is never cut: its line is at most 2,000
-- characters). A cheap upper bound (the array's JSON text) skips the sizing when it fits.
declare
  v_sizes integer[];
  v_keys integer[] := '{}'::integer[];
  v_piece integer := 0;
  v_count integer := 0;
  v_bytes bigint := 0;
  v_size integer;
begin
  if pg_catalog.jsonb_array_length(msgs) = 0 then
    return '{}'::jsonb[];
  end if;
  if pg_catalog.jsonb_array_length(msgs) <= max_count and pg_catalog.octet_length(msgs::text) <= max_bytes then
    return array[msgs];
  end if;
  v_sizes := messaging_private.line_sizes(msgs);
  foreach v_size in array v_sizes loop
    if v_count > 0 and (v_count >= max_count or v_bytes + v_size > max_bytes) then
      v_piece := v_piece + 1;
      v_count := 0;
      v_bytes := 0;
    end if;
    v_count := v_count + 1;
    v_bytes := v_bytes + v_size;
    v_keys := v_keys || v_piece;
  end loop;
  return (
    select pg_catalog.array_agg(p.piece order by p.k)
    from (
      select k.k, pg_catalog.jsonb_agg(e.m order by e.ord) as piece
      from pg_catalog.jsonb_array_elements(msgs) with ordinality e(m, ord)
      join pg_catalog.unnest(v_keys) with ordinality k(k, ord) on k.ord = e.ord
      group by k.k
    ) p
  );
end;
$$;
comment on function messaging_private.cut_pieces(jsonb, integer, integer) is
  'A sorted message array cut, oldest first, into pieces bounded by count and by bytes of searchable text.';

create or replace function messaging_private.newest_fitting(msgs jsonb, max_count integer, max_bytes integer)
returns integer
language plpgsql
immutable
set search_path = ''
as $$
-- How many of the newest messages (the end of a sorted array) fit in max_count messages
-- and max_bytes of searchable text; at least one.
begin
  return (
    select greatest(1, pg_catalog.count(*))::integer
    from (
      select s.ord, pg_catalog.sum(s.size) over (order by s.ord desc) as total
      from pg_catalog.unnest(messaging_private.line_sizes(msgs)) with ordinality s(size, ord)
    ) t
    where t.total <= max_bytes
      and t.ord > pg_catalog.jsonb_array_length(msgs) - max_count
  );
end;
$$;
comment on function messaging_private.newest_fitting(jsonb, integer, integer) is
  'How many of the newest messages of a sorted array fit in a count and a byte budget of searchable text (at least one).';

create or replace function messaging_private.store_chunks(
  conversation uuid, owner uuid, chunk uuid, msgs jsonb
)
returns void
language plpgsql
set search_path = ''
as $$
-- Writes msgs (sorted, non-empty) as archive chunks bounded by archive_chunk_messages and
-- archive_chunk_bytes: the first piece replaces chunk (or is inserted when chunk is null),
-- the rest are new.
declare
  v_pieces jsonb[] := messaging_private.cut_pieces(msgs,
    messaging_private.setting('archive_chunk_messages'), messaging_private.setting('archive_chunk_bytes'));
  v_piece jsonb;
begin
  for i in 1 .. pg_catalog.cardinality(v_pieces) loop
    v_piece := v_pieces[i];
    if i = 1 and chunk is not null then
      update public.chat_conversation_archives a
         set messages = v_piece,
             message_count = pg_catalog.jsonb_array_length(v_piece),
             first_message_at = (v_piece -> 0 ->> 'sent_at')::timestamptz,
             last_message_at = (v_piece -> -1 ->> 'sent_at')::timestamptz,
             first_message_id = v_piece -> 0 ->> 'id',
             last_message_id = v_piece -> -1 ->> 'id',
             id_hashes = messaging_private.id_hashes(v_piece),
             updated_at = pg_catalog.now()
       where a.id = chunk;
    else
      insert into public.chat_conversation_archives (
        conversation_id, user_id, messages, message_count, first_message_at, last_message_at,
        first_message_id, last_message_id, id_hashes)
      values (
        conversation, owner, v_piece, pg_catalog.jsonb_array_length(v_piece),
        (v_piece -> 0 ->> 'sent_at')::timestamptz, (v_piece -> -1 ->> 'sent_at')::timestamptz,
        v_piece -> 0 ->> 'id', v_piece -> -1 ->> 'id', messaging_private.id_hashes(v_piece));
    end if;
  end loop;
end;
$$;
comment on function messaging_private.store_chunks(uuid, uuid, uuid, jsonb) is
  'Writes sorted messages as archive chunks bounded by count and bytes, replacing the given chunk with the first piece.';

-- ---- supabase/schemas/09_validate.sql ----

-- =============================================================================
-- ingest_messages(payload jsonb): the one write path for messages
--
-- Validates the whole batch first (all-or-nothing, SQLSTATE 22023 naming every
-- bad field by path), derives the owner from the caller, groups by conversation,
-- locks the conversations in a fixed order, drops ids the conversation already
-- holds (hot row, or an archive chunk found through its id_hashes GIN index),
-- replaces messages re-sent with a newer edited_at, merges the rest in
-- (sent_at, id) order, spills the oldest into archive chunks past the cap, and
-- refreshes the conversation's counters and person link.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- Validation of a whole payload
-- -----------------------------------------------------------------------------

create or replace function messaging_private.payload_errors(payload jsonb)
returns text[]
language plpgsql
stable
set search_path = ''
as $$
declare
  v_errors text[];
  v_earliest timestamptz;
  v_future interval;
  v_depth bigint;
begin
  -- the contract's limits, in one read
  select pg_catalog.to_timestamp(pg_catalog.max(l.value) filter (where l.name = 'earliest_epoch_seconds')),
         pg_catalog.justify_interval(pg_catalog.make_interval(
           secs => pg_catalog.max(l.value) filter (where l.name = 'future_seconds'))),
         pg_catalog.max(l.value) filter (where l.name = 'metadata_max_depth')
    into v_earliest, v_future, v_depth
    from messaging_private.contract_limits l;
  v_errors := (
    -- One set-based pass over a table of rules: every field of the top level and of every
    -- message is checked by the same CASE, with no function call per message (a function
    -- with its own search_path cannot be inlined and would cost a call per field).
    -- The rules are the rows of messaging_private.payload_fields (migration
    -- messaging_contract, published by messaging_contract()), read once per call.
    with rules (scope, n, field, kind, max_length, required, allowed) as (
      select f.scope, f.position, f.field, f.kind, f.max_length, f.required, v.labels
        from messaging_private.payload_fields f
        left join (select e.enumtypid, pg_catalog.array_agg(e.enumlabel::text order by e.enumsortorder) as labels
                     from pg_catalog.pg_enum e group by e.enumtypid) v on v.enumtypid = f.vocabulary
    ),
    items as (
      select 'payload' as scope, -1 as i, '' as path, payload as obj
      union all
      select 'message', (e.ord - 1)::integer, pg_catalog.format('messages[%s].', e.ord - 1), e.m
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    top_platform as (
      select coalesce(payload -> 'platform', 'null'::jsonb) <> 'null'::jsonb as given
    ),
    errs as (
      -- messages that are not objects
      select it.i, 0 as n,
             pg_catalog.format('messages[%s]: must be an object, got %s', it.i, pg_catalog.jsonb_typeof(it.obj)) as err
      from items it
      where it.scope = 'message' and pg_catalog.jsonb_typeof(it.obj) <> 'object'
      union all
      -- unknown keys
      select it.i, 1,
             case when it.scope = 'payload'
               then pg_catalog.format('%s: unknown field (expected %s)', k,
                      (select pg_catalog.string_agg(r.field, ', ' order by r.n) from rules r where r.scope = 'payload'))
               else pg_catalog.format('%s%s: unknown field', it.path, k)
             end
      from items it
      cross join lateral pg_catalog.jsonb_object_keys(it.obj) k
      where pg_catalog.jsonb_typeof(it.obj) = 'object'
        and not exists (select 1 from rules r where r.scope = it.scope and r.field = k)
      union all
      -- every rule
      select it.i, r.n, it.path || r.field || ': ' || (
        case
          when f.v is null or f.v = 'null'::jsonb then
            case
              when r.field = 'platform' and r.scope = 'message' and tp.given then null
              when r.field = 'platform' and r.scope = 'message' then 'required (here or at the top level)'
              when r.required then 'required'
            end
          -- (the payload's messages array is checked before the fields are)
          when r.kind = 'array' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'array' then 'must be an array, got ' || pg_catalog.jsonb_typeof(f.v) end
          when r.kind = 'enum' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'string' or not (f.s = any (r.allowed)) then
              pg_catalog.format('must be one of %s, got %s',
                pg_catalog.array_to_string(r.allowed, ', '), pg_catalog.left(f.v::text, 60))
            end
          when r.kind = 'object' then
            case
              when pg_catalog.jsonb_typeof(f.v) <> 'object' then 'must be an object, got ' || pg_catalog.jsonb_typeof(f.v)
              when pg_catalog.length(f.v::text) > r.max_length then
                pg_catalog.format('longer than %s characters as JSON', r.max_length)
            end
          when r.kind = 'uuid' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'string'
                   or f.s !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
              pg_catalog.format('must be a UUID, got %s', pg_catalog.left(f.v::text, 60))
            end
          when pg_catalog.jsonb_typeof(f.v) <> 'string' then
            pg_catalog.format('must be a%s string, got %s',
              case when r.kind = 'timestamp' then 'n ISO 8601' else '' end, pg_catalog.jsonb_typeof(f.v))
          when r.kind = 'text' then
            case
              when pg_catalog.length(f.s) > r.max_length then
                pg_catalog.format('longer than %s characters (%s)', r.max_length, pg_catalog.length(f.s))
              when r.required and pg_catalog.btrim(f.s) = '' then 'must not be empty'
            end
          -- timestamps: ISO 8601 with an offset, a real date and time, from the earliest
          -- time to future_seconds past now (contract_limits). The
          -- format is fixed-width up to the minutes, so the parts are read by position
          -- (a boolean regex match is cheap, one with captures is not: bench/HISTORY.md).
          when f.s !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$' then
            pg_catalog.format('%s is not an ISO 8601 timestamp with an offset, like 2026-02-01T10:30:00Z',
              pg_catalog.left(f.v::text, 60))
          when not (
            case
              when pg_catalog.substr(f.s, 1, 4)::integer < 1
                or pg_catalog.substr(f.s, 6, 2)::integer not between 1 and 12 then false
              else pg_catalog.substr(f.s, 9, 2)::integer between 1 and pg_catalog.date_part('day',
                     pg_catalog.make_date(pg_catalog.substr(f.s, 1, 4)::integer, pg_catalog.substr(f.s, 6, 2)::integer, 1)
                     + interval '1 month' - interval '1 day')::integer
                and pg_catalog.substr(f.s, 12, 2)::integer <= 23
                and pg_catalog.substr(f.s, 15, 2)::integer <= 59
                and (pg_catalog.substr(f.s, 17, 1) <> ':' or pg_catalog.substr(f.s, 18, 2)::integer <= 59)
                and f.s ~ '([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)$'
            end) then
            pg_catalog.format('%s is not a real date and time', f.v::text)
          when f.s::timestamptz < v_earliest or f.s::timestamptz > pg_catalog.now() + v_future then
            pg_catalog.format('%s is out of range (%s to %s from now)', f.v::text,
              pg_catalog.to_char(v_earliest at time zone 'UTC', 'YYYY-MM-DD'), v_future)
        end)
      from items it
      cross join top_platform tp
      join rules r on r.scope = it.scope
      cross join lateral (select it.obj -> r.field as v, it.obj ->> r.field as s) f
      where pg_catalog.jsonb_typeof(it.obj) = 'object'
    )
    select coalesce(pg_catalog.array_agg(errs.err order by errs.i, errs.n), '{}')
    from errs
    where errs.err is not null
  );
  if pg_catalog.cardinality(v_errors) > 0 then
    return v_errors;
  end if;
  -- Rules across fields, once every field is valid on its own (the timestamps parse):
  -- an edit is not older than its message, and metadata nests at most metadata_max_depth
  -- levels (the bracket count is a cheap bound that spares walking flat metadata).
  return (
    select coalesce(pg_catalog.array_agg(x.err order by x.i, x.n), '{}')
    from (
      select e.ord - 1 as i, 10 as n,
             pg_catalog.format('messages[%s].edited_at: %s is earlier than sent_at %s',
               e.ord - 1, e.m -> 'edited_at', e.m -> 'sent_at') as err
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
       where pg_catalog.jsonb_typeof(e.m -> 'edited_at') = 'string'
         and (e.m ->> 'edited_at')::timestamptz < (e.m ->> 'sent_at')::timestamptz
      union all
      select e.ord - 1, 18,
             pg_catalog.format('messages[%s].metadata: nested deeper than %s levels', e.ord - 1, v_depth)
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
       where pg_catalog.jsonb_typeof(e.m -> 'metadata') = 'object'
         and pg_catalog.length(pg_catalog.regexp_replace((e.m -> 'metadata')::text, '[^\[{]', '', 'g')) > v_depth
         and pg_catalog.jsonb_path_exists(e.m -> 'metadata', pg_catalog.format(
               'strict $.**{%s to last} ? (@.type() == "object" || @.type() == "array")', v_depth)::jsonpath)
    ) x
  );
end;
$$;
comment on function messaging_private.payload_errors(jsonb) is
  'Every problem of an ingest payload, each naming its field by path (messages[4].sent_at: ...); empty when valid.';

-- ---- supabase/schemas/10_ingest_input.sql ----

-- =============================================================================
-- Ingest input: the owner, the references and the conversations of a payload
-- =============================================================================

-- -----------------------------------------------------------------------------
-- The ingest, in parts with one job each. They run inside the definer
-- messaging_private.ingest_messages (as its owner); no API role may call them.
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_owner(payload jsonb)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
-- The CRM user who owns what is ingested: a signed-in caller's own id, or the user_id
-- service_role names. Anyone else is refused.
declare
  v_role text := auth.jwt() ->> 'role';
  v_owner uuid;
begin
  if v_role is null then
    -- no JWT: a direct database session (migrations, psql, benchmarks) is trusted like
    -- service_role; a PostgREST session without claims never is.
    v_role := case when session_user = 'authenticator' then 'anon' else 'service_role' end;
  end if;
  if v_role = 'authenticated' then
    v_owner := (select auth.uid());
    if v_owner is null then
      raise exception using errcode = '42501', message = 'ingest_messages: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if payload -> 'user_id' is not null and payload -> 'user_id' <> 'null'::jsonb
       and pg_catalog.lower(payload ->> 'user_id') is distinct from v_owner::text then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only ingest their own messages',
        hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    if coalesce(payload ->> 'user_id', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
       or pg_catalog.jsonb_typeof(payload -> 'user_id') <> 'string' then
      raise exception using errcode = '22023',
        message = 'user_id: ' || case when payload -> 'user_id' is null or payload -> 'user_id' = 'null'::jsonb
                                      then 'required'
                                      else 'must be a UUID, got ' || pg_catalog.left((payload -> 'user_id')::text, 60) end
          || ' (the service role must name the owning CRM user)',
        hint = 'user_id_required';
    end if;
    v_owner := (payload ->> 'user_id')::uuid;
    if not exists (select 1 from auth.users u where u.id = v_owner) then
      raise exception using errcode = '22023',
        message = pg_catalog.format('user_id: no user %s in auth.users', v_owner),
        hint = 'user_unknown';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('ingest_messages: role %s may not ingest messages', v_role),
      hint = 'role_not_allowed';
  end if;
  return v_owner;
end;
$$;
comment on function messaging_private.ingest_owner(jsonb) is
  'Ingest, part 1: the owning CRM user (the signed-in caller, or the user_id service_role names); 42501 / 22023 otherwise.';

create or replace function messaging_private.ingest_references(payload jsonb, owner uuid)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
-- The payload's connection (or null); a connection or person that is not the owner's is 42501.
declare
  v_connection uuid;
  v_person uuid;
begin
  if payload ->> 'connection_id' is not null then
    v_connection := (payload ->> 'connection_id')::uuid;
    if not exists (select 1 from public.messaging_connections mc
                    where mc.id = v_connection and mc.user_id = owner) then
      raise exception using errcode = '42501',
        message = pg_catalog.format('connection_id: %s is not a connection of this user', v_connection),
        hint = 'connection_not_own';
    end if;
  end if;
  select p.pid into v_person
    from (select distinct (e.m ->> 'person_id')::uuid as pid
            from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
           where e.m ->> 'person_id' is not null) p
   where not exists (select 1 from public.people pp where pp.id = p.pid and pp.user_id = owner)
   limit 1;
  if v_person is not null then
    raise exception using errcode = '42501',
      message = pg_catalog.format('person_id: %s is not a person of this user', v_person),
      hint = 'person_not_own';
  end if;
  return v_connection;
end;
$$;
comment on function messaging_private.ingest_references(jsonb, uuid) is
  'Ingest, part 2: checks that the connection and people a payload names are the owner''s; returns the connection id.';

create or replace function messaging_private.ingest_groups(payload jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The messages of a valid payload as stored objects, grouped by conversation (sorted by
-- platform, id), repeats inside the batch collapsed (the newest edited_at wins) and
-- counted, with the conversation fields the newest message gives. (One statement, but
-- plpgsql: its plan is kept for the session instead of planned again on every call.)
begin
  return (
    with src as (
      select
        e.ord,
        coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
        e.m ->> 'external_conversation_id' as ext_id,
        e.m ->> 'id' as msg_id,
        (e.m ->> 'sent_at')::timestamptz as sent_at,
        (e.m ->> 'edited_at')::timestamptz as edited_at,
        e.m
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    ranked as (
      select s.*,
        pg_catalog.row_number() over (
          partition by s.platform, s.ext_id, s.msg_id
          order by s.edited_at desc nulls last, s.ord desc) as rn
      from src s
    ),
    stored as (
      select r.*,
        pg_catalog.jsonb_build_object(
          'id', r.msg_id,
          'direction', r.m ->> 'direction',
          'type', coalesce(r.m ->> 'type', 'text'),
          'content', r.m ->> 'content',
          'media_url', r.m ->> 'media_url',
          -- ISO 8601 UTC, the fraction only when there is one: 2026-02-01T10:30:00Z
          'sent_at', (pg_catalog.to_jsonb(r.sent_at at time zone 'UTC') #>> '{}') || 'Z')
        || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
          'sender_identifier', r.m ->> 'sender_identifier',
          'sender_name', r.m ->> 'sender_name',
          'reply_to_id', r.m ->> 'reply_to_id',
          'edited_at', (pg_catalog.to_jsonb(r.edited_at at time zone 'UTC') #>> '{}') || 'Z',
          'metadata', case when r.m -> 'metadata' <> 'null'::jsonb then r.m -> 'metadata' end)) as obj
      from ranked r
    ),
    grouped as (
      select
        s.platform, s.ext_id,
        pg_catalog.count(*) filter (where s.rn > 1) as batch_dups,
        pg_catalog.jsonb_agg(s.obj order by s.sent_at, s.msg_id collate "C") filter (where s.rn = 1) as msgs,
        (pg_catalog.array_agg(s.m ->> 'participant_identifier' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'participant_identifier' is not null))[1] as participant_identifier,
        (pg_catalog.array_agg(s.m ->> 'participant_name' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'participant_name' is not null))[1] as participant_name,
        (pg_catalog.array_agg(s.m ->> 'conversation_type' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'conversation_type' is not null))[1] as conversation_type,
        (pg_catalog.array_agg(s.m ->> 'person_id' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'person_id' is not null))[1] as person_id
      from stored s
      group by s.platform, s.ext_id
    )
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'platform', gr.platform,
        'external_conversation_id', gr.ext_id,
        'batch_duplicates', gr.batch_dups,
        'messages', gr.msgs,
        'participant_identifier', messaging_private.normalize_identifier('any', gr.participant_identifier),
        'participant_name', gr.participant_name,
        'conversation_type', gr.conversation_type,
        'person_id', gr.person_id)
      order by gr.platform, gr.ext_id), '[]'::jsonb)
    from grouped gr
  );
end;
$$;
comment on function messaging_private.ingest_groups(jsonb) is
  'Ingest, part 3: a valid payload''s messages as stored objects grouped by conversation, repeats collapsed (newest edited_at wins) and counted.';

-- ---- supabase/schemas/11_copies.sql ----

-- =============================================================================
-- Stored copies: finding a message by id, taking out edited versions
-- =============================================================================

-- The stored copy of a message, by id: the one lookup ingest_dedupe, apply_message_updates
-- and stored_message share (hot row first, then the archive chunks its id hash points to).
create or replace function messaging_private.stored_copies(
  conversation uuid, hot jsonb, has_archive boolean, msgs jsonb
)
returns table (chunk uuid, m jsonb)
language plpgsql
stable
set search_path = ''
-- the chunks holding an id are found through the GIN index of id_hashes only:
-- array overlap as a filter compares every pair of hashes (1,000 x 1,000 per chunk read)
set enable_seqscan = off
as $$
-- The stored copies (chunk null for the hot row) of the messages msgs names by id (whole
-- messages or {id} objects) in one conversation: in its hot row (given, as the caller read
-- it) first and then, when has_archive and the hot row lacks some of them, in the archive
-- chunks whose id_hashes hold an id's hash. A few ids the hot row does not contain cost a
-- containment test each (the hot row is expanded only when one is there), and a message
-- found in the hot row costs no index probe. (Rows, not a jsonb array: building one cost
-- a re-imported 10,000-message batch a quarter more time in its dedupe.)
declare
  v_chunks uuid[];
  v_hashes bigint[];
  v_hot integer := 0;
begin
  if pg_catalog.jsonb_array_length(msgs) > 20
     or exists (select 1 from pg_catalog.jsonb_array_elements(msgs) n(m)
                 where hot @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', n.m -> 'id')))
  then
    return query
      select null::uuid, h.m
        from pg_catalog.jsonb_array_elements(hot) h(m)
       where (h.m ->> 'id') in (select n.m ->> 'id' from pg_catalog.jsonb_array_elements(msgs) n(m));
    get diagnostics v_hot = row_count;
  end if;
  if not has_archive or v_hot >= pg_catalog.jsonb_array_length(msgs) then
    return;
  end if;
  v_hashes := messaging_private.id_hashes(msgs);
  -- computed once (inside a query's condition it would be recomputed for every row), and
  -- asked of the index alone (offset 0 keeps the conversation out of the index scan)
  select pg_catalog.array_agg(h.id) into v_chunks
    from (select a.id, a.conversation_id
            from public.chat_conversation_archives a
           where a.id_hashes && v_hashes
          offset 0) h
   where h.conversation_id = conversation;
  if v_chunks is not null then
    return query
      select a.id, e.m
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
       where a.id = any (v_chunks)
         and (e.m ->> 'id') in (select n.m ->> 'id' from pg_catalog.jsonb_array_elements(msgs) n(m));
  end if;
end;
$$;
comment on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb) is
  'The stored copies (chunk, m; chunk null: the hot row) of messages named by id in one conversation: the hot row first, then archive chunks found through id_hashes.';
revoke all on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb)
  from public, anon, authenticated, service_role;


create or replace function messaging_private.ingest_apply_edits(
  conversation uuid, owner uuid, hot jsonb, hot_edits jsonb, archive_edits jsonb
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- Takes the old versions of edited messages out (of the hot row, returned, and of their
-- archive chunks, rewritten or deleted when emptied); the new versions are merged after.
declare
  v_hot jsonb := hot;
  v_target record;
  v_left jsonb;
begin
  if pg_catalog.jsonb_array_length(hot_edits) > 0 then
    select coalesce(pg_catalog.jsonb_agg(h.m order by h.ord), '[]'::jsonb) into v_hot
      from pg_catalog.jsonb_array_elements(hot) with ordinality h(m, ord)
     where not exists (select 1 from pg_catalog.jsonb_array_elements(hot_edits) u(m)
                        where (u.m ->> 'id') = (h.m ->> 'id'));
  end if;
  for v_target in
    select (u.x ->> 'chunk')::uuid as chunk, pg_catalog.array_agg(u.x -> 'm' ->> 'id') as ids
      from pg_catalog.jsonb_array_elements(archive_edits) u(x)
     group by 1
  loop
    select coalesce(pg_catalog.jsonb_agg(e.m order by e.ord), '[]'::jsonb) into v_left
      from public.chat_conversation_archives a
     cross join lateral pg_catalog.jsonb_array_elements(a.messages) with ordinality e(m, ord)
     where a.id = v_target.chunk and not ((e.m ->> 'id') = any (v_target.ids));
    if pg_catalog.jsonb_array_length(v_left) = 0 then
      delete from public.chat_conversation_archives a where a.id = v_target.chunk;
    else
      perform messaging_private.store_chunks(conversation, owner, v_target.chunk, v_left);
    end if;
  end loop;
  return v_hot;
end;
$$;
comment on function messaging_private.ingest_apply_edits(uuid, uuid, jsonb, jsonb, jsonb) is
  'Ingest, part 5: removes the old versions of edited messages from the hot row (returned) and from their archive chunks.';

-- ---- supabase/schemas/12_match.sql ----

-- =============================================================================
-- Matching: people to conversations, export copies to live copies
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Contact matching
-- -----------------------------------------------------------------------------

create or replace function messaging_private.match_person(
  owner uuid, conversation_platform text, identifier text
)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    -- the person whose identifier equals the participant's, if exactly one person matches
    select case when pg_catalog.count(distinct pi.person_id) = 1 then (pg_catalog.array_agg(pi.person_id))[1] end
    from public.person_identifiers pi
    where pi.user_id = owner
      and pi.value = identifier
      and (pi.platform is null or pi.platform = conversation_platform)
  );
end;
$$;
comment on function messaging_private.match_person(uuid, text, text) is
  'The one person of owner whose identifier equals the (normalised) participant identifier on that platform; null when none or several match.';

create or replace function messaging_private.link_conversations_to_new_identifier()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.chat_conversations c
     set person_id = messaging_private.match_person(c.user_id, c.platform, c.participant_identifier)
   where c.user_id = new.user_id
     and c.person_id is null
     and c.participant_identifier = new.value
     and (new.platform is null or c.platform = new.platform)
     and messaging_private.match_person(c.user_id, c.platform, c.participant_identifier) is not null;
  return null;
end;
$$;
comment on function messaging_private.link_conversations_to_new_identifier() is
  'Trigger: links the owner''s unlinked conversations whose participant now matches exactly one person.';
revoke all on function messaging_private.link_conversations_to_new_identifier() from public;

create trigger person_identifiers_link_conversations
  after insert or update of value, platform, person_id on public.person_identifiers
  for each row execute function messaging_private.link_conversations_to_new_identifier();


-- -----------------------------------------------------------------------------
-- Export and live copies of one message. An export gives some messages ids of its
-- own making (a hash: WhatsApp .txt) and times cut to a minute or a second; a live
-- webhook gives the platform's id and the exact time. The importer marks such a copy
-- with metadata.id_source = 'export' and metadata.time_precision = 'minute' | 'second'
-- (anything else is a second). A fresh message meets a stored copy of the other kind
-- in the same conversation when direction, type, content (whitespace aside) and sender
-- agree and both times fall in the same minute (or second) of the export's precision;
-- pairs are made one to one, in (sent_at, id) order, so two `ok` of one minute stay
-- two. The copy with the platform id (exact time, status) is the one kept; the other
-- counts as a duplicate, and what it said differently is kept on the stored message as
-- metadata.matched {id, sent_at, and each field that differed}. ingest_dedupe calls
-- ingest_match with what is fresh after the id dedupe; ingest_messages takes the
-- replaced export copies out (match_take_out) before the edits are applied.
-- -----------------------------------------------------------------------------

create or replace function messaging_private.match_candidates(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored messages ({chunk, m}; chunk null for the hot row) that could be the other
-- copy of an incoming one: of the other kind (export vs platform id) and within the
-- minutes the incoming messages span. Chunks are read only where their range overlaps.
declare
  v_lo timestamptz;
  v_hi timestamptz;
  v_export boolean;
  v_live boolean;
begin
  select pg_catalog.min(pg_catalog.date_trunc('minute', (n.m ->> 'sent_at')::timestamptz, 'UTC')),
         pg_catalog.max(pg_catalog.date_trunc('minute', (n.m ->> 'sent_at')::timestamptz, 'UTC'))
           + interval '1 minute',
         pg_catalog.bool_or(n.m #>> '{metadata,id_source}' = 'export'),
         pg_catalog.bool_or(n.m #>> '{metadata,id_source}' is distinct from 'export')
    into v_lo, v_hi, v_export, v_live
    from pg_catalog.jsonb_array_elements(incoming) n(m);
  if v_lo is null then
    return '[]'::jsonb;
  end if;
  return (
    with stored as (
      select null::uuid as chunk, h.m
        from pg_catalog.jsonb_array_elements(hot) h(m)
      union all
      select a.id, e.m
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
       where has_archive
         and a.conversation_id = conversation
         and a.first_message_at < v_hi
         and a.last_message_at >= v_lo
    )
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', s.chunk, 'm', s.m)
                      order by (s.m ->> 'sent_at')::timestamptz, (s.m ->> 'id') collate "C"), '[]'::jsonb)
      from stored s
     where (s.m ->> 'sent_at')::timestamptz >= v_lo
       and (s.m ->> 'sent_at')::timestamptz < v_hi
       and case when s.m #>> '{metadata,id_source}' = 'export' then v_live else v_export end
  );
end;
$$;
comment on function messaging_private.match_candidates(uuid, jsonb, boolean, jsonb) is
  'Export/live matching: stored messages ({chunk, m}) of the other kind within the minutes incoming messages span, sorted by (sent_at, id).';

create or replace function messaging_private.match_pairs(incoming jsonb, stored jsonb, direct boolean)
returns jsonb
language plpgsql
stable  -- (text to timestamptz)
set search_path = ''
as $$
-- One-to-one pairs [{i, s}] (0-based positions in incoming and in stored, a {chunk, m}
-- array) of an export copy and a platform copy of the same message: same direction (in a
-- group, or the same sender identifier: a bot sees the account's own messages as a
-- member's), type (an export's omitted media, type other, meets any media type), content with
-- whitespace runs collapsed, sender (outbound, or a direct chat, or the same identifier
-- or name; Telegram's `user123` is 123), and the same minute or second (UTC) at the
-- export copy's precision. Greedy in order: each incoming message, in array order, takes
-- the first stored copy (in array order) not taken yet.
declare
  v_pair record;
  v_last_i integer := -1;                  -- pairs come ordered by i: the last one paired
  v_taken_s boolean[] := '{}'::boolean[];  -- by position (an expanded array: O(1) a look-up)
  v_out jsonb[] := '{}'::jsonb[];
begin
  for v_pair in
    -- joined on (text, minute): an export copy's precision is a minute or a second, so
    -- the two copies always share their UTC minute; the rest is checked per pair. Where
    -- one minute repeats one text very often (over 64 copies on a side: every pair would
    -- be tried), the k-th copy is tried only against the k-th of the other side: a pair
    -- missed that way leaves both copies stored, never one dropped.
    with n0 as (
      select (x.ord - 1)::integer as i, x.m, coalesce(x.m #>> '{metadata,id_source}' = 'export', false) as export,
             pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(x.m ->> 'content', '')), '\s+', ' ', 'g') as words,
             pg_catalog.date_trunc('minute', (x.m ->> 'sent_at')::timestamptz, 'UTC') as minute
        from pg_catalog.jsonb_array_elements(incoming) with ordinality x(m, ord)
    ),
    n as (
      select n0.*, pg_catalog.count(*) over w as copies, pg_catalog.row_number() over (w order by n0.i) as k
        from n0 window w as (partition by n0.words, n0.minute, n0.export)
    ),
    s0 as (
      select (x.ord - 1)::integer as s, x.v -> 'm' as m,
             coalesce(x.v #>> '{m,metadata,id_source}' = 'export', false) as export,
             pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(x.v #>> '{m,content}', '')), '\s+', ' ', 'g') as words,
             pg_catalog.date_trunc('minute', (x.v #>> '{m,sent_at}')::timestamptz, 'UTC') as minute
        from pg_catalog.jsonb_array_elements(stored) with ordinality x(v, ord)
    ),
    s as (
      select s0.*, pg_catalog.count(*) over w as copies, pg_catalog.row_number() over (w order by s0.s) as k
        from s0 window w as (partition by s0.words, s0.minute, s0.export)
    ),
    joined as (
      select n.i, s.s, n.export, n.m as nm, s.m as sm
        from n join s on n.words = s.words and n.minute = s.minute and n.export <> s.export
       where n.copies <= 64 and s.copies <= 64
      union all
      select n.i, s.s, n.export, n.m, s.m
        from n join s on n.words = s.words and n.minute = s.minute and n.k = s.k and n.export <> s.export
       where n.copies > 64 or s.copies > 64
    ),
    pairs as (
      select j.i, j.s, j.nm, j.sm,
             case when j.export then j.nm else j.sm end as e,   -- the export copy
             case when j.export then j.sm else j.nm end as l    -- the platform copy
        from joined j
    )
    select p.i, p.s
      from pairs p
     where (p.e ->> 'type' = p.l ->> 'type'
            or (p.e ->> 'type' = 'other' and p.e #>> '{metadata,media_omitted}' = 'true'
                and p.l ->> 'type' in ('image', 'video', 'audio', 'voice', 'document', 'sticker')))
       and pg_catalog.date_trunc(
             case when p.e #>> '{metadata,time_precision}' = 'minute' then 'minute' else 'second' end,
             (p.e ->> 'sent_at')::timestamptz, 'UTC')
         = pg_catalog.date_trunc(
             case when p.e #>> '{metadata,time_precision}' = 'minute' then 'minute' else 'second' end,
             (p.l ->> 'sent_at')::timestamptz, 'UTC')
       and ((p.nm ->> 'direction' = p.sm ->> 'direction'
             and (p.nm ->> 'direction' = 'outbound' or direct
                  or pg_catalog.regexp_replace(p.nm ->> 'sender_identifier', '^user(\d+)$', '\1')
                     = pg_catalog.regexp_replace(p.sm ->> 'sender_identifier', '^user(\d+)$', '\1')
                  or pg_catalog.lower(pg_catalog.btrim(p.nm ->> 'sender_name'))
                     = pg_catalog.lower(pg_catalog.btrim(p.sm ->> 'sender_name'))))
            -- a bot in a group cannot tell the account's own messages from the others': there
            -- the same sender id is the same sender whatever the direction says
            or (not direct
                and pg_catalog.regexp_replace(p.nm ->> 'sender_identifier', '^user(\d+)$', '\1')
                    = pg_catalog.regexp_replace(p.sm ->> 'sender_identifier', '^user(\d+)$', '\1')))
     order by p.i, p.s
  loop
    if v_pair.i <> v_last_i and v_taken_s[v_pair.s] is null then
      v_last_i := v_pair.i;
      v_taken_s[v_pair.s] := true;
      v_out := v_out || pg_catalog.jsonb_build_object('i', v_pair.i, 's', v_pair.s);
    end if;
  end loop;
  return pg_catalog.to_jsonb(v_out);
end;
$$;
comment on function messaging_private.match_pairs(jsonb, jsonb, boolean) is
  'Export/live matching: one-to-one, in-order pairs [{i, s}] of incoming messages and stored {chunk, m} copies of the other kind that are the same message.';

create or replace function messaging_private.match_copy(keep jsonb, other jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- The copy kept of a matched pair (the one with the platform id): its own fields, the
-- sender name, identifier and media the other had where it has none, and
-- metadata.matched = {id, sent_at} of the other copy plus each field the other said
-- differently (its metadata without the export marks), so nothing the two disagree on
-- is lost.
declare
  v_diff jsonb;
  v_other_meta jsonb := coalesce(other -> 'metadata', '{}'::jsonb) - 'id_source' - 'time_precision' - 'matched';
begin
  select coalesce(pg_catalog.jsonb_object_agg(f.k, other -> f.k), '{}'::jsonb) into v_diff
    from pg_catalog.unnest(array['content', 'type', 'media_url', 'sender_identifier', 'sender_name',
                                 'reply_to_id', 'edited_at']) f(k)
   where other -> f.k is not null and other -> f.k <> 'null'::jsonb
     and other -> f.k is distinct from keep -> f.k;
  if v_other_meta <> '{}'::jsonb and not (coalesce(keep -> 'metadata', '{}'::jsonb) @> v_other_meta) then
    v_diff := v_diff || pg_catalog.jsonb_build_object('metadata', v_other_meta);
  end if;
  return keep
    || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
         'sender_identifier', case when keep ->> 'sender_identifier' is null then other -> 'sender_identifier' end,
         'sender_name', case when keep ->> 'sender_name' is null then other -> 'sender_name' end,
         'media_url', case when keep ->> 'media_url' is null then other -> 'media_url' end))
    || pg_catalog.jsonb_build_object('metadata', coalesce(keep -> 'metadata', '{}'::jsonb)
         || pg_catalog.jsonb_build_object('matched',
              pg_catalog.jsonb_build_object('id', other -> 'id', 'sent_at', other -> 'sent_at') || v_diff));
end;
$$;
comment on function messaging_private.match_copy(jsonb, jsonb) is
  'Export/live matching: the kept copy of a pair, with what only the other copy had and metadata.matched = {id, sent_at, fields that differed} of the other.';

create or replace function messaging_private.ingest_match(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb,
  out fresh jsonb, out hot_edits jsonb, out archive_edits jsonb, out duplicates integer,
  out matched integer, out replaced jsonb
)
language plpgsql
stable
set search_path = ''
as $$
-- Called by ingest_dedupe with the messages no stored id matched. An incoming export copy
-- of a stored platform message is a duplicate; the stored message learns metadata.matched
-- (once: an edit of it, in hot_edits or archive_edits). An incoming platform copy of a
-- stored export message replaces it: the new message (with metadata.matched) goes to
-- hot_edits (ingest_merge files it by time), the stored copy to replaced ({chunk, m}),
-- which ingest_messages takes out; the export copy counts as the duplicate.
declare
  v_stored jsonb;
  v_pairs jsonb;
  v_direct boolean;
begin
  fresh := incoming;
  hot_edits := '[]'::jsonb;
  archive_edits := '[]'::jsonb;
  duplicates := 0;
  matched := 0;
  replaced := '[]'::jsonb;
  if pg_catalog.jsonb_array_length(incoming) = 0 then
    return;
  end if;
  v_stored := messaging_private.match_candidates(conversation, hot, has_archive, incoming);
  if pg_catalog.jsonb_array_length(v_stored) = 0 then
    return;
  end if;
  select c.conversation_type = 'direct' into v_direct from public.chat_conversations c where c.id = conversation;
  v_pairs := messaging_private.match_pairs(incoming, v_stored, coalesce(v_direct, false));
  if pg_catalog.jsonb_array_length(v_pairs) = 0 then
    return;
  end if;
  with p as (
    select (x ->> 'i')::integer + 1 as i, (x ->> 's')::integer + 1 as s
      from pg_catalog.jsonb_array_elements(v_pairs) x
  ),
  n as (
    select x.ord as i, x.m, x.m #>> '{metadata,id_source}' = 'export' as export
      from pg_catalog.jsonb_array_elements(incoming) with ordinality x(m, ord)
  ),
  st as (
    select x.ord as s, x.v -> 'm' as m, (x.v ->> 'chunk')::uuid as chunk
      from pg_catalog.jsonb_array_elements(v_stored) with ordinality x(v, ord)
  ),
  j as (
    select n.i, coalesce(n.export, false) as export, n.m as nm, st.m as sm, st.chunk
      from p join n on n.i = p.i join st on st.s = p.s
  )
  select
    (select coalesce(pg_catalog.jsonb_agg(n.m order by n.i), '[]'::jsonb)
       from n where n.i not in (select p.i from p)),
    coalesce(pg_catalog.jsonb_agg(
        case when j.export then messaging_private.match_copy(j.sm, j.nm)
             else messaging_private.match_copy(j.nm, j.sm) end order by j.i)
      filter (where not j.export or (j.chunk is null and j.sm #> '{metadata,matched}' is null)), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', j.chunk,
        'm', messaging_private.match_copy(j.sm, j.nm)) order by j.i)
      filter (where j.export and j.chunk is not null and j.sm #> '{metadata,matched}' is null), '[]'::jsonb),
    pg_catalog.count(*)::integer,
    pg_catalog.count(*)::integer,
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', j.chunk, 'm', j.sm) order by j.i)
      filter (where not j.export), '[]'::jsonb)
    into fresh, hot_edits, archive_edits, duplicates, matched, replaced
    from j;
end;
$$;
comment on function messaging_private.ingest_match(uuid, jsonb, boolean, jsonb) is
  'Export/live matching, called by ingest_dedupe: splits messages no stored id matched into fresh ones, duplicates of a stored platform copy (which learns metadata.matched) and platform copies replacing a stored export copy (replaced).';

create or replace function messaging_private.match_take_out(
  conversation uuid, owner uuid, hot jsonb, replaced jsonb
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- Takes the export copies that a platform copy replaces out of the hot row (returned) and
-- their archive chunks, through the same removal an edit's old version gets.
begin
  return messaging_private.ingest_apply_edits(conversation, owner, hot,
    coalesce((select pg_catalog.jsonb_agg(r.x -> 'm') from pg_catalog.jsonb_array_elements(replaced) r(x)
               where r.x ->> 'chunk' is null), '[]'::jsonb),
    coalesce((select pg_catalog.jsonb_agg(r.x) from pg_catalog.jsonb_array_elements(replaced) r(x)
               where r.x ->> 'chunk' is not null), '[]'::jsonb));
end;
$$;
comment on function messaging_private.match_take_out(uuid, uuid, jsonb, jsonb) is
  'Export/live matching: removes the stored export copies ({chunk, m}) that platform copies replace from the hot row (returned) and their chunks.';

do $$
declare
  f regprocedure;
begin
  -- like the ingest parts: only inside ingest_messages, as its owner
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'messaging_private'
       and p.proname in ('match_candidates', 'match_pairs', 'match_copy', 'ingest_match', 'match_take_out')
  loop
    execute pg_catalog.format('revoke all on function %s from public, anon, authenticated, service_role', f);
  end loop;
end;
$$;

-- ---- supabase/schemas/13_store.sql ----

-- =============================================================================
-- Store: dedupe, merge, summary
-- =============================================================================

create or replace function messaging_private.ingest_dedupe(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb,
  out fresh jsonb, out hot_edits jsonb, out archive_edits jsonb, out duplicates integer,
  out matched integer, out replaced jsonb
)
language plpgsql
stable
set search_path = ''
-- (as in stored_copies; kept here so the chunk reads of ingest_match, which runs under
-- this setting, are planned as index reads too)
set enable_seqscan = off
as $$
-- Each incoming message against its stored copy, if any (stored_copies: in the hot row,
-- or in an archive chunk found through the id_hashes index). A stored copy is replaced
-- only by one with a newer edited_at (a missing edited_at counts as older); else the
-- message is a duplicate.
-- fresh: not stored yet; hot_edits: replace a hot-row copy; archive_edits: {chunk, m}.
-- What no id matched then meets its export or live copy, if stored (ingest_match):
-- matched pairs, and replaced: stored export copies a platform copy takes the place of.
declare
  v_few jsonb;  -- the stored copies of a few incoming messages, [{chunk, m}]
begin
  -- the live case first: a few messages none of whose ids is stored are all fresh
  if pg_catalog.jsonb_array_length(incoming) <= 20 then
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', s.chunk, 'm', s.m)) into v_few
      from messaging_private.stored_copies(conversation, hot, has_archive, incoming) s;
  end if;
  if pg_catalog.jsonb_array_length(incoming) <= 20 and v_few is null then
    fresh := incoming;
    hot_edits := '[]'::jsonb;
    archive_edits := '[]'::jsonb;
    duplicates := 0;
    matched := 0;
    replaced := '[]'::jsonb;
    -- a live message meets an export copy only where one is stored in its minutes (the
    -- hot row asked in one path query: stored times are UTC text, so a minute's prefix
    -- bounds them)
    if exists (select 1 from pg_catalog.jsonb_array_elements(incoming) n(m)
                where n.m #>> '{metadata,id_source}' = 'export')
       or (hot @> '[{"metadata": {"id_source": "export"}}]'::jsonb
           and pg_catalog.jsonb_path_exists(hot,
                 '$[*] ? (@.metadata.id_source == "export" && @.sent_at >= $lo && @.sent_at < $hi)',
                 pg_catalog.jsonb_build_object(
                   'lo', pg_catalog.to_char((incoming -> 0 ->> 'sent_at')::timestamptz at time zone 'UTC',
                                            'YYYY-MM-DD"T"HH24:MI'),
                   'hi', pg_catalog.to_char((incoming -> -1 ->> 'sent_at')::timestamptz at time zone 'UTC'
                                            + interval '1 minute', 'YYYY-MM-DD"T"HH24:MI'))))
       or (has_archive and (pg_catalog.jsonb_array_length(hot) = 0
           or (incoming -> 0 ->> 'sent_at')::timestamptz < (hot -> 0 ->> 'sent_at')::timestamptz + interval '1 minute'))
    then
      select x.fresh, x.hot_edits, x.archive_edits, x.duplicates, x.matched, x.replaced
        into fresh, hot_edits, archive_edits, duplicates, matched, replaced
        from messaging_private.ingest_match(conversation, hot, has_archive, incoming) x;
    end if;
    return;
  end if;
  with stored as (
    -- looked up once: the few copies already found, or those of a large batch
    select (s.x ->> 'chunk')::uuid as chunk, s.x -> 'm' as m
      from pg_catalog.jsonb_array_elements(v_few) s(x)
     where v_few is not null
    union all
    select s.chunk, s.m
      from messaging_private.stored_copies(conversation, hot, has_archive, incoming) s
     where v_few is null
  ),
  matched as (
    select n.m as nm, n.ord, s.chunk, s.m as sm,
           coalesce(n.m ->> 'edited_at' is not null
             and (s.m ->> 'edited_at' is null
                  or (n.m ->> 'edited_at')::timestamptz > (s.m ->> 'edited_at')::timestamptz), false) as newer
      from pg_catalog.jsonb_array_elements(incoming) with ordinality n(m, ord)
      left join stored s on (s.m ->> 'id') = (n.m ->> 'id')
  )
  select
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord) filter (where x.sm is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord)
      filter (where x.sm is not null and x.newer and x.chunk is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', x.chunk, 'm', x.nm))
      filter (where x.sm is not null and x.newer and x.chunk is not null), '[]'::jsonb),
    pg_catalog.count(*) filter (where x.sm is not null and not x.newer)
    into fresh, hot_edits, archive_edits, duplicates
    from matched x;
  select x.fresh, ingest_dedupe.hot_edits || x.hot_edits, ingest_dedupe.archive_edits || x.archive_edits,
         ingest_dedupe.duplicates + x.duplicates, x.matched, x.replaced
    into fresh, hot_edits, archive_edits, duplicates, matched, replaced
    from messaging_private.ingest_match(conversation, hot, has_archive, fresh) x;
end;
$$;
comment on function messaging_private.ingest_dedupe(uuid, jsonb, boolean, jsonb) is
  'Ingest, part 4: splits incoming messages into fresh ones, edits of hot-row or archived copies, and duplicates.';


create or replace function messaging_private.ingest_merge(
  conversation uuid, owner uuid, hot jsonb, incoming jsonb,
  hot_max integer default null, hot_bytes integer default null
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- Merges sorted incoming messages into the conversation: those older than the hot row go
-- to the archive chunk whose range holds them, the rest join the hot row; past the hot
-- row's caps (count, bytes of searchable text) the oldest spill into the archive in bulk.
-- Returns the new hot row. hot_max / hot_bytes: the caps, when the caller has read them
-- (each read of a setting is a query: a live append would otherwise make four).
declare
  v_hot jsonb := hot;
  v_incoming jsonb := incoming;
  v_old jsonb;
  v_spill jsonb;
  v_n integer;
  v_keep integer;
  v_bound_at timestamptz;
  v_bound_id text;
  v_newest record;
  v_target record;
  v_has_archive boolean;
  v_hot_max integer := coalesce(hot_max, messaging_private.setting('hot_max_messages'));
  v_hot_bytes integer := coalesce(hot_bytes, messaging_private.setting('hot_max_bytes'));
begin
  if pg_catalog.jsonb_array_length(v_incoming) = 0 then
    return v_hot;
  end if;
  -- the common case first: newer than everything the hot row holds (the archive is older)
  if pg_catalog.jsonb_array_length(v_hot) > 0
     and ((v_incoming -> 0 ->> 'sent_at')::timestamptz, (v_incoming -> 0 ->> 'id') collate "C")
         > ((v_hot -> -1 ->> 'sent_at')::timestamptz, (v_hot -> -1 ->> 'id') collate "C") then
    v_hot := v_hot || v_incoming;
  else
    v_has_archive := exists (select 1 from public.chat_conversation_archives a where a.conversation_id = conversation);
    if v_has_archive then
      if pg_catalog.jsonb_array_length(v_hot) > 0 then
        v_bound_at := (v_hot -> 0 ->> 'sent_at')::timestamptz;
        v_bound_id := v_hot -> 0 ->> 'id';
      else
        select a.last_message_at, a.last_message_id into v_bound_at, v_bound_id
          from public.chat_conversation_archives a
         where a.conversation_id = conversation
         order by a.first_message_at desc, a.first_message_id collate "C" desc
         limit 1;
      end if;
      select
        coalesce(pg_catalog.jsonb_agg(i.m order by i.ord) filter (
          where ((i.m ->> 'sent_at')::timestamptz, (i.m ->> 'id') collate "C") < (v_bound_at, v_bound_id collate "C")),
          '[]'::jsonb),
        coalesce(pg_catalog.jsonb_agg(i.m order by i.ord) filter (
          where ((i.m ->> 'sent_at')::timestamptz, (i.m ->> 'id') collate "C") >= (v_bound_at, v_bound_id collate "C")),
          '[]'::jsonb)
        into v_old, v_incoming
        from pg_catalog.jsonb_array_elements(v_incoming) with ordinality i(m, ord);

      -- each old message goes to the chunk whose range starts at or before it (or the oldest)
      for v_target in
        with o as (
          select x.m, (x.m ->> 'sent_at')::timestamptz as ts, x.m ->> 'id' as mid
            from pg_catalog.jsonb_array_elements(v_old) x(m)
        )
        select t.chunk, pg_catalog.jsonb_agg(t.m) as msgs
          from (
            select o.m, coalesce(
              (select a.id from public.chat_conversation_archives a
                where a.conversation_id = conversation
                  and (a.first_message_at, a.first_message_id collate "C") <= (o.ts, o.mid collate "C")
                order by a.first_message_at desc, a.first_message_id collate "C" desc
                limit 1),
              (select a.id from public.chat_conversation_archives a
                where a.conversation_id = conversation
                order by a.first_message_at, a.first_message_id collate "C"
                limit 1)) as chunk
            from o) t
         group by t.chunk
      loop
        perform messaging_private.store_chunks(conversation, owner, v_target.chunk,
          messaging_private.sort_messages(
            (select a.messages from public.chat_conversation_archives a where a.id = v_target.chunk)
            || v_target.msgs));
      end loop;
    end if;
    if pg_catalog.jsonb_array_length(v_incoming) > 0 then
      v_hot := messaging_private.sort_messages(v_hot || v_incoming);
    end if;
  end if;

  -- past the cap (or the byte budget of searchable text: the jsonb size is a cheap upper
  -- bound, the lines are sized only when it is passed) the oldest spill, in bulk
  v_n := pg_catalog.jsonb_array_length(v_hot);
  -- (v_hot was just built, so its size is its uncompressed jsonb size: at least the bytes of
  -- its strings)
  if v_n > v_hot_max
     or (pg_catalog.pg_column_size(v_hot) > v_hot_bytes
         and (select pg_catalog.sum(x) from pg_catalog.unnest(messaging_private.line_sizes(v_hot)) x) > v_hot_bytes)
  then
    v_keep := least(v_n - 1, messaging_private.newest_fitting(v_hot,
      messaging_private.setting('hot_keep_messages'), messaging_private.setting('hot_keep_bytes')));
    select
      pg_catalog.jsonb_agg(h.m order by h.ord) filter (where h.ord <= v_n - v_keep),
      pg_catalog.jsonb_agg(h.m order by h.ord) filter (where h.ord > v_n - v_keep)
      into v_spill, v_hot
      from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord);
    select a.id, a.message_count, a.messages into v_newest
      from public.chat_conversation_archives a
     where a.conversation_id = conversation
     order by a.first_message_at desc, a.first_message_id collate "C" desc
     limit 1;
    if v_newest.id is not null
       and v_newest.message_count + pg_catalog.jsonb_array_length(v_spill)
           <= messaging_private.setting('archive_chunk_messages') then
      perform messaging_private.store_chunks(conversation, owner, v_newest.id, v_newest.messages || v_spill);
    else
      perform messaging_private.store_chunks(conversation, owner, null, v_spill);
    end if;
  end if;
  return v_hot;
end;
$$;
comment on function messaging_private.ingest_merge(uuid, uuid, jsonb, jsonb, integer, integer) is
  'Ingest, part 6: merges sorted new messages into the archive (older than the hot row) and the hot row, spilling past its caps; returns the hot row.';

create or replace function messaging_private.ingest_summary(
  conversation uuid, hot jsonb, first_message_at timestamptz, edited boolean,
  out first_at timestamptz, out last_message jsonb
)
language plpgsql
stable
set search_path = ''
as $$
-- The conversation's oldest time and newest message after a merge. Appends only move
-- them forward (first_message_at: the older of the stored one and the oldest new one);
-- edits can move a message either way, even out of the hot row, so then the archive's
-- first and newest chunks say.
begin
  first_at := first_message_at;
  last_message := hot -> -1;
  if edited then
    select a.first_message_at into first_at
      from public.chat_conversation_archives a
     where a.conversation_id = conversation
     order by a.first_message_at, a.first_message_id collate "C"
     limit 1;
    if not found then
      first_at := (hot -> 0 ->> 'sent_at')::timestamptz;
    end if;
    if last_message is null then
      select a.messages -> -1 into last_message
        from public.chat_conversation_archives a
       where a.conversation_id = conversation
       order by a.first_message_at desc, a.first_message_id collate "C" desc
       limit 1;
    end if;
  end if;
end;
$$;
comment on function messaging_private.ingest_summary(uuid, jsonb, timestamptz, boolean) is
  'Ingest, part 7: the oldest time and the newest message of a conversation after a merge (edits included).';

-- ---- supabase/schemas/14_unchanged.sql ----

-- =============================================================================
-- An unchanged batch: answered without a write
-- =============================================================================

create or replace function messaging_private.ingest_unchanged(payload jsonb, owner uuid, connection uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- A valid batch that changes nothing (an export sent again), proved on the payload as it
-- came, before any stored object is built: every conversation exists and keeps its fields,
-- and every message id is stored, in the hot row or in an archive chunk whose time range
-- holds its sent_at, with an edited_at at least as new as the one sent (none sent counts as
-- oldest). Then the answer (every message a duplicate) comes from the rows, and nothing is
-- written or locked; it is the answer of the usual way as of the statement's snapshot.
-- Anything not proved (an id stored elsewhere, a newer edit, a new message, a field) gives
-- null, and ingest_messages goes the usual way (groups, dedupe, merge).
declare
  -- (#> reads one element; payload -> 'messages' would copy the whole array each time)
  v_first jsonb := payload #> '{messages,0}';
  v_last jsonb := payload #> '{messages,-1}';
  v_total integer;
begin
  -- two index probes first, so that a batch of new messages costs next to nothing here: the
  -- first message's conversation exists, and the last message is not newer than its own's
  if not exists (
       select 1 from public.chat_conversations c
        where c.user_id = owner
          and c.platform = coalesce(v_first ->> 'platform', payload ->> 'platform')
          and c.external_conversation_id = v_first ->> 'external_conversation_id')
     or not exists (
       select 1 from public.chat_conversations c
        where c.user_id = owner
          and c.platform = coalesce(v_last ->> 'platform', payload ->> 'platform')
          and c.external_conversation_id = v_last ->> 'external_conversation_id'
          and c.last_message_at >= (v_last ->> 'sent_at')::timestamptz)
  then
    return null;
  end if;
  v_total := pg_catalog.jsonb_array_length(payload -> 'messages');
  return (
    with src as (
      select e.ord, coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
             e.m ->> 'external_conversation_id' as ext_id, e.m
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    given as (
      -- the conversation fields the batch gives (as ingest_groups reads them: the newest
      -- message's), from the few messages that carry any
      select s.platform, s.ext_id,
        messaging_private.normalize_identifier('any',
          (pg_catalog.array_agg(s.m ->> 'participant_identifier' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
             filter (where s.m ->> 'participant_identifier' is not null))[1]) as participant_identifier,
        (pg_catalog.array_agg(s.m ->> 'participant_name' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
           filter (where s.m ->> 'participant_name' is not null))[1] as participant_name,
        (pg_catalog.array_agg(s.m ->> 'conversation_type' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
           filter (where s.m ->> 'conversation_type' is not null))[1] as conversation_type,
        (pg_catalog.array_agg(s.m ->> 'person_id' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
           filter (where s.m ->> 'person_id' is not null))[1]::uuid as person_id
        from src s
       where s.m ?| array['participant_identifier', 'participant_name', 'conversation_type', 'person_id']
       group by s.platform, s.ext_id
    ),
    conv as (
      select g.platform, g.ext_id, g.n, c.id, c.person_id, c.message_count, c.messages,
             c.message_count > pg_catalog.jsonb_array_length(c.messages) as has_archive,
             c.id is not null
               and (coalesce(f.participant_identifier, c.participant_identifier),
                    coalesce(f.participant_name, c.participant_name),
                    coalesce(f.conversation_type, c.conversation_type),
                    coalesce(connection, c.connection_id),
                    coalesce(f.person_id, c.person_id))
                   is not distinct from
                   (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id)
               as kept
        from (select s.platform, s.ext_id, pg_catalog.count(*) as n from src s group by s.platform, s.ext_id) g
        left join given f on f.platform = g.platform and f.ext_id = g.ext_id
        left join public.chat_conversations c
          on c.user_id = owner and c.platform = g.platform and c.external_conversation_id = g.ext_id
    ),
    incoming as (
      select s.ord, s.m ->> 'id' as msg_id, s.m ->> 'edited_at' as edited_at, s.m ->> 'sent_at' as sent_at,
             c.id as conversation_id, c.has_archive
        from src s
        join conv c on c.platform = s.platform and c.ext_id = s.ext_id
       where c.kept
    ),
    hot as (
      select c.id as conversation_id, h.m ->> 'id' as msg_id, h.m ->> 'edited_at' as edited_at
        from conv c
       cross join lateral pg_catalog.jsonb_array_elements(c.messages) h(m)
       where c.kept
    ),
    in_hot as (
      select i.*, h.msg_id is not null as found,
             i.edited_at is null
               or (h.edited_at is not null and h.edited_at::timestamptz >= i.edited_at::timestamptz) as not_newer
        from incoming i
        left join hot h on h.conversation_id = i.conversation_id and h.msg_id = i.msg_id
    ),
    ranges as (
      -- per conversation, the times of the messages its hot row lacks
      select x.conversation_id, pg_catalog.min(x.sent_at::timestamptz) as lo, pg_catalog.max(x.sent_at::timestamptz) as hi
        from in_hot x
       where not x.found and x.has_archive
       group by x.conversation_id
    ),
    archived as (
      -- the chunks whose time ranges meet those times (chunks never overlap: the one
      -- starting at or before lo, up to the last starting at or before hi), chosen in a
      -- subquery of their own so that only they are expanded, whatever the join order
      select r.conversation_id, e.m ->> 'id' as msg_id, e.m ->> 'edited_at' as edited_at
        from ranges r
       cross join lateral (
         select a.messages
           from public.chat_conversation_archives a
          where a.conversation_id = r.conversation_id
            and a.first_message_at <= r.hi
            and a.last_message_at >= r.lo
            and a.first_message_at >= coalesce(
                  (select b.first_message_at from public.chat_conversation_archives b
                    where b.conversation_id = r.conversation_id and b.first_message_at <= r.lo
                    order by b.first_message_at desc limit 1), '-infinity')
         offset 0) a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
    ),
    in_archive as (
      select x.ord,
             x.edited_at is null
               or (s.edited_at is not null and s.edited_at::timestamptz >= x.edited_at::timestamptz) as not_newer
        from in_hot x
        join archived s on s.conversation_id = x.conversation_id and s.msg_id = x.msg_id
       where not x.found
    )
    select case
      when (select pg_catalog.bool_and(c.kept) from conv c)
       and (select pg_catalog.count(*) from in_hot x where x.found and x.not_newer)
           + (select pg_catalog.count(distinct y.ord) from in_archive y where y.not_newer)
           = v_total
      then pg_catalog.jsonb_build_object(
        'inserted', 0,
        'duplicates', v_total,
        'updated', 0,
        'matched', 0,
        'conversations', (
          select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
              'id', c.id,
              'platform', c.platform,
              'external_conversation_id', c.ext_id,
              'created', false,
              'inserted', 0,
              'duplicates', c.n,
              'updated', 0,
              'matched', 0,
              'person_id', c.person_id,
              'message_count', c.message_count)
            order by c.platform, c.ext_id)
            from conv c))
    end
  );
end;
$$;
comment on function messaging_private.ingest_unchanged(jsonb, uuid, uuid) is
  'Ingest, unchanged batches: the answer to a valid batch every message of which is stored (no newer edit, no field changed), proved from the payload and the rows without writing; null otherwise.';

-- ---- supabase/schemas/15_strategies.sql ----

-- -----------------------------------------------------------------------------
-- The three strategies of the ingest over the conversations of a batch: create the new
-- ones (with their messages, when they fit), count the ones it only repeats, and the
-- per-conversation work of the parts above for the rest
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_new_conversations(
  owner uuid, connection uuid, groups jsonb, hot_max integer, hot_bytes integer,
  out marked_groups jsonb, out results jsonb[], out index jsonb[], out inserted integer,
  out duplicates integer, out existing integer
)
language plpgsql
set search_path = ''
as $$
-- Creates the conversations of groups (from ingest_groups) that do not exist yet, all in
-- one insert. marked_groups: the groups, each with created (this call made its
-- conversation) and fresh (and stored its messages: nothing more to do for it); results,
-- index, inserted, duplicates: what the fresh ones give ingest_messages' answer and the
-- search index; existing: how many groups are left for the other strategies. hot_max / hot_bytes: the
-- hot row's caps, read once by the caller.
begin
  -- A group whose messages fit the hot row (sorted and unique already; the jsonb size
  -- bounds the searchable text, as in ingest_merge) is created with them in the same
  -- insert: it needs no dedupe, merge or spill. A statement per conversation would cost
  -- seconds on 10,000 new conversations.
  with src as (
    select g.ord, g.x,
           pg_catalog.jsonb_array_length(g.x -> 'messages') <= hot_max
             and pg_catalog.pg_column_size(g.x -> 'messages') <= hot_bytes as fits
      from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
  ),
  ins as (
    insert into public.chat_conversations (
      user_id, platform, external_conversation_id, connection_id, conversation_type,
      participant_identifier, participant_name, person_id,
      messages, message_count, first_message_at, last_message_at, last_message_preview)
    select owner, x ->> 'platform', x ->> 'external_conversation_id', connection,
      coalesce(x ->> 'conversation_type', 'direct'),
      x ->> 'participant_identifier', x ->> 'participant_name',
      coalesce((x ->> 'person_id')::uuid,
               case when x ->> 'participant_identifier' is not null then
                 messaging_private.match_person(owner, x ->> 'platform', x ->> 'participant_identifier') end),
      case when fits then x -> 'messages' else '[]'::jsonb end,
      case when fits then pg_catalog.jsonb_array_length(x -> 'messages') else 0 end,
      case when fits then (x -> 'messages' -> 0 ->> 'sent_at')::timestamptz end,
      case when fits then (x -> 'messages' -> -1 ->> 'sent_at')::timestamptz end,
      case when fits then messaging_private.preview(x -> 'messages' -> -1) end
    from src
    order by x ->> 'platform', x ->> 'external_conversation_id'
    on conflict (user_id, platform, external_conversation_id) do nothing
    returning id, platform, external_conversation_id, person_id, message_count
  ),
  marked as (
    -- each group learns whether this call created its conversation, and stored it
    -- (one join, not a search of a list per conversation)
    select src.ord, src.x, ins.id, ins.person_id, ins.message_count,
           ins.id is not null as created, ins.id is not null and src.fits as fresh
      from src
      left join ins on ins.platform = src.x ->> 'platform'
                   and ins.external_conversation_id = src.x ->> 'external_conversation_id'
  )
  select
    pg_catalog.jsonb_agg(m.x || pg_catalog.jsonb_build_object('created', m.created, 'fresh', m.fresh)
      order by m.ord),
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object(
      'id', m.id,
      'platform', m.x ->> 'platform',
      'external_conversation_id', m.x ->> 'external_conversation_id',
      'created', true,
      'inserted', m.message_count,
      'duplicates', (m.x ->> 'batch_duplicates')::integer,
      'updated', 0,
      'matched', 0,
      'person_id', m.person_id,
      'message_count', m.message_count)) filter (where m.fresh), '{}'),
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object('conversation', m.id, 'messages', m.x -> 'messages'))
      filter (where m.fresh), '{}'),
    coalesce(pg_catalog.sum(m.message_count) filter (where m.fresh), 0),
    coalesce(pg_catalog.sum((m.x ->> 'batch_duplicates')::integer) filter (where m.fresh), 0),
    pg_catalog.count(*) filter (where not m.fresh)
    into marked_groups, results, index, inserted, duplicates, existing
    from marked m;
end;
$$;
comment on function messaging_private.ingest_new_conversations(uuid, uuid, jsonb, integer, integer) is
  'Ingest, new conversations: creates the missing conversations of a batch in one insert, with their messages where they fit the hot row; marks each group created / fresh.';


create or replace function messaging_private.ingest_repeats(
  owner uuid, connection uuid, groups jsonb,
  out results jsonb[], out duplicates integer, out positions bigint[]
)
language plpgsql
stable
set search_path = ''
as $$
-- The existing conversations a batch only repeats, all at once: every message already in
-- the hot row and none with a newer edited_at, no conversation field changed (a re-sent
-- batch over 10,000 conversations would otherwise cost a dedupe per conversation).
-- results, duplicates: their part of ingest_messages' answer; positions: theirs in
-- groups (1-based), which ingest_existing then skips. The caller has locked them.
begin
  with repeated as (
    select g.ord, c.id, c.platform, c.external_conversation_id, c.person_id, c.message_count,
           (g.x ->> 'batch_duplicates')::integer + pg_catalog.jsonb_array_length(g.x -> 'messages') as dups
      from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
      join public.chat_conversations c
        on c.user_id = owner
       and c.platform = g.x ->> 'platform'
       and c.external_conversation_id = g.x ->> 'external_conversation_id'
     where not (g.x -> 'fresh')::boolean
       and (coalesce(g.x ->> 'participant_identifier', c.participant_identifier),
            coalesce(g.x ->> 'participant_name', c.participant_name),
            coalesce(g.x ->> 'conversation_type', c.conversation_type),
            coalesce(connection, c.connection_id),
            coalesce((g.x ->> 'person_id')::uuid, c.person_id))
           is not distinct from
           (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id)
       and not exists (
         select 1
           from pg_catalog.jsonb_array_elements(g.x -> 'messages') n(m)
          where not (c.messages @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', n.m -> 'id')))
             or (n.m ->> 'edited_at' is not null
                 and not (c.messages @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                            'id', n.m -> 'id', 'edited_at', n.m -> 'edited_at')))
                 and exists (select 1 from pg_catalog.jsonb_array_elements(c.messages) h(m)
                              where h.m ->> 'id' = n.m ->> 'id'
                                and (h.m ->> 'edited_at' is null
                                     or (h.m ->> 'edited_at')::timestamptz < (n.m ->> 'edited_at')::timestamptz))))
  )
  select
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object(
      'id', r.id,
      'platform', r.platform,
      'external_conversation_id', r.external_conversation_id,
      'created', false,
      'inserted', 0,
      'duplicates', r.dups,
      'updated', 0,
      'matched', 0,
      'person_id', r.person_id,
      'message_count', r.message_count)), '{}'),
    coalesce(pg_catalog.sum(r.dups), 0),
    coalesce(pg_catalog.array_agg(r.ord), '{}')
    into results, duplicates, positions
    from repeated r;
end;
$$;
comment on function messaging_private.ingest_repeats(uuid, uuid, jsonb) is
  'Ingest, repeats: the existing conversations a batch only repeats (every message in the hot row, nothing newer, no field changed), counted at once without a dedupe each.';

create or replace function messaging_private.ingest_existing(
  owner uuid, connection uuid, groups jsonb, repeated bigint[], lock_each boolean,
  hot_max integer, hot_bytes integer,
  out results jsonb[], out index jsonb[], out inserted integer, out duplicates integer,
  out updated integer, out matched integer
)
language plpgsql
set search_path = ''
as $$
-- Each existing conversation of groups that is not fresh (ingest_new_conversations) nor
-- repeated (ingest_repeats, positions given): dedupe, export/live matching, edits, merge,
-- summary, then its row. lock_each: lock each conversation as it is read (the caller
-- locks several at once in a fixed order, one as it is read here). hot_max / hot_bytes:
-- the hot row's caps, read once by the caller. Returns each conversation's part of the
-- answer, the search index's batches and the counts.
declare
  g jsonb;
  conv public.chat_conversations%rowtype;
  v_row public.chat_conversations%rowtype;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append)
  v_results jsonb[] := '{}'::jsonb[];
  v_index jsonb[] := '{}'::jsonb[];
  v_inserted_all integer := 0;
  v_dups_all integer := 0;
  v_updated_all integer := 0;
  v_matched_all integer := 0;
  v_hot jsonb;
  v_dedupe record;
  v_incoming jsonb;
  v_inserted integer;
  v_updated integer;
  v_dups integer;
  v_first_at timestamptz;
  v_last jsonb;
begin
  for g in
    select x from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
     where not (x -> 'fresh')::boolean
       and g.ord not in (select pg_catalog.unnest(repeated))  -- (a hashed set)
  loop
    if lock_each then
      select * into strict conv
        from public.chat_conversations c
       where c.user_id = owner
         and c.platform = g ->> 'platform'
         and c.external_conversation_id = g ->> 'external_conversation_id'
         for update;
    else
      select * into strict conv
        from public.chat_conversations c
       where c.user_id = owner
         and c.platform = g ->> 'platform'
         and c.external_conversation_id = g ->> 'external_conversation_id';
    end if;

    v_dedupe := messaging_private.ingest_dedupe(conv.id, conv.messages,
      conv.message_count > pg_catalog.jsonb_array_length(conv.messages), g -> 'messages');
    v_inserted := pg_catalog.jsonb_array_length(v_dedupe.fresh);
    v_updated := pg_catalog.jsonb_array_length(v_dedupe.hot_edits)
      + pg_catalog.jsonb_array_length(v_dedupe.archive_edits);
    v_dups := v_dedupe.duplicates + (g ->> 'batch_duplicates')::integer;

    v_hot := conv.messages;
    if pg_catalog.jsonb_array_length(v_dedupe.replaced) > 0 then
      -- export copies that live copies (in hot_edits) replace
      v_hot := messaging_private.match_take_out(conv.id, owner, v_hot, v_dedupe.replaced);
    end if;
    if v_inserted + v_updated > 0 then
      if v_updated > 0 then
        v_hot := messaging_private.ingest_apply_edits(conv.id, owner, v_hot,
          v_dedupe.hot_edits, v_dedupe.archive_edits);
        v_incoming := messaging_private.sort_messages(v_dedupe.fresh || v_dedupe.hot_edits
          || coalesce((select pg_catalog.jsonb_agg(u.x -> 'm')
                         from pg_catalog.jsonb_array_elements(v_dedupe.archive_edits) u(x)), '[]'::jsonb));
      else
        v_incoming := v_dedupe.fresh;  -- already sorted by ingest_groups
      end if;
      v_hot := messaging_private.ingest_merge(conv.id, owner, v_hot, v_incoming, hot_max, hot_bytes);
      v_index := pg_catalog.array_append(v_index,
        pg_catalog.jsonb_build_object('conversation', conv.id, 'messages', v_incoming));
      select s.first_at, s.last_message into v_first_at, v_last
        from messaging_private.ingest_summary(conv.id, v_hot,
               least(conv.first_message_at, (v_incoming -> 0 ->> 'sent_at')::timestamptz), v_updated > 0) s;
    end if;

    -- ---- the conversation row -------------------------------------------------
    -- With nothing new (a re-import), messages are left as stored, so the row is not
    -- rewritten and its indexes not touched; it is not updated at all unless one of the
    -- conversation's own fields changes.
    update public.chat_conversations c
       set messages = case when v_inserted + v_updated > 0 then v_hot else c.messages end,
           message_count = c.message_count + v_inserted,
           first_message_at = case when v_inserted + v_updated > 0 then v_first_at else c.first_message_at end,
           last_message_at = case when v_inserted + v_updated > 0
                                  then (v_last ->> 'sent_at')::timestamptz else c.last_message_at end,
           last_message_preview = case when v_inserted + v_updated > 0
                                       then messaging_private.preview(v_last)
                                       else c.last_message_preview end,
           participant_identifier = coalesce(g ->> 'participant_identifier', c.participant_identifier),
           participant_name = coalesce(g ->> 'participant_name', c.participant_name),
           conversation_type = coalesce(g ->> 'conversation_type', c.conversation_type),
           connection_id = coalesce(connection, c.connection_id),
           -- (match_person is a query: asked only when there is an identifier to match)
           person_id = coalesce(
             (g ->> 'person_id')::uuid,
             c.person_id,
             case when coalesce(g ->> 'participant_identifier', c.participant_identifier) is not null then
               messaging_private.match_person(owner, c.platform,
                 coalesce(g ->> 'participant_identifier', c.participant_identifier)) end)
     where c.id = conv.id
       and (v_inserted + v_updated > 0
            or (coalesce(g ->> 'participant_identifier', c.participant_identifier),
                coalesce(g ->> 'participant_name', c.participant_name),
                coalesce(g ->> 'conversation_type', c.conversation_type),
                coalesce(connection, c.connection_id),
                coalesce((g ->> 'person_id')::uuid, c.person_id))
               is distinct from
               (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id))
     returning * into v_row;
    if found then
      conv := v_row;
    end if;

    v_inserted_all := v_inserted_all + v_inserted;
    v_dups_all := v_dups_all + v_dups;
    v_updated_all := v_updated_all + v_updated;
    v_matched_all := v_matched_all + v_dedupe.matched;
    v_results := pg_catalog.array_append(v_results, pg_catalog.jsonb_build_object(
      'id', conv.id,
      'platform', conv.platform,
      'external_conversation_id', conv.external_conversation_id,
      'created', (g -> 'created')::boolean,
      'inserted', v_inserted,
      'duplicates', v_dups,
      'updated', v_updated,
      'matched', v_dedupe.matched,
      'person_id', conv.person_id,
      'message_count', conv.message_count));
  end loop;

  results := v_results;
  index := v_index;
  inserted := v_inserted_all;
  duplicates := v_dups_all;
  updated := v_updated_all;
  matched := v_matched_all;
end;
$$;
comment on function messaging_private.ingest_existing(uuid, uuid, jsonb, bigint[], boolean, integer, integer) is
  'Ingest, existing conversations: per conversation a batch brings something to, dedupe, matching, edits, merge, summary and the row; returns the answer''s parts and counts.';

-- ---- supabase/schemas/16_ingest.sql ----

-- -----------------------------------------------------------------------------
-- The ingest itself: the parts above, in order, per conversation
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  v_connection uuid;
  v_errors text[];
  v_total integer;
  v_groups jsonb;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append, quadratic over 10,000 conversations)
  v_results jsonb[] := '{}'::jsonb[];
  v_index jsonb[] := '{}'::jsonb[];
  v_repeated bigint[] := '{}'::bigint[];
  v_existing integer;
  v_hot_max integer;
  v_hot_bytes integer;
  v_inserted_all integer := 0;
  v_dups_all integer := 0;
  v_updated_all integer := 0;
  v_matched_all integer := 0;
  v_unchanged jsonb;
  v_platform text;   -- the one conversation of a call into one conversation
  v_external text;
  v_new record;      -- what each strategy returns
  v_repeats record;
  v_each record;
begin
  -- ---- shape of the payload ---------------------------------------------------
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023',
      message = 'payload: must be a JSON object like {"messages": [...]}, got '
        || coalesce(pg_catalog.jsonb_typeof(payload), 'nothing'),
      hint = 'payload_not_object';
  end if;
  if pg_catalog.jsonb_typeof(payload -> 'messages') is distinct from 'array' then
    raise exception using errcode = '22023',
      message = 'messages: required, must be an array of message objects, got '
        || coalesce(pg_catalog.jsonb_typeof(payload -> 'messages'), 'nothing'),
      hint = 'messages_not_array';
  end if;
  v_total := pg_catalog.jsonb_array_length(payload -> 'messages');
  if v_total > messaging_private.contract_limit('messages_per_call') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('messages: %s messages in one call; at most %s', v_total,
        messaging_private.contract_limit('messages_per_call')),
      hint = 'too_many_messages';
  end if;

  v_owner := messaging_private.ingest_owner(payload);
  -- both caps in one query (a setting() call each would be two)
  select pg_catalog.max(s.value) filter (where s.key = 'hot_max_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'hot_max_bytes')
    into v_hot_max, v_hot_bytes
    from messaging_private.settings s
   where s.key in ('hot_max_messages', 'hot_max_bytes');

  -- ---- every field of every message -----------------------------------------
  v_errors := messaging_private.payload_errors(payload);
  if pg_catalog.cardinality(v_errors) > 0 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('invalid payload, %s problem%s: %s', pg_catalog.cardinality(v_errors),
        case when pg_catalog.cardinality(v_errors) > 1 then 's' else '' end,
        pg_catalog.array_to_string(v_errors[1:50], '; ')
          || case when pg_catalog.cardinality(v_errors) > 50
                  then pg_catalog.format('; and %s more (see details)', pg_catalog.cardinality(v_errors) - 50)
                  else '' end),
      detail = pg_catalog.array_to_string(v_errors[1:2000], E'\n'),
      hint = 'payload_invalid';
  end if;

  v_connection := messaging_private.ingest_references(payload, v_owner);
  if v_total = 0 then
    return pg_catalog.jsonb_build_object('inserted', 0, 'duplicates', 0, 'updated', 0, 'matched', 0,
      'conversations', '[]'::jsonb);
  end if;

  -- ---- a batch that changes nothing (an export sent again): its answer, no write -----
  -- (not for a few messages, the live case: new ones, which the proof would only delay)
  if v_total > 20 then
    v_unchanged := messaging_private.ingest_unchanged(payload, v_owner, v_connection);
    if v_unchanged is not null then
      if v_connection is not null then
        update public.messaging_connections mc
           set last_synced_at = pg_catalog.now()
         where mc.id = v_connection;
      end if;
      return v_unchanged;
    end if;
  end if;
  v_groups := messaging_private.ingest_groups(payload);

  -- ---- the conversations this call creates, with their messages where they fit ----
  -- (each strategy's answer taken as a record: a call in a plain expression, not a query)
  -- (one conversation that exists, the live case: nothing to create, and no speculative
  -- insert, person match and preview of a row that is not written)
  -- (the key read into variables first: the group holds its messages, and a plan that
  -- evaluated the path per row scanned would walk them again for each row)
  if pg_catalog.jsonb_array_length(v_groups) = 1 then
    v_platform := v_groups -> 0 ->> 'platform';
    v_external := v_groups -> 0 ->> 'external_conversation_id';
  end if;
  if v_external is not null
     and exists (select 1 from public.chat_conversations c
                  where c.user_id = v_owner and c.platform = v_platform
                    and c.external_conversation_id = v_external) then
    v_groups := pg_catalog.jsonb_build_array(v_groups -> 0 || '{"created": false, "fresh": false}'::jsonb);
    v_existing := 1;
  else
    v_new := messaging_private.ingest_new_conversations(v_owner, v_connection, v_groups, v_hot_max, v_hot_bytes);
    v_groups := v_new.marked_groups;
    v_results := v_new.results;
    v_index := v_new.index;
    v_inserted_all := v_new.inserted;
    v_dups_all := v_new.duplicates;
    v_existing := v_new.existing;
  end if;

  -- ---- the existing ones locked in one fixed order ----------------------------
  -- (one existing conversation, the live case, is locked as the loop below reads it)
  if v_existing > 1 then
  perform 1
     from public.chat_conversations c
    where c.user_id = v_owner
      and (c.platform, c.external_conversation_id) in (
        select x ->> 'platform', x ->> 'external_conversation_id'
        from pg_catalog.jsonb_array_elements(v_groups) x
       where not (x -> 'fresh')::boolean)
    order by c.platform, c.external_conversation_id
    for update;
  end if;

  -- ---- conversations a batch only repeats, all at once. Only for batches over many
  -- existing conversations: for a few (live traffic, one message a call) the check reads
  -- every hot row once more than ingest_existing does, and it made a one-message call
  -- much dearer (figures in bench/HISTORY.md).
  if v_existing > 16 then
    v_repeats := messaging_private.ingest_repeats(v_owner, v_connection, v_groups);
    v_results := v_results || v_repeats.results;
    v_dups_all := v_dups_all + v_repeats.duplicates;
    v_repeated := v_repeats.positions;
  end if;

  -- ---- each other conversation: dedupe, edits, merge, summary ---------------------
  if v_existing > pg_catalog.cardinality(v_repeated) then
    v_each := messaging_private.ingest_existing(v_owner, v_connection, v_groups, v_repeated, v_existing = 1,
      v_hot_max, v_hot_bytes);
    v_results := v_results || v_each.results;
    v_index := v_index || v_each.index;
    v_inserted_all := v_inserted_all + v_each.inserted;
    v_dups_all := v_dups_all + v_each.duplicates;
    v_updated_all := v_each.updated;
    v_matched_all := v_each.matched;
  end if;

  -- the search segments of every conversation at once
  if pg_catalog.cardinality(v_index) > 0 then
    perform messaging_private.index_batches(v_owner, pg_catalog.to_jsonb(v_index));
  end if;

  if v_connection is not null then
    update public.messaging_connections mc
       set last_synced_at = pg_catalog.now()
     where mc.id = v_connection;
  end if;

  return pg_catalog.jsonb_build_object(
    'inserted', v_inserted_all,
    'duplicates', v_dups_all,
    'updated', v_updated_all,
    'matched', v_matched_all,
    'conversations', (select coalesce(pg_catalog.jsonb_agg(r.x order by r.x ->> 'platform', r.x ->> 'external_conversation_id'),
                                      '[]'::jsonb)
                        from pg_catalog.unnest(v_results) r(x)));
end;
$$;
comment on function messaging_private.ingest_messages(jsonb) is
  'The privileged body of public.ingest_messages: validates, then owner, references, groups, and per conversation dedupe, edits, merge and summary (the ingest_* parts).';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- The public RPC: supabase.rpc("ingest_messages", {"payload": {...}})
-- -----------------------------------------------------------------------------

create or replace function public.ingest_messages(payload jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.ingest_messages(payload);
$$;
comment on function public.ingest_messages(jsonb) is
  'Ingests a batch of chat messages (docs/contract.md): all-or-nothing, idempotent, returns {inserted, duplicates, updated, conversations}.';
revoke all on function public.ingest_messages(jsonb) from public, anon;
grant execute on function public.ingest_messages(jsonb) to authenticated, service_role;

-- ---- supabase/schemas/17_reads.sql ----

-- =============================================================================
-- Reads for the CRM frontend
--
-- get_conversation_messages pages a thread newest-first across the hot row and
-- the archive chunks, so a conversation of any length pages to its first
-- message. It runs as the caller: RLS decides what it can see.
-- =============================================================================

create or replace function public.get_conversation_messages(
  conversation_id uuid,
  before_sent_at timestamptz default null,
  before_id text default null,
  max_count integer default 50
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_msgs jsonb;
  v_page jsonb := '[]'::jsonb;
  v_need integer := max_count;
  v_len integer;
  v_lo integer;
  v_hi integer;
  v_mid integer;
  v_searching boolean := before_sent_at is not null;  -- the cursor may fall inside v_msgs
  -- the next chunk read is the newest whose first message is older than (v_bound_at, v_bound_id)
  v_bound_at timestamptz := coalesce(before_sent_at, 'infinity'::timestamptz);
  v_bound_id text := before_id;
  v_chunk record;
begin
  if max_count is null or max_count < 1 or max_count > 1000 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and 1000, got %s', max_count),
      hint = 'max_count_out_of_range';
  end if;
  if before_id is not null and before_sent_at is null then
    raise exception using errcode = '22023', message = 'before_id: needs before_sent_at', hint = 'cursor_incomplete';
  end if;

  -- `|| '[]'` hands back the array decompressed, so the reads below (a binary search, then
  -- only the elements the page returns) do not decompress it again on every access
  select c.messages || '[]'::jsonb into v_msgs
    from public.chat_conversations c
   where c.id = get_conversation_messages.conversation_id;
  if not found then
    return '[]'::jsonb;  -- no such conversation, or not the caller's
  end if;

  -- The hot row, then the archive chunks newest first: each array is sorted by (sent_at, id),
  -- chunks never overlap and all are older than the hot row. v_hi = how many elements of the
  -- array are strictly older than the (sent_at, id) cursor; the page takes the newest of them.
  loop
    v_len := pg_catalog.jsonb_array_length(v_msgs);
    v_lo := 0;
    v_hi := v_len;
    if v_searching then
      while v_lo < v_hi loop
        v_mid := (v_lo + v_hi) / 2;
        if ((v_msgs -> v_mid ->> 'sent_at')::timestamptz < before_sent_at)
           or (before_id is not null
               and (v_msgs -> v_mid ->> 'sent_at')::timestamptz = before_sent_at
               and (v_msgs -> v_mid ->> 'id') collate "C" < before_id collate "C") then
          v_lo := v_mid + 1;
        else
          v_hi := v_mid;
        end if;
      end loop;
      -- every older array lies wholly before the cursor once one element of this one does
      v_searching := v_hi = 0;
    end if;
    if v_hi > 0 then
      v_page := v_page || (
        select pg_catalog.jsonb_agg(v_msgs -> i.i order by i.i desc)
          from pg_catalog.generate_series(v_hi - 1, greatest(v_hi - v_need, 0), -1) i(i));
      v_need := max_count - pg_catalog.jsonb_array_length(v_page);
    end if;
    exit when v_need <= 0;

    select a.messages || '[]'::jsonb as messages, a.first_message_at, a.first_message_id into v_chunk
      from public.chat_conversation_archives a
     where a.conversation_id = get_conversation_messages.conversation_id
       and (a.first_message_at < v_bound_at
            or (a.first_message_at = v_bound_at and v_bound_id is not null
                and a.first_message_id collate "C" < v_bound_id collate "C"))
     order by a.first_message_at desc, a.first_message_id collate "C" desc
     limit 1;
    exit when not found;
    v_msgs := v_chunk.messages;
    v_bound_at := v_chunk.first_message_at;
    v_bound_id := v_chunk.first_message_id;
  end loop;
  return v_page;
end;
$$;
comment on function public.get_conversation_messages(uuid, timestamptz, text, integer) is
  'A page of a conversation''s messages, newest first, strictly older than the (before_sent_at, before_id) cursor, across the hot row and the archive. Empty for a conversation the caller cannot see.';
revoke all on function public.get_conversation_messages(uuid, timestamptz, text, integer) from public, anon;
grant execute on function public.get_conversation_messages(uuid, timestamptz, text, integer)
  to authenticated, service_role;


-- =============================================================================
-- Newer pages of a thread
--
-- A thread opened at a search hit pages both ways: get_conversation_messages
-- reads older messages, get_conversation_messages_after the newer ones, across
-- the archive chunks and the hot row. It runs as the caller: RLS decides.
-- =============================================================================

create or replace function public.get_conversation_messages_after(
  conversation_id uuid,
  after_sent_at timestamptz,
  after_id text default null,
  max_count integer default 50
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_hot jsonb;
  v_page jsonb := '[]'::jsonb;
  v_more jsonb;
  v_need integer;
  v_chunk record;
begin
  if max_count is null or max_count < 1 or max_count > 1000 then
    raise exception using errcode = '22023', hint = 'max_count_out_of_range',
      message = pg_catalog.format('max_count: must be between 1 and 1000, got %s', max_count);
  end if;
  if after_sent_at is null then
    raise exception using errcode = '22023', message = 'after_sent_at: required', hint = 'cursor_incomplete';
  end if;

  select c.messages into v_hot
    from public.chat_conversations c
   where c.id = get_conversation_messages_after.conversation_id;
  if not found then
    return '[]'::jsonb;  -- no such conversation, or not the caller's
  end if;

  -- oldest first, strictly newer than the (sent_at, id) cursor: the archive, then the hot row
  v_need := max_count;
  for v_chunk in
    select a.messages
      from public.chat_conversation_archives a
     where a.conversation_id = get_conversation_messages_after.conversation_id
       and a.last_message_at >= after_sent_at
     order by a.first_message_at, a.first_message_id collate "C"
  loop
    select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord), '[]'::jsonb) into v_more
      from (
        select e.m, e.ord
          from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord)
         where ((e.m ->> 'sent_at')::timestamptz, (e.m ->> 'id') collate "C")
               > (after_sent_at, coalesce(after_id, '') collate "C")
            or (after_id is null and (e.m ->> 'sent_at')::timestamptz > after_sent_at)
         order by e.ord
         limit v_need
      ) p;
    v_page := v_page || v_more;
    v_need := max_count - pg_catalog.jsonb_array_length(v_page);
    exit when v_need <= 0;
  end loop;

  if v_need > 0 then
    select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord), '[]'::jsonb) into v_more
      from (
        select h.m, h.ord
          from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord)
         where (after_id is not null
                and ((h.m ->> 'sent_at')::timestamptz, (h.m ->> 'id') collate "C")
                    > (after_sent_at, after_id collate "C"))
            or (after_id is null and (h.m ->> 'sent_at')::timestamptz > after_sent_at)
         order by h.ord
         limit v_need
      ) p;
    v_page := v_page || v_more;
  end if;
  return v_page;
end;
$$;
comment on function public.get_conversation_messages_after(uuid, timestamptz, text, integer) is
  'A page of a conversation''s messages, oldest first, strictly newer than the (after_sent_at, after_id) cursor, across the archive and the hot row (the other direction of get_conversation_messages). Empty for a conversation the caller cannot see.';
revoke all on function public.get_conversation_messages_after(uuid, timestamptz, text, integer) from public, anon;
grant execute on function public.get_conversation_messages_after(uuid, timestamptz, text, integer)
  to authenticated, service_role;


-- =============================================================================
-- Read markers: mark_conversation_read
-- =============================================================================

create or replace function public.mark_conversation_read(conversation_id uuid)
returns timestamptz
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_user uuid := (select auth.uid());
  v_at timestamptz;
begin
  if v_user is null then
    raise exception using errcode = '42501', message = 'mark_conversation_read: sign in first', hint = 'role_not_allowed';
  end if;
  -- RLS: only a conversation the caller can see
  select c.last_message_at into v_at
    from public.chat_conversations c
   where c.id = mark_conversation_read.conversation_id;
  if not found then
    raise exception using errcode = 'P0002', hint = 'conversation_not_found',
      message = pg_catalog.format('conversation_id: no such conversation (%s)', conversation_id);
  end if;
  if v_at is null then
    return null;
  end if;
  insert into public.chat_conversation_read_markers as r (user_id, conversation_id, last_read_at)
  values (v_user, mark_conversation_read.conversation_id, v_at)
  on conflict on constraint chat_conversation_read_markers_pkey do update
    set last_read_at = greatest(r.last_read_at, excluded.last_read_at), updated_at = pg_catalog.now()
  returning r.last_read_at into v_at;
  return v_at;
end;
$$;
comment on function public.mark_conversation_read(uuid) is
  'Marks the caller''s conversation read up to its newest message (never backwards); returns the marker''s time.';
revoke all on function public.mark_conversation_read(uuid) from public, anon;
grant execute on function public.mark_conversation_read(uuid) to authenticated;

-- ---- supabase/schemas/18_search.sql ----

-- =============================================================================
-- Search: search_messages over the search segments
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Snippets: the match wrapped in [[ ]] within about 120 characters of context
-- -----------------------------------------------------------------------------

create or replace function messaging_private.search_snippet(content text, norm_query text, tsq tsquery)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_norm text := messaging_private.search_normalize(content);
  v_pos integer;
  v_len integer := pg_catalog.length(norm_query);
  v_from integer;
begin
  if content is null then
    return null;
  end if;
  v_pos := pg_catalog.strpos(v_norm, norm_query);
  -- unaccent keeps most lengths (é -> e); where it does not (ß -> ss) positions would
  -- drift, so fall back to PostgreSQL's own headline
  if v_pos > 0 and pg_catalog.length(v_norm) = pg_catalog.length(content) then
    v_from := greatest(1, v_pos - 50);
    return case when v_from > 1 then '…' else '' end
      || pg_catalog.substr(content, v_from, v_pos - v_from)
      || '[[' || pg_catalog.substr(content, v_pos, v_len) || ']]'
      || pg_catalog.substr(content, v_pos + v_len, 60)
      || case when pg_catalog.length(content) > v_pos + v_len + 59 then '…' else '' end;
  end if;
  if tsq is null then
    return pg_catalog.left(content, 120);
  end if;
  return pg_catalog.ts_headline('pg_catalog.simple'::regconfig, content, tsq,
    'StartSel=[[, StopSel=]], MaxWords=20, MinWords=8, MaxFragments=2');
end;
$$;
comment on function messaging_private.search_snippet(text, text, tsquery) is
  'A snippet of a message with the query match wrapped in [[ ]].';

-- -----------------------------------------------------------------------------
-- search_messages: one JSON object per hit
-- {conversation_id, platform, participant_name, person_id, message, snippet, rank}
-- -----------------------------------------------------------------------------

create or replace function messaging_private.search_messages(
  query text,
  person_id uuid default null,
  max_count integer default 50,
  platform text default null,
  sent_after timestamptz default null,
  sent_before timestamptz default null,
  direction text default null,
  user_id uuid default null
)
returns setof jsonb
language plpgsql
stable
-- definer: it filters by the owner itself, so row-level security does not wrap the index
-- conditions (@@ and LIKE are not leakproof) into a filter over every row of the user
security definer
set search_path = ''
-- (its plans are cached per session like any function's: with the words stored per
-- segment no plan ever rebuilds a tsvector, and planning this query each time costs more
-- than a rare-code search)
as $$
declare
  -- long queries are cut, not refused: the first 200 characters say enough
  v_text text := pg_catalog.btrim(pg_catalog.left(coalesce(query, ''), 200));
  v_norm text := messaging_private.search_normalize(v_text);
  v_tsq tsquery;
  v_tsq_words tsquery;
  v_like text;
  v_words text[] := '{}'::text[];
  v_platform text := search_messages.platform;
  v_person uuid := search_messages.person_id;
  v_direction text := search_messages.direction;
  v_owner uuid;
  v_role text := auth.jwt() ->> 'role';
  -- the newest-first read of a common word: its matching lines, and whether it is the answer
  v_lazy boolean := false;
  v_seen integer := 0;
  v_segment bigint;
  v_m_conv uuid[] := '{}'::uuid[];
  v_m_mid text[] := '{}'::text[];
  v_m_sent timestamptz[] := '{}'::timestamptz[];
  v_m_line text[] := '{}'::text[];
begin
  -- ---- whose messages: the signed-in user's own, or the user service_role names ----
  if v_role is null then
    -- no JWT: a direct database session is trusted like service_role; a PostgREST
    -- session without claims never is
    v_role := case when session_user = 'authenticator' then 'anon' else 'service_role' end;
  end if;
  if v_role = 'authenticated' then
    v_owner := (select auth.uid());
    if v_owner is null then
      raise exception using errcode = '42501', message = 'search_messages: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if search_messages.user_id is not null and search_messages.user_id <> v_owner then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only search their own messages',
        hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    v_owner := search_messages.user_id;
    if v_owner is null then
      raise exception using errcode = '22023',
        message = 'user_id: required (the service role must name the CRM user whose messages it searches)',
        hint = 'user_id_required';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('search_messages: role %s may not search messages', v_role),
      hint = 'role_not_allowed';
  end if;

  if max_count is null or max_count < 1 or max_count > 500 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and 500, got %s', max_count),
      hint = 'max_count_out_of_range';
  end if;
  if v_norm = '' then
    return;
  end if;
  v_tsq := pg_catalog.websearch_to_tsquery('pg_catalog.simple'::regconfig, v_norm);
  if pg_catalog.numnode(v_tsq) = 0 then
    v_tsq := null;  -- only punctuation: substring matching alone
  end if;
  -- the same query with phrases as plain "and": what a segment's positionless words can say
  v_tsq_words := pg_catalog.regexp_replace(v_tsq::text, '<(\d+|-)>', '&', 'g')::tsquery;
  -- every word of a plain query (no "or", no -exclusion) must occur in a matching
  -- message: a cheap substring test that spares building most messages' tsvectors
  if v_tsq is not null and v_norm !~ '(^|\s)(or(\s|$)|-\S)' then
    select coalesce(pg_catalog.array_agg('%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
             w, '\', '\\'), '%', '\%'), '_', '\_') || '%'), '{}')
      into v_words
      from pg_catalog.unnest(pg_catalog.tsvector_to_array(
             pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, v_norm))) w;
  end if;
  -- the whole query as a substring; LIKE's wildcards in it are taken literally
  v_like := '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    v_norm, '\', '\\'), '%', '\%'), '_', '\_') || '%';

  -- ---- a common word: the newest segments first, each read as it comes ---------------
  -- The path below asks both indexes for every segment of the owner holding a match, and a
  -- word in most segments makes that a re-check of nearly every segment. When the word is
  -- in at least 8 (the setting search_dense_segments) of the owner's 32 newest segments,
  -- the segments are read newest first instead, until max_count x 5 lines matched: the
  -- very lines the path below ranks (it takes the first matching lines of the newest
  -- segments too). When the owner's 64 newest segments did not give that many, the path
  -- below runs after all.
  if v_tsq is not null then
    select pg_catalog.count(*) filter (where r.lexemes @@ v_tsq_words)
             >= coalesce(messaging_private.setting('search_dense_segments'), 8)
      into v_lazy
      from (select s.lexemes from messaging_private.search_segments s
             where s.user_id = v_owner
             order by s.last_sent_at desc
             limit 32) r;
  end if;
  if v_lazy then
    v_lazy := false;
    for v_segment in
      select s.id from messaging_private.search_segments s
       where s.user_id = v_owner
         and (sent_after is null or s.last_sent_at >= sent_after)
         and (sent_before is null or s.first_sent_at < sent_before)
       order by s.last_sent_at desc
       limit 64
    loop
      v_seen := v_seen + 1;
      select v_m_conv || coalesce(pg_catalog.array_agg(x.conv_id), '{}'),
             v_m_mid || coalesce(pg_catalog.array_agg(x.mid), '{}'),
             v_m_sent || coalesce(pg_catalog.array_agg(x.sent), '{}'),
             v_m_line || coalesce(pg_catalog.array_agg(x.line), '{}')
        into v_m_conv, v_m_mid, v_m_sent, v_m_line
        from (
          select s.conversation_id as conv_id, l.mid, l.sent, l.line
            from messaging_private.search_segments s
           cross join lateral unnest(pg_catalog.string_to_array(s.document, E'\n'), s.message_ids, s.sent_ats,
                                     s.outbound) l(line, mid, sent, outbound)
           where s.id = v_segment
             and (s.lexemes @@ v_tsq_words or s.document like v_like)
             and ((v_person is null and v_platform is null)
                  or exists (select 1 from public.chat_conversations c
                              where c.id = s.conversation_id
                                and (v_person is null or c.person_id = v_person)
                                and (v_platform is null or c.platform = v_platform)))
             and (sent_after is null or l.sent >= sent_after)
             and (sent_before is null or l.sent < sent_before)
             and (v_direction is null or l.outbound = (v_direction = 'outbound'))
             and (l.line like v_like
                  or (l.line like all (v_words)
                      and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, l.line) @@ v_tsq))
           limit max_count * 5 - pg_catalog.cardinality(v_m_mid)
        ) x;
      if pg_catalog.cardinality(v_m_mid) >= max_count * 5 then
        v_lazy := true;
        exit;
      end if;
    end loop;
    -- fewer than 64 segments, all read: every matching line is in hand
    v_lazy := v_lazy or v_seen < 64;
  end if;

  return query
  with hits as (
    -- segments holding a match, the owner's only, through the two GIN indexes, asked
    -- separately (one index's re-check never evaluates the other's condition); the words
    -- of a phrase must all be in the segment, the phrase itself in a line
    select s.id
      from messaging_private.search_segments s
     where not v_lazy
       and s.user_id = v_owner
       and s.lexemes @@ v_tsq_words
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
    union
    select s.id
      from messaging_private.search_segments s
     where not v_lazy
       and s.user_id = v_owner
       and s.document like v_like
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
  ),
  candidates as (
    select s.conversation_id, s.message_ids, s.sent_ats, s.outbound, s.document, s.last_sent_at
      from messaging_private.search_segments s
     where s.id in (select h.id from hits h)
  ),
  matched as (
    -- Newest segments first, and no more than 5 x max_count matching lines are ranked: a
    -- common word matches in most segments, and opening all of them would cost seconds.
    -- The query's words must all occur in a line before its tsvector is built.
    -- (the lines and their ids, times and directions unnested side by side: a subscript
    -- of the text[] of ids walks it from its start, so message_ids[n] per line made a
    -- segment of 1,000 lines cost half a million steps)
    select k.conversation_id as conv_id, l.mid, l.sent, l.line
      from (
        select cd.* from candidates cd
         where (v_person is null and v_platform is null)
            or exists (select 1 from public.chat_conversations c
                        where c.id = cd.conversation_id
                          and (v_person is null or c.person_id = v_person)
                          and (v_platform is null or c.platform = v_platform))
         order by cd.last_sent_at desc
      ) k
     cross join lateral unnest(pg_catalog.string_to_array(k.document, E'\n'), k.message_ids, k.sent_ats, k.outbound)
                          l(line, mid, sent, outbound)
     -- (unnest of several arrays is syntax, written without its schema)
     where (sent_after is null or l.sent >= sent_after)
       and (sent_before is null or l.sent < sent_before)
       and (v_direction is null or l.outbound = (v_direction = 'outbound'))
       and (l.line like v_like
            or (l.line like all (v_words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, l.line) @@ v_tsq))
     limit max_count * 5
  ),
  read_newest_first as (
    -- the lines of a common word, found above
    select z.conv_id, z.mid, z.sent, z.line
      from unnest(v_m_conv, v_m_mid, v_m_sent, v_m_line) z(conv_id, mid, sent, line)
     where v_lazy
  ),
  wanted as (
    -- the best lines (ranked as the messages are ranked below), a few spare for lines of
    -- messages edited since: only these messages are opened
    select b.conv_id, b.mid
      from (
        select distinct on (h.conv_id, h.mid) h.conv_id, h.mid, h.sent,
               coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.line), v_tsq), 0)
                 + case when h.line like v_like then 0.5 else 0 end as score
          from (select * from matched union all select * from read_newest_first) h
         order by h.conv_id, h.mid
      ) b
     order by b.score desc, b.sent desc, b.mid
     limit max_count + 10
  ),
  stored as materialized (
    -- the messages as stored now: in the hot row (read in C by a path query), or in the
    -- archive chunks whose id_hashes hold their ids (each chunk opened once); a line of a
    -- message edited since no longer matches below
    select w.conv_id, f.m
      from wanted w
     cross join lateral (
       select pg_catalog.jsonb_path_query_first(c.messages, '$[*] ? (@.id == $id)',
                pg_catalog.jsonb_build_object('id', w.mid)) as m
         from public.chat_conversations c
        where c.id = w.conv_id
     ) f
     where f.m is not null
    union all
    select x.conversation_id, e.m
      from (
        select a.id, a.conversation_id, pg_catalog.array_agg(w.mid) as mids
          from wanted w
          join public.chat_conversation_archives a
            on a.conversation_id = w.conv_id
           and a.id_hashes @> array[pg_catalog.hashtextextended(w.mid, 0)]
         group by a.id, a.conversation_id
      ) x
      join public.chat_conversation_archives a on a.id = x.id
     cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
     where e.m ->> 'id' = any (x.mids)
  ),
  checked as (
    -- the normalisation is search_normalize() written out (a call per message would cost
    -- more than the search)
    select st.conv_id, st.m, x.doc
      from stored st
     cross join lateral (
       select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary,
                pg_catalog.left(concat_ws(' ', st.m ->> 'content', st.m ->> 'sender_name',
                                          pg_catalog.split_part(st.m ->> 'media_url', '?', 1)), 2000))) as doc
     ) x
     where (sent_after is null or (st.m ->> 'sent_at')::timestamptz >= sent_after)
       and (sent_before is null or (st.m ->> 'sent_at')::timestamptz < sent_before)
       and (v_direction is null or st.m ->> 'direction' = v_direction)
       and (x.doc like v_like
            or (x.doc like all (v_words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, x.doc) @@ v_tsq))
  ),
  ranked as (
    select h.*,
           (coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.doc), v_tsq), 0)
            + case when h.doc like v_like then 0.5 else 0 end)::real as score
      from checked h
  )
  select pg_catalog.jsonb_build_object(
           'conversation_id', r.conv_id,
           'platform', c.platform,
           'participant_name', c.participant_name,
           'person_id', c.person_id,
           'message', r.m,
           'snippet', messaging_private.search_snippet(r.m ->> 'content', v_norm, v_tsq),
           'rank', r.score)
    from ranked r
    join public.chat_conversations c on c.id = r.conv_id
   order by r.score desc, (r.m ->> 'sent_at')::timestamptz desc, r.m ->> 'id'
   limit max_count;
end;
$$;
comment on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid) is
  'The privileged body of public.search_messages: searches the caller''s own messages (a signed-in user''s auth.uid(), or the user_id service_role names) through the search indexes.';
revoke all on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  from public, anon;
grant execute on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  to authenticated, service_role;

create or replace function public.search_messages(
  query text,
  person_id uuid default null,
  max_count integer default 50,
  platform text default null,
  sent_after timestamptz default null,
  sent_before timestamptz default null,
  direction text default null,
  user_id uuid default null
)
returns setof jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select s.hit
    from messaging_private.search_messages(query, person_id, max_count, platform, sent_after,
                                           sent_before, direction, user_id) s(hit);
$$;
comment on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid) is
  'Messages of the caller''s conversations (hot rows and archive) matching words, phrases or substrings, best first among the first 5 x max_count matches found (newest conversations and chunks first), with a highlighted snippet. Optional filters: person, platform, sent_at range, direction; service_role must name user_id.';
revoke all on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  from public, anon;
grant execute on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  to authenticated, service_role;

-- ---- supabase/schemas/19_webhook_access.sql ----

-- =============================================================================
-- Live ingestion: what the messaging-ingest edge function needs from the database
--
-- * messaging_private.connection_secrets: the webhook secrets of a connection (the
--   WhatsApp app secret and verify token, the Telegram secret token, the Signal
--   bearer token, the WeChat signature token). PostgREST does not expose the schema
--   and no API role has a grant on the table: not the CRM frontend, not the owner.
-- * add_messaging_connection(): a user (or the service role, naming the user) creates
--   or re-keys a connection with its secrets. Secrets go in; they never come out.
-- * webhook_connection(): service_role only. The edge function reads a connection and
--   its secrets to check a delivery's signature.
-- * ingest_webhook_delivery(): service_role only. One delivery in one transaction:
--   new messages through ingest_messages, then status / reaction / deletion updates
--   of stored messages (which never create messages), then the connection's
--   last_synced_at (an error status goes back to active).
-- * ingest_webhook_deliveries(): service_role only. Several deliveries of one
--   connection in one transaction, each stored as ingest_webhook_delivery stores it.
-- * record_webhook_failure(): service_role only. A delivery the database refused
--   sets the connection's last_error and status = 'error'.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- The edge function's reads and writes (service_role only)
-- -----------------------------------------------------------------------------

create or replace function messaging_private.require_service_role()
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if (auth.jwt() ->> 'role') is distinct from 'service_role' then
    raise exception using errcode = '42501', message = 'only the service role (the messaging-ingest function) may call this',
      hint = 'service_role_required';
  end if;
end;
$$;
comment on function messaging_private.require_service_role() is 'Raises 42501 unless the request runs as service_role.';
revoke all on function messaging_private.require_service_role() from public;
grant execute on function messaging_private.require_service_role() to authenticated, service_role;

create or replace function messaging_private.webhook_connection(connection uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform messaging_private.require_service_role();
  return (
    select pg_catalog.jsonb_build_object(
      'id', mc.id, 'user_id', mc.user_id, 'platform', mc.platform,
      'account_identifier', mc.account_identifier, 'status', mc.status,
      -- every secret column (those the contract's platform_secrets name), the nulls left out
      'secrets', coalesce(pg_catalog.jsonb_strip_nulls(
        pg_catalog.to_jsonb(s) - array['connection_id', 'user_id', 'created_at', 'updated_at']), '{}'::jsonb))
    from public.messaging_connections mc
    left join messaging_private.connection_secrets s on s.connection_id = mc.id
    where mc.id = connection
  );
end;
$$;
comment on function messaging_private.webhook_connection(uuid) is
  'A connection with its secrets, or null: for the messaging-ingest function (service_role) only.';
revoke all on function messaging_private.webhook_connection(uuid) from public;
grant execute on function messaging_private.webhook_connection(uuid) to service_role;

create or replace function public.webhook_connection(connection_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select messaging_private.webhook_connection(connection_id);
$$;
comment on function public.webhook_connection(uuid) is
  'service_role only: a connection (id, user_id, platform, account_identifier, status) with its webhook secrets, or null when there is none.';
revoke all on function public.webhook_connection(uuid) from public, anon, authenticated;
grant execute on function public.webhook_connection(uuid) to service_role;


-- -----------------------------------------------------------------------------
-- WeChat nonces: its signature covers the token, timestamp and nonce, not the body, so a
-- captured query string could carry other bodies while its timestamp is fresh. Each nonce
-- is accepted once per connection (a retry of the very same body is the same delivery).
-- -----------------------------------------------------------------------------

create table messaging_private.webhook_nonces (
  connection_id uuid not null references public.messaging_connections (id) on delete cascade,
  nonce text not null check (pg_catalog.length(nonce) between 1 and 128),
  body_digest text not null check (pg_catalog.length(body_digest) <= 128),
  seen_at timestamptz not null default pg_catalog.now(),
  primary key (connection_id, nonce)
);
comment on table messaging_private.webhook_nonces is
  'Nonces of signed WeChat deliveries seen in the last 15 minutes (its signature window is 5 minutes either way), with the SHA-256 of the body they came with. Not exposed, no grants to API roles.';
comment on column messaging_private.webhook_nonces.body_digest is
  'Hex SHA-256 of the raw body first delivered with this nonce: the same body again is a retry, another body a replay.';
alter table messaging_private.webhook_nonces enable row level security;
revoke all on messaging_private.webhook_nonces from public, anon, authenticated, service_role;

create or replace function messaging_private.claim_nonce(connection uuid, guard jsonb)
returns boolean
language plpgsql
set search_path = ''
as $$
-- true when the nonce is new for the connection, or was seen with the same body (a
-- retry); false for a replay (the nonce came before with another body).
declare
  v_digest text;
begin
  if pg_catalog.jsonb_typeof(guard -> 'nonce') <> 'string' or pg_catalog.jsonb_typeof(guard -> 'digest') <> 'string' then
    raise exception using errcode = '22023', message = 'replay_guard: {nonce, digest} strings required',
      hint = 'delivery_invalid';
  end if;
  delete from messaging_private.webhook_nonces n
   where n.connection_id = connection and n.seen_at < pg_catalog.now() - interval '15 minutes';
  insert into messaging_private.webhook_nonces (connection_id, nonce, body_digest)
  values (connection, guard ->> 'nonce', guard ->> 'digest')
  on conflict do nothing;
  if found then
    return true;
  end if;
  select n.body_digest into v_digest
    from messaging_private.webhook_nonces n
   where n.connection_id = connection and n.nonce = guard ->> 'nonce';
  return v_digest = guard ->> 'digest';
end;
$$;
comment on function messaging_private.claim_nonce(uuid, jsonb) is
  'Records a WeChat nonce for a connection: false when it was already used with another body (a replay).';
revoke all on function messaging_private.claim_nonce(uuid, jsonb) from public;

-- ---- supabase/schemas/20_webhook_updates.sql ----

-- =============================================================================
-- Webhook updates of stored messages
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Updates of stored messages: statuses, reactions, deletions
-- -----------------------------------------------------------------------------

create or replace function messaging_private.status_rank(status text)
returns integer
language plpgsql
stable
set search_path = ''
as $$
begin
  -- the contract's order (messaging_private.delivery_statuses): failed ranks above sent
  -- (the send failed after it was accepted) and below delivered and read (a later
  -- delivered/read proves the message arrived after all)
  return coalesce((select d.rank from messaging_private.delivery_statuses d where d.status = status_rank.status), 0);
end;
$$;
comment on function messaging_private.status_rank(text) is
  'Rank of a delivery status in messaging_private.delivery_statuses (sent < failed < delivered < read), 0 for none; a status only ever moves up.';

create or replace function messaging_private.apply_update(m jsonb, u jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored message m after the update u, or m itself when u changes nothing.
declare
  v_meta jsonb := coalesce(m -> 'metadata', '{}'::jsonb);
  v_at text := u ->> 'at';
  v_old jsonb;
begin
  if u ->> 'kind' = 'status' then
    if messaging_private.status_rank(u ->> 'status') <= messaging_private.status_rank(v_meta ->> 'status') then
      return m;
    end if;
    v_meta := v_meta || pg_catalog.jsonb_build_object('status', u ->> 'status', 'status_at', v_at);
    v_meta := case when u ? 'error' then v_meta || pg_catalog.jsonb_build_object('status_error', u -> 'error')
                   else v_meta - 'status_error' end;
  elsif u ->> 'kind' = 'reaction' then
    v_old := v_meta -> 'reactions' -> (u ->> 'reactor');
    if v_old is not null and (v_old ->> 'at')::timestamptz > v_at::timestamptz then
      return m;  -- an older reaction than the one recorded
    end if;
    if v_old is not null and v_old -> 'emoji' = coalesce(u -> 'emoji', 'null'::jsonb)
       and (v_old ->> 'at')::timestamptz = v_at::timestamptz then
      return m;  -- the same reaction again (a redelivery)
    end if;
    v_meta := pg_catalog.jsonb_set(v_meta, '{reactions}',
      coalesce(v_meta -> 'reactions', '{}'::jsonb)
      || pg_catalog.jsonb_build_object(u ->> 'reactor',
           pg_catalog.jsonb_build_object('emoji', coalesce(u -> 'emoji', 'null'::jsonb), 'at', v_at)));
  elsif u ->> 'kind' = 'delete' then
    if (v_meta -> 'deleted') = 'true'::jsonb then
      return m;
    end if;
    v_meta := v_meta || pg_catalog.jsonb_build_object('deleted', true, 'deleted_at', v_at);
    m := m || '{"content": null}'::jsonb;
  else
    return m;
  end if;
  return m || pg_catalog.jsonb_build_object('metadata', v_meta);
end;
$$;
comment on function messaging_private.apply_update(jsonb, jsonb) is
  'One update applied to one stored message: a status that only moves up, a reaction by reactor (newest wins, null emoji = removed), or a deletion (content gone, metadata.deleted).';

create or replace function messaging_private.apply_message_updates(owner uuid, updates jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  u record;
  v_conv public.chat_conversations%rowtype;
  v_chunk record;
  v_copy_chunk uuid;
  v_new jsonb;
  v_found boolean;
  v_applied integer := 0;
  v_unchanged integer := 0;
  v_missing integer := 0;
  v_errors text[];
begin
  if updates is null or updates = 'null'::jsonb then
    return pg_catalog.jsonb_build_object('applied', 0, 'unchanged', 0, 'missing', 0);
  end if;
  if pg_catalog.jsonb_typeof(updates) <> 'array' then
    raise exception using errcode = '22023', message = 'updates: must be an array', hint = 'updates_invalid';
  end if;
  if pg_catalog.jsonb_array_length(updates) > messaging_private.contract_limit('updates_per_call') then
    raise exception using errcode = '22023', hint = 'updates_invalid',
      message = pg_catalog.format('updates: at most %s in one call', messaging_private.contract_limit('updates_per_call'));
  end if;
  select pg_catalog.array_agg(pg_catalog.format('updates[%s]: %s', e.ord - 1, e.err) order by e.ord) into v_errors
    from (
      select x.ord, case
        when pg_catalog.jsonb_typeof(x.u) <> 'object' then 'must be an object'
        when not (x.u ->> 'platform' = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])) or x.u ->> 'platform' is null
          then 'platform: must be one of ' || pg_catalog.array_to_string(pg_catalog.enum_range(null::public.messaging_platform)::text[], ', ')
        when coalesce(x.u ->> 'external_conversation_id', '') = '' then 'external_conversation_id: required'
        when coalesce(x.u ->> 'id', '') = '' then 'id: required (the message updated)'
        when x.u ->> 'at' is null
          or x.u ->> 'at' !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$'
          then 'at: required, an ISO 8601 timestamp with an offset'
        when x.u ->> 'kind' = 'status' and messaging_private.status_rank(x.u ->> 'status') = 0
          then 'status: must be one of '
            || (select pg_catalog.string_agg(d.status, ', ' order by d.rank) from messaging_private.delivery_statuses d)
        when x.u ->> 'kind' = 'reaction' and coalesce(x.u ->> 'reactor', '') = '' then 'reactor: required'
        when x.u ->> 'kind' = 'reaction' and pg_catalog.jsonb_typeof(x.u -> 'emoji') not in ('string', 'null')
          then 'emoji: must be a string or null (removed)'
        when not (x.u ->> 'kind' = any (array['status', 'reaction', 'delete'])) or x.u ->> 'kind' is null
          then 'kind: must be one of status, reaction, delete'
      end as err
      from pg_catalog.jsonb_array_elements(updates) with ordinality x(u, ord)
    ) e
   where e.err is not null;
  if v_errors is not null then
    raise exception using errcode = '22023',
      message = 'invalid updates: ' || pg_catalog.array_to_string(v_errors[1:20], '; '),
      hint = 'updates_invalid';
  end if;

  -- in a fixed order (conversation, then the order given), so concurrent deliveries lock
  -- conversations in the same order
  for u in
    select x.u, x.ord
      from pg_catalog.jsonb_array_elements(updates) with ordinality x(u, ord)
     order by x.u ->> 'platform', x.u ->> 'external_conversation_id', x.ord
  loop
    select * into v_conv
      from public.chat_conversations c
     where c.user_id = owner
       and c.platform = u.u ->> 'platform'
       and c.external_conversation_id = u.u ->> 'external_conversation_id'
       for update;
    if not found then
      v_missing := v_missing + 1;
      continue;
    end if;
    -- the stored copy (stored_copies: the hot row first, then the chunk its id hash points to)
    select s.chunk into v_copy_chunk
      from messaging_private.stored_copies(v_conv.id, v_conv.messages,
             v_conv.message_count > pg_catalog.jsonb_array_length(v_conv.messages),
             pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', u.u -> 'id'))) s
     limit 1;
    v_found := found;
    if v_found and v_copy_chunk is null then
      select pg_catalog.jsonb_agg(
               case when h.m ->> 'id' = u.u ->> 'id' then messaging_private.apply_update(h.m, u.u) else h.m end
               order by h.ord)
        into v_new
        from pg_catalog.jsonb_array_elements(v_conv.messages) with ordinality h(m, ord);
      if v_new = v_conv.messages then
        v_unchanged := v_unchanged + 1;
      else
        v_applied := v_applied + 1;
        update public.chat_conversations c
           set messages = v_new,
               last_message_preview = coalesce(messaging_private.preview(v_new -> -1), c.last_message_preview)
         where c.id = v_conv.id;
      end if;
    elsif v_found then
      select a.id, a.messages into v_chunk
        from public.chat_conversation_archives a
       where a.id = v_copy_chunk;
      select pg_catalog.jsonb_agg(
               case when e.m ->> 'id' = u.u ->> 'id' then messaging_private.apply_update(e.m, u.u) else e.m end
               order by e.ord)
        into v_new
        from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord);
      if v_new = v_chunk.messages then
        v_unchanged := v_unchanged + 1;
      else
        v_applied := v_applied + 1;
        update public.chat_conversation_archives a
           set messages = v_new, updated_at = pg_catalog.now()
         where a.id = v_chunk.id;
      end if;
    end if;
    if not v_found then
      v_missing := v_missing + 1;  -- never create a message from an update
    end if;
  end loop;
  return pg_catalog.jsonb_build_object('applied', v_applied, 'unchanged', v_unchanged, 'missing', v_missing);
end;
$$;
comment on function messaging_private.apply_message_updates(uuid, jsonb) is
  'Applies status / reaction / delete updates to stored messages of one user (hot row or archive); an update naming no stored message is counted as missing and creates nothing.';
revoke all on function messaging_private.apply_message_updates(uuid, jsonb) from public;

create or replace function messaging_private.stored_message(owner uuid, platform text, conversation text, message_id text)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored copy of a message of one user (stored_copies: hot row first, then the
-- archive chunk its id hash points to), or null.
declare
  v_conv record;
begin
  select c.id, c.messages, c.message_count into v_conv
    from public.chat_conversations c
   where c.user_id = owner and c.platform = stored_message.platform
     and c.external_conversation_id = conversation;
  if not found then
    return null;
  end if;
  return (select s.m
            from messaging_private.stored_copies(v_conv.id, v_conv.messages,
                   v_conv.message_count > pg_catalog.jsonb_array_length(v_conv.messages),
                   pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', message_id))) s
           limit 1);
end;
$$;
comment on function messaging_private.stored_message(uuid, text, text, text) is
  'The stored copy of one message of a user (hot row or archive), or null.';
revoke all on function messaging_private.stored_message(uuid, text, text, text) from public;

-- ---- supabase/schemas/21_webhook_delivery.sql ----

-- =============================================================================
-- Webhook deliveries
-- =============================================================================

-- -----------------------------------------------------------------------------
-- One delivery: each message and update stands alone
-- -----------------------------------------------------------------------------

create or replace function messaging_private.final_refusal(state text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  -- connection, transaction rollback (deadlock, serialization), resources, lock not
  -- available, operator intervention (statement timeout, shutdown), system and internal
  -- errors: sending the same again can succeed. Anything else is the content's fault.
  return state !~ '^(08|40|53|55|57|58|XX)';
end;
$$;
comment on function messaging_private.final_refusal(text) is
  'Whether an SQLSTATE is a refusal a retry cannot change (false for connection, rollback, resource, lock, timeout and internal errors).';

create or replace function messaging_private.delivery_refusal(
  list text, ord bigint, item jsonb, kind text, code text, reason text)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_path text := pg_catalog.format('%s[%s]', list, ord - 1);
begin
  -- the item was stored alone as `<list>[0]`: its reason names its place in the delivery
  return pg_catalog.jsonb_build_object(
    'path', v_path,
    'id', case when pg_catalog.jsonb_typeof(item) = 'object' then pg_catalog.left(item ->> 'id', 256) end,
    'kind', kind, 'code', code,
    'reason', pg_catalog.left(pg_catalog.replace(reason, list || '[0]', v_path), 1000));
end;
$$;
comment on function messaging_private.delivery_refusal(text, bigint, jsonb, text, text, text) is
  'One refused item of a webhook delivery as the answer and the connection record it: its path (messages[4], updates[2]), id, kind, SQLSTATE and reason.';

create or replace function messaging_private.add_counts(total jsonb, part jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  -- every number of total plus the same key of part; arrays (conversations) concatenated
  return (select pg_catalog.jsonb_object_agg(t.key,
            case pg_catalog.jsonb_typeof(t.value)
              when 'number' then pg_catalog.to_jsonb(t.value::text::bigint + coalesce((part ->> t.key)::bigint, 0))
              when 'array' then t.value || coalesce(part -> t.key, '[]'::jsonb)
              else t.value end)
            from pg_catalog.jsonb_each(total) t);
end;
$$;
comment on function messaging_private.add_counts(jsonb, jsonb) is
  'The summary of two ingest or update calls as one: counts added, conversation lists joined (the per-item fallback of a webhook delivery).';

create or replace function messaging_private.webhook_delivery(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_conn record;
  v_connection uuid;
  v_result jsonb := '{"inserted": 0, "duplicates": 0, "updated": 0, "matched": 0, "conversations": []}'::jsonb;
  v_part jsonb;
  v_messages jsonb;
  v_updates jsonb;
  v_upd jsonb := '{"applied": 0, "unchanged": 0, "missing": 0}'::jsonb;
  v_refused jsonb[] := '{}'::jsonb[];
  v_given jsonb := '[]'::jsonb;
  v_items integer := 0;
  v_failed integer := 0;
  v_state text;
  v_text text;
  m record;
  v_nref integer;
  v_accepted boolean;
begin
  perform messaging_private.require_service_role();
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023', message = 'payload: must be a JSON object', hint = 'payload_not_object';
  end if;
  if coalesce(payload ->> 'connection_id', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    raise exception using errcode = '22023', message = 'connection_id: required, a UUID', hint = 'connection_id_invalid';
  end if;
  v_connection := (payload ->> 'connection_id')::uuid;
  select mc.user_id, mc.status into v_conn from public.messaging_connections mc where mc.id = v_connection;
  if not found then
    raise exception using errcode = '22023', message = pg_catalog.format('connection_id: no connection %s', v_connection),
      hint = 'connection_unknown';
  end if;
  if payload ? 'user_id' and payload ->> 'user_id' is distinct from v_conn.user_id::text then
    raise exception using errcode = '42501', message = 'user_id: not the owner of the connection', hint = 'user_id_not_own';
  end if;
  if payload ? 'messages' and pg_catalog.jsonb_typeof(payload -> 'messages') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'messages: must be an array', hint = 'messages_not_array';
  end if;
  if payload ? 'refused' and pg_catalog.jsonb_typeof(payload -> 'refused') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'refused: must be an array', hint = 'delivery_invalid';
  end if;

  -- a paused or disconnected connection stores nothing (the function still answers so the
  -- platform stops retrying)
  if v_conn.status in ('paused', 'disconnected') then
    return pg_catalog.jsonb_build_object('rejected', pg_catalog.jsonb_build_object(
      'kind', 'paused', 'status', v_conn.status, 'reason', 'the connection is ' || v_conn.status));
  end if;
  -- a WeChat nonce already used with another body: a replay, counted, nothing stored
  if payload -> 'replay_guard' is not null and payload -> 'replay_guard' <> 'null'::jsonb
     and not messaging_private.claim_nonce(v_connection, payload -> 'replay_guard') then
    update public.messaging_connections mc
       set refused_count = mc.refused_count + 1, last_refused_at = pg_catalog.now(),
           last_error = 'a signed query string replayed with another body (nonce already used)'
     where mc.id = v_connection;
    return pg_catalog.jsonb_build_object('rejected', pg_catalog.jsonb_build_object(
      'kind', 'replay', 'reason', 'nonce: already used with another body'));
  end if;

  -- what the function refused before the database (another account, a message of a
  -- shape it cannot map): counted here, in the same transaction
  if pg_catalog.jsonb_typeof(payload -> 'refused') = 'array' then
    select coalesce(pg_catalog.jsonb_agg(r.x), '[]'::jsonb) into v_given
      from (select x from pg_catalog.jsonb_array_elements(payload -> 'refused') x limit 1000) r;
  end if;

  if pg_catalog.jsonb_typeof(payload -> 'messages') = 'array' and pg_catalog.jsonb_array_length(payload -> 'messages') > 0 then
    v_messages := payload -> 'messages';
    v_items := pg_catalog.jsonb_array_length(v_messages);
    -- an edit replaces the stored message whole: it keeps the stored sent_at (an edit never
    -- moves a message) and what the platform recorded on it since (delivery status,
    -- reactions), so an edit does not undo them
    if exists (select 1 from pg_catalog.jsonb_array_elements(v_messages) e(m)
                where pg_catalog.jsonb_typeof(e.m) = 'object' and e.m ->> 'edited_at' is not null) then
      select pg_catalog.jsonb_agg(
               case when s.m is not null
                    then e.m || pg_catalog.jsonb_build_object('sent_at', s.m -> 'sent_at')
                         || case when k.keep is not null
                                 then pg_catalog.jsonb_build_object('metadata', k.keep
                                        || case when pg_catalog.jsonb_typeof(e.m -> 'metadata') = 'object'
                                                then e.m -> 'metadata' else '{}'::jsonb end)
                                 else '{}'::jsonb end
                    else e.m end
               order by e.ord)
        into v_messages
        from pg_catalog.jsonb_array_elements(v_messages) with ordinality e(m, ord)
        left join lateral (
          select messaging_private.stored_message(v_conn.user_id, coalesce(e.m ->> 'platform', payload ->> 'platform'),
                   e.m ->> 'external_conversation_id', e.m ->> 'id') as m
        ) s on pg_catalog.jsonb_typeof(e.m) = 'object' and e.m ->> 'edited_at' is not null
        left join lateral (
          select pg_catalog.jsonb_object_agg(kv.key, kv.value) as keep
            from pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(s.m -> 'metadata') = 'object'
                                            then s.m -> 'metadata' end) kv
           where kv.key in ('status', 'status_at', 'status_error', 'reactions')
        ) k on s.m is not null;
    end if;
    -- all at once (the common case: every message valid), else each message on its own
    v_failed := 1;
    if v_items > 1 then
      begin
        v_result := messaging_private.ingest_messages(pg_catalog.jsonb_build_object(
          'user_id', v_conn.user_id, 'connection_id', v_connection, 'messages', v_messages));
        v_failed := 0;
      exception when others then
        get stacked diagnostics v_state = returned_sqlstate;
        if not messaging_private.final_refusal(v_state) then
          raise;
        end if;
      end;
    end if;
    if v_failed = 1 then
      v_failed := 0;
      for m in select e.m, e.ord from pg_catalog.jsonb_array_elements(v_messages) with ordinality e(m, ord) loop
        begin
          v_part := messaging_private.ingest_messages(pg_catalog.jsonb_build_object(
            'user_id', v_conn.user_id, 'connection_id', v_connection, 'messages', pg_catalog.jsonb_build_array(m.m)));
          v_result := messaging_private.add_counts(v_result, v_part);
        exception when others then
          get stacked diagnostics v_state = returned_sqlstate, v_text = message_text;
          if not messaging_private.final_refusal(v_state) then
            raise;
          end if;
          v_failed := v_failed + 1;
          v_refused := v_refused
            || messaging_private.delivery_refusal('messages', m.ord, m.m, 'invalid_message', v_state, v_text);
        end;
      end loop;
    end if;
  end if;

  v_updates := payload -> 'updates';
  if v_updates is not null and v_updates <> 'null'::jsonb and v_updates <> '[]'::jsonb then
    if pg_catalog.jsonb_typeof(v_updates) <> 'array' then
      raise exception using errcode = '22023', message = 'updates: must be an array', hint = 'updates_invalid';
    end if;
    if pg_catalog.jsonb_array_length(v_updates) > messaging_private.contract_limit('updates_per_call') then
      raise exception using errcode = '22023', hint = 'updates_invalid',
        message = pg_catalog.format('updates: at most %s in one call', messaging_private.contract_limit('updates_per_call'));
    end if;
    v_items := v_items + pg_catalog.jsonb_array_length(v_updates);
    begin
      v_upd := messaging_private.apply_message_updates(v_conn.user_id, v_updates);
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate;
      if not messaging_private.final_refusal(v_state) then
        raise;
      end if;
      for m in select e.u, e.ord from pg_catalog.jsonb_array_elements(v_updates) with ordinality e(u, ord) loop
        begin
          v_part := messaging_private.apply_message_updates(v_conn.user_id, pg_catalog.jsonb_build_array(m.u));
          v_upd := messaging_private.add_counts(v_upd, v_part);
        exception when others then
          get stacked diagnostics v_state = returned_sqlstate, v_text = message_text;
          if not messaging_private.final_refusal(v_state) then
            raise;
          end if;
          v_failed := v_failed + 1;
          v_refused := v_refused
            || messaging_private.delivery_refusal('updates', m.ord, m.u, 'invalid_update', v_state, v_text);
        end;
      end loop;
    end;
  end if;

  v_refused := (select coalesce(pg_catalog.array_agg(x), '{}'::jsonb[]) from pg_catalog.jsonb_array_elements(v_given) x)
               || v_refused;
  v_nref := pg_catalog.cardinality(v_refused);
  -- stored (or already stored): at least one item taken, or a delivery with nothing in it
  -- to refuse (an event, a receipt)
  v_accepted := v_items > v_failed or v_nref = 0;

  -- ingest_messages has set last_synced_at when it stored messages; the row is written
  -- again only when it must change (refusals to count, no messages, an error to clear),
  -- so a plain delivery costs one update of the connection row, as ingest_messages does
  update public.messaging_connections mc
     set last_synced_at = case when v_accepted then pg_catalog.now() else mc.last_synced_at end,
         status = case when mc.status = 'error' and v_accepted then 'active' else mc.status end,
         last_error = case when v_nref > 0
                           then pg_catalog.left(pg_catalog.format('%s refused: %s', v_refused[1] ->> 'path',
                                  v_refused[1] ->> 'reason')
                                  || case when v_nref > 1 then pg_catalog.format(' (and %s more)', v_nref - 1) else '' end,
                                  4000)
                           when mc.status = 'error' and v_accepted then null
                           else mc.last_error end,
         refused_count = mc.refused_count + v_nref,
         last_refused_at = case when v_nref > 0 then pg_catalog.now() else mc.last_refused_at end
   where mc.id = v_connection
     and (v_nref > 0 or mc.status = 'error'
          or (v_accepted and not (v_result -> 'conversations' <> '[]'::jsonb)));
  return v_result || pg_catalog.jsonb_build_object(
    'updates', v_upd,
    'accepted', v_items - v_failed,
    'refused', pg_catalog.to_jsonb(v_refused));
end;
$$;
comment on function messaging_private.webhook_delivery(jsonb) is
  'The privileged body of public.ingest_webhook_delivery: one webhook delivery (messages + updates) in one transaction for the connection''s owner; each message and update that the store refuses is left out and counted on the connection, the rest stored.';
revoke all on function messaging_private.webhook_delivery(jsonb) from public;
grant execute on function messaging_private.webhook_delivery(jsonb) to service_role;

create or replace function public.ingest_webhook_delivery(payload jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.webhook_delivery(payload);
$$;
comment on function public.ingest_webhook_delivery(jsonb) is
  'service_role only (the messaging-ingest function): {connection_id, messages, updates, refused, replay_guard} of one delivery; messages as in ingest_messages, updates {kind: status|reaction|delete, platform, external_conversation_id, id, at, ...} applied to stored messages only, refused: what the function itself refused ({path, kind, reason}), replay_guard: a WeChat {nonce, digest}. Each message or update the store refuses is left out (listed in refused, counted on the connection), the rest stored. Returns the ingest summary plus {updates: {applied, unchanged, missing}, accepted, refused}, or {rejected: {kind: paused|replay}} when nothing may be stored.';
revoke all on function public.ingest_webhook_delivery(jsonb) from public, anon, authenticated;
grant execute on function public.ingest_webhook_delivery(jsonb) to service_role;

-- -----------------------------------------------------------------------------
-- Several deliveries of one connection in one call
-- -----------------------------------------------------------------------------
-- The edge function sends the deliveries of a connection that arrive while its previous
-- call is still running as one call (a delivery arriving to an idle connection goes alone,
-- at once): one request, one transaction and one commit for all of them, each delivery
-- still stored exactly as ingest_webhook_delivery stores it alone.

create or replace function messaging_private.webhook_deliveries(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_results jsonb[] := '{}'::jsonb[];
  d record;
  v_state text;
  v_text text;
  v_detail text;
  v_hint text;
begin
  perform messaging_private.require_service_role();
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023', message = 'payload: must be a JSON object', hint = 'payload_not_object';
  end if;
  if coalesce(pg_catalog.jsonb_typeof(payload -> 'deliveries'), '') <> 'array'
     or pg_catalog.jsonb_array_length(payload -> 'deliveries') = 0 then
    raise exception using errcode = '22023', message = 'deliveries: required, a non-empty array', hint = 'delivery_invalid';
  end if;
  if pg_catalog.jsonb_array_length(payload -> 'deliveries') > messaging_private.contract_limit('deliveries_per_call') then
    raise exception using errcode = '22023', hint = 'delivery_invalid',
      message = pg_catalog.format('deliveries: at most %s in one call', messaging_private.contract_limit('deliveries_per_call'));
  end if;
  for d in select e.x, e.ord from pg_catalog.jsonb_array_elements(payload -> 'deliveries') with ordinality e(x, ord) loop
    -- each delivery alone (its own savepoint): one the store refuses whole gets its error
    -- and changes nothing, the others are stored; a failure a retry can fix (a deadlock,
    -- a timeout) fails the call, and every delivery in it is sent again
    begin
      if pg_catalog.jsonb_typeof(d.x) <> 'object' then
        raise exception using errcode = '22023', hint = 'delivery_invalid',
          message = pg_catalog.format('deliveries[%s]: must be a JSON object', d.ord - 1);
      end if;
      v_results := v_results || messaging_private.webhook_delivery(
        (d.x - 'connection_id') || pg_catalog.jsonb_build_object('connection_id', payload -> 'connection_id'));
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_text = message_text,
        v_detail = pg_exception_detail, v_hint = pg_exception_hint;
      if not messaging_private.final_refusal(v_state) then
        raise;
      end if;
      v_results := v_results || pg_catalog.jsonb_build_object('error', pg_catalog.jsonb_build_object(
        'code', v_state, 'message', v_text, 'details', nullif(v_detail, ''), 'hint', nullif(v_hint, '')));
    end;
  end loop;
  return pg_catalog.jsonb_build_object('results', pg_catalog.to_jsonb(v_results));
end;
$$;
comment on function messaging_private.webhook_deliveries(jsonb) is
  'The privileged body of public.ingest_webhook_deliveries: each delivery as webhook_delivery stores it, in its own savepoint, all in one transaction.';
revoke all on function messaging_private.webhook_deliveries(jsonb) from public;
grant execute on function messaging_private.webhook_deliveries(jsonb) to service_role;

create or replace function public.ingest_webhook_deliveries(payload jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.webhook_deliveries(payload);
$$;
comment on function public.ingest_webhook_deliveries(jsonb) is
  'service_role only (the messaging-ingest function): {connection_id, deliveries: [{messages, updates, refused, replay_guard}, ...]}, at most deliveries_per_call. Each delivery is stored as ingest_webhook_delivery stores it alone, in its own savepoint, all in one transaction. Returns {results: [...]}, one per delivery in order: what ingest_webhook_delivery returns, or {error: {code, message, details, hint}} when the store refused that delivery whole (it changed nothing). A failure a retry can fix fails the whole call.';
revoke all on function public.ingest_webhook_deliveries(jsonb) from public, anon, authenticated;
grant execute on function public.ingest_webhook_deliveries(jsonb) to service_role;

create or replace function messaging_private.record_webhook_failure(connection uuid, error text, refused boolean)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform messaging_private.require_service_role();
  -- a refusal (final: the platform is told not to retry) is counted; a failure (the
  -- platform retries) marks the connection as in error. Neither moves last_synced_at.
  update public.messaging_connections mc
     set status = case when refused then mc.status else 'error' end,
         last_error = pg_catalog.left(coalesce(error, 'unknown error'), 4000),
         refused_count = mc.refused_count + case when refused then 1 else 0 end,
         last_refused_at = case when refused then pg_catalog.now() else mc.last_refused_at end
   where mc.id = connection;
end;
$$;
comment on function messaging_private.record_webhook_failure(uuid, text, boolean) is
  'The privileged body of public.record_webhook_failure.';
revoke all on function messaging_private.record_webhook_failure(uuid, text, boolean) from public;
grant execute on function messaging_private.record_webhook_failure(uuid, text, boolean) to service_role;

create or replace function public.record_webhook_failure(connection_id uuid, error text, refused boolean default false)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  perform messaging_private.record_webhook_failure(connection_id, error, refused);
end;
$$;
comment on function public.record_webhook_failure(uuid, text, boolean) is
  'service_role only: a delivery of this connection failed (refused = false: the database failed and the platform retries; status = error) or was refused for good (refused = true: counted in refused_count, last_refused_at). Sets last_error; never last_synced_at.';
revoke all on function public.record_webhook_failure(uuid, text, boolean) from public, anon, authenticated;
grant execute on function public.record_webhook_failure(uuid, text, boolean) to service_role;

-- ---- supabase/schemas/22_connections_add.sql ----

-- =============================================================================
-- Adding a connection with its secrets
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Creating a connection with its secrets
-- -----------------------------------------------------------------------------

create or replace function messaging_private.add_messaging_connection(
  platform text, account_identifier text, display_name text, secrets jsonb, user_id uuid
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := auth.jwt() ->> 'role';
  v_owner uuid;
  v_id uuid;
  v_need text[];
  v_key text;
  v_errors text[] := '{}'::text[];
  v_created timestamptz;
begin
  if v_role = 'authenticated' then
    v_owner := auth.uid();
    if v_owner is null then
      raise exception using errcode = '42501', message = 'add_messaging_connection: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if add_messaging_connection.user_id is not null and add_messaging_connection.user_id <> v_owner then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only add connections of their own', hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    v_owner := add_messaging_connection.user_id;
    if v_owner is null then
      raise exception using errcode = '22023',
        message = 'user_id: required (the service role must name the owning CRM user)', hint = 'user_id_required';
    end if;
    if not exists (select 1 from auth.users u where u.id = v_owner) then
      raise exception using errcode = '22023', message = pg_catalog.format('user_id: no user %s in auth.users', v_owner),
        hint = 'user_unknown';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('add_messaging_connection: role %s may not add connections', v_role),
      hint = 'role_not_allowed';
  end if;

  secrets := coalesce(secrets, '{}'::jsonb);
  if pg_catalog.jsonb_typeof(secrets) <> 'object' then
    raise exception using errcode = '22023', message = 'secrets: must be a JSON object', hint = 'connection_invalid';
  end if;
  -- the platform's secrets, from the contract (messaging_private.platform_secrets)
  select pg_catalog.array_agg(ps.name order by ps.position) into v_need
    from messaging_private.platform_secrets ps
   where ps.platform = add_messaging_connection.platform;
  if v_need is null then
    raise exception using errcode = '22023',
      message = pg_catalog.format('platform: must be one of %s, got %s',
        (select pg_catalog.string_agg(p.platform, ', ' order by p.platform)
           from messaging_private.platforms p), platform),
      hint = 'platform_unknown';
  end if;
  if coalesce(pg_catalog.btrim(account_identifier), '') = '' then
    v_errors := v_errors || 'account_identifier: required'::text;
  end if;
  for v_key in select k from pg_catalog.jsonb_object_keys(secrets) k loop
    if not (v_key = any (v_need)) then
      v_errors := v_errors || pg_catalog.format('secrets.%s: not a secret of %s (expected %s)',
        v_key, platform, pg_catalog.array_to_string(v_need, ', '));
    end if;
  end loop;
  foreach v_key in array v_need loop
    if pg_catalog.jsonb_typeof(secrets -> v_key) is distinct from 'string' or secrets ->> v_key = '' then
      v_errors := v_errors || pg_catalog.format('secrets.%s: required for %s, a non-empty string', v_key, platform);
    end if;
  end loop;
  -- each given secret against its rule: its pattern (what the platform accepts) and length
  v_errors := v_errors || coalesce((
    select pg_catalog.array_agg(pg_catalog.format('secrets.%s: %s', ps.name, ps.description) order by ps.position)
      from messaging_private.platform_secrets ps
     where ps.platform = add_messaging_connection.platform
       and pg_catalog.jsonb_typeof(secrets -> ps.name) = 'string' and secrets ->> ps.name <> ''
       and (secrets ->> ps.name !~ coalesce(ps.pattern, '') or pg_catalog.length(secrets ->> ps.name) > ps.max_length)),
    '{}'::text[]);
  if pg_catalog.cardinality(v_errors) > 0 then
    raise exception using errcode = '22023',
      message = 'invalid connection: ' || pg_catalog.array_to_string(v_errors, '; '),
      hint = 'connection_invalid';
  end if;

  insert into public.messaging_connections as mc (user_id, platform, account_identifier, display_name)
  values (v_owner, add_messaging_connection.platform, pg_catalog.btrim(add_messaging_connection.account_identifier),
          add_messaging_connection.display_name)
  on conflict on constraint messaging_connections_account_unique
  do update set display_name = coalesce(excluded.display_name, mc.display_name)
  returning mc.id into v_id;

  -- One column per secret name of the contract: the row is built from the secrets object,
  -- so a platform's new secret needs only its column. A re-key replaces every secret;
  -- the upsert above holds the connection's row lock, so re-keys of one connection queue.
  delete from messaging_private.connection_secrets s where s.connection_id = v_id
  returning s.created_at into v_created;
  insert into messaging_private.connection_secrets
  select * from pg_catalog.jsonb_populate_record(null::messaging_private.connection_secrets,
    secrets || pg_catalog.jsonb_build_object('connection_id', v_id, 'user_id', v_owner,
      'created_at', coalesce(v_created, pg_catalog.now()), 'updated_at', pg_catalog.now()));
  return v_id;
end;
$$;
comment on function messaging_private.add_messaging_connection(text, text, text, jsonb, uuid) is
  'The privileged body of public.add_messaging_connection: checks the caller and the platform''s secrets, upserts the connection and its secrets.';
revoke all on function messaging_private.add_messaging_connection(text, text, text, jsonb, uuid) from public;
grant execute on function messaging_private.add_messaging_connection(text, text, text, jsonb, uuid) to authenticated, service_role;

create or replace function public.add_messaging_connection(
  platform text,
  account_identifier text,
  display_name text default null,
  secrets jsonb default '{}'::jsonb,
  user_id uuid default null
)
returns uuid
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.add_messaging_connection(platform, account_identifier, display_name, secrets, user_id);
$$;
comment on function public.add_messaging_connection(text, text, text, jsonb, uuid) is
  'Creates (or re-keys) a connection with its webhook secrets and returns its id. The secrets each platform needs are in messaging_contract() (platforms[].secrets). They are never readable through the API.';
revoke all on function public.add_messaging_connection(text, text, text, jsonb, uuid) from public, anon;
grant execute on function public.add_messaging_connection(text, text, text, jsonb, uuid) to authenticated, service_role;


create or replace function messaging_private.new_webhook_token(max_length integer default 64)
returns text
language sql
volatile
set search_path = ''
as $$
  -- 2 x 122 random bits of pg_strong_random, as hex (what every platform accepts)
  select pg_catalog.left(pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '')
                         || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''), max_length);
$$;
comment on function messaging_private.new_webhook_token(integer) is
  'A random webhook token of hex digits (at most max_length; 32 hex digits carry 122 random bits).';
revoke all on function messaging_private.new_webhook_token(integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.own_connection(connection uuid)
returns public.messaging_connections
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_row public.messaging_connections;
begin
  if (select auth.uid()) is null then
    raise exception using errcode = '42501', message = 'connections: sign in first', hint = 'role_not_allowed';
  end if;
  select * into v_row from public.messaging_connections mc
   where mc.id = own_connection.connection and mc.user_id = (select auth.uid());
  if not found then
    raise exception using errcode = 'P0002', hint = 'connection_not_found',
      message = pg_catalog.format('connection_id: no such connection (%s)', connection);
  end if;
  return v_row;
end;
$$;
comment on function messaging_private.own_connection(uuid) is
  'The signed-in user''s connection by id; P0002 when it does not exist or is someone else''s.';
revoke all on function messaging_private.own_connection(uuid) from public, anon, service_role;
grant execute on function messaging_private.own_connection(uuid) to authenticated;

create or replace function messaging_private.fresh_secrets(platform text, app_secret text)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  return case platform
    when 'whatsapp' then pg_catalog.jsonb_build_object(
      'app_secret', app_secret, 'verify_token', messaging_private.new_webhook_token(48))
    when 'telegram' then pg_catalog.jsonb_build_object('secret_token', messaging_private.new_webhook_token(64))
    when 'signal' then pg_catalog.jsonb_build_object('token', messaging_private.new_webhook_token(64))
    when 'wechat' then pg_catalog.jsonb_build_object('token', messaging_private.new_webhook_token(32))
  end;
end;
$$;
comment on function messaging_private.fresh_secrets(text, text) is
  'New webhook secrets for a platform (WhatsApp: the given app secret and a new verify token).';
revoke all on function messaging_private.fresh_secrets(text, text) from public, anon, authenticated, service_role;

-- ---- supabase/schemas/23_connections_manage.sql ----

-- =============================================================================
-- Managing connections from the CRM screens
--
-- A signed-in user adds a connection, rotates its webhook secrets, pauses or
-- resumes it and deletes it. Secrets are generated here (a CSPRNG through
-- gen_random_uuid), returned once by the call that made them, and never readable
-- afterwards (messaging_private.connection_secrets has no API grant). WhatsApp's
-- app secret is Meta's, not ours: the user pastes it in. The privileged bodies
-- live in messaging_private; the public functions are thin wrappers.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- create / rotate
-- -----------------------------------------------------------------------------

create or replace function messaging_private.create_messaging_connection(
  platform text, account_identifier text, display_name text, app_secret text
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_secrets jsonb;
  v_id uuid;
begin
  if (select auth.uid()) is null then
    raise exception using errcode = '42501', message = 'create_messaging_connection: sign in first', hint = 'role_not_allowed';
  end if;
  if platform = 'whatsapp' and coalesce(pg_catalog.btrim(app_secret), '') = '' then
    raise exception using errcode = '22023',
      message = 'app_secret: required for WhatsApp (the App Secret of your Meta app, under App settings > Basic)',
      hint = 'connection_invalid';
  end if;
  if platform <> 'whatsapp' and app_secret is not null then
    raise exception using errcode = '22023',
      message = pg_catalog.format('app_secret: only WhatsApp has one, not %s', platform), hint = 'connection_invalid';
  end if;
  v_secrets := messaging_private.fresh_secrets(platform, pg_catalog.btrim(app_secret));
  -- the same checks and upsert as the CLI's add_messaging_connection (platform, account, secrets)
  v_id := messaging_private.add_messaging_connection(platform, account_identifier, display_name,
                                                     coalesce(v_secrets, '{}'::jsonb), null);
  return pg_catalog.jsonb_build_object('id', v_id, 'platform', platform, 'secrets', v_secrets - 'app_secret');
end;
$$;
comment on function messaging_private.create_messaging_connection(text, text, text, text) is
  'The privileged body of public.create_messaging_connection.';
revoke all on function messaging_private.create_messaging_connection(text, text, text, text) from public, anon, service_role;
grant execute on function messaging_private.create_messaging_connection(text, text, text, text) to authenticated;

create or replace function public.create_messaging_connection(
  platform text, account_identifier text, display_name text default null, app_secret text default null
)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.create_messaging_connection(platform, account_identifier, display_name, app_secret);
$$;
comment on function public.create_messaging_connection(text, text, text, text) is
  'Adds the signed-in user''s connection (or re-keys the one of that account) with secrets generated here, and returns {id, platform, secrets} once: the secrets are never readable again. WhatsApp needs its Meta app_secret, which is stored and not returned.';
revoke all on function public.create_messaging_connection(text, text, text, text) from public, anon;
grant execute on function public.create_messaging_connection(text, text, text, text) to authenticated;

create or replace function messaging_private.rotate_messaging_connection_secrets(connection uuid, app_secret text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_conn public.messaging_connections := messaging_private.own_connection(connection);
  v_app text := nullif(pg_catalog.btrim(app_secret), '');
  v_secrets jsonb;
begin
  if v_conn.platform = 'whatsapp' and v_app is null then
    select s.app_secret into v_app from messaging_private.connection_secrets s where s.connection_id = v_conn.id;
    if v_app is null then
      raise exception using errcode = '22023',
        message = 'app_secret: required for WhatsApp (the App Secret of your Meta app, under App settings > Basic)',
        hint = 'connection_invalid';
    end if;
  elsif v_conn.platform <> 'whatsapp' and v_app is not null then
    raise exception using errcode = '22023',
      message = pg_catalog.format('app_secret: only WhatsApp has one, not %s', v_conn.platform), hint = 'connection_invalid';
  end if;
  v_secrets := messaging_private.fresh_secrets(v_conn.platform, v_app);
  insert into messaging_private.connection_secrets as s (connection_id, user_id, app_secret, verify_token, secret_token, token)
  values (v_conn.id, v_conn.user_id, v_secrets ->> 'app_secret', v_secrets ->> 'verify_token',
          v_secrets ->> 'secret_token', v_secrets ->> 'token')
  on conflict (connection_id) do update
    set app_secret = excluded.app_secret, verify_token = excluded.verify_token,
        secret_token = excluded.secret_token, token = excluded.token;
  return pg_catalog.jsonb_build_object('id', v_conn.id, 'platform', v_conn.platform, 'secrets', v_secrets - 'app_secret');
end;
$$;
comment on function messaging_private.rotate_messaging_connection_secrets(uuid, text) is
  'The privileged body of public.rotate_messaging_connection_secrets.';
revoke all on function messaging_private.rotate_messaging_connection_secrets(uuid, text) from public, anon, service_role;
grant execute on function messaging_private.rotate_messaging_connection_secrets(uuid, text) to authenticated;

create or replace function public.rotate_messaging_connection_secrets(connection_id uuid, app_secret text default null)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.rotate_messaging_connection_secrets(connection_id, app_secret);
$$;
comment on function public.rotate_messaging_connection_secrets(uuid, text) is
  'Replaces the webhook secrets of the signed-in user''s connection (sets them up for one an import made) and returns the new ones once. WhatsApp keeps its stored app secret unless a new app_secret is given.';
revoke all on function public.rotate_messaging_connection_secrets(uuid, text) from public, anon;
grant execute on function public.rotate_messaging_connection_secrets(uuid, text) to authenticated;

-- -----------------------------------------------------------------------------
-- pause / resume, delete, and which connections can take webhooks
-- -----------------------------------------------------------------------------

create or replace function messaging_private.set_messaging_connection_status(connection uuid, status text)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_conn public.messaging_connections := messaging_private.own_connection(connection);
begin
  if status is null or status not in ('active', 'paused') then
    raise exception using errcode = '22023', hint = 'status_invalid',
      message = pg_catalog.format('status: must be active or paused, got %s', coalesce(status, 'null'));
  end if;
  update public.messaging_connections mc set status = set_messaging_connection_status.status
   where mc.id = v_conn.id;
  return status;
end;
$$;
comment on function messaging_private.set_messaging_connection_status(uuid, text) is
  'The privileged body of public.set_messaging_connection_status.';
revoke all on function messaging_private.set_messaging_connection_status(uuid, text) from public, anon, service_role;
grant execute on function messaging_private.set_messaging_connection_status(uuid, text) to authenticated;

create or replace function public.set_messaging_connection_status(connection_id uuid, status text)
returns text
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.set_messaging_connection_status(connection_id, status);
$$;
comment on function public.set_messaging_connection_status(uuid, text) is
  'Pauses (status paused) or resumes (active) the signed-in user''s connection.';
revoke all on function public.set_messaging_connection_status(uuid, text) from public, anon;
grant execute on function public.set_messaging_connection_status(uuid, text) to authenticated;

create or replace function messaging_private.delete_messaging_connection(connection uuid)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_conn public.messaging_connections := messaging_private.own_connection(connection);
begin
  -- its secrets go with it (on delete cascade); its conversations stay, without a connection
  delete from public.messaging_connections mc where mc.id = v_conn.id;
  return true;
end;
$$;
comment on function messaging_private.delete_messaging_connection(uuid) is
  'The privileged body of public.delete_messaging_connection.';
revoke all on function messaging_private.delete_messaging_connection(uuid) from public, anon, service_role;
grant execute on function messaging_private.delete_messaging_connection(uuid) to authenticated;

create or replace function public.delete_messaging_connection(connection_id uuid)
returns boolean
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.delete_messaging_connection(connection_id);
$$;
comment on function public.delete_messaging_connection(uuid) is
  'Deletes the signed-in user''s connection and its secrets; its conversations stay (connection_id becomes null).';
revoke all on function public.delete_messaging_connection(uuid) from public, anon;
grant execute on function public.delete_messaging_connection(uuid) to authenticated;

create or replace function messaging_private.messaging_connection_webhooks()
returns table (connection_id uuid, has_secrets boolean)
language sql
stable
security definer
set search_path = ''
as $$
  select mc.id, s.connection_id is not null
    from public.messaging_connections mc
    left join messaging_private.connection_secrets s on s.connection_id = mc.id
   where mc.user_id = (select auth.uid());
$$;
comment on function messaging_private.messaging_connection_webhooks() is
  'The privileged body of public.messaging_connection_webhooks.';
revoke all on function messaging_private.messaging_connection_webhooks() from public, anon, service_role;
grant execute on function messaging_private.messaging_connection_webhooks() to authenticated;

create or replace function public.messaging_connection_webhooks()
returns table (connection_id uuid, has_secrets boolean)
language sql
stable
security invoker
set search_path = ''
as $$
  select w.connection_id, w.has_secrets from messaging_private.messaging_connection_webhooks() w;
$$;
comment on function public.messaging_connection_webhooks() is
  'For each of the signed-in user''s connections, whether it has webhook secrets (so a webhook URL can work). Never the secrets themselves.';
revoke all on function public.messaging_connection_webhooks() from public, anon;
grant execute on function public.messaging_connection_webhooks() to authenticated;

-- ---- supabase/schemas/24_privileges.sql ----

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
