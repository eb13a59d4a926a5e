-- =============================================================================
-- The contract, published as data
--
-- What callers of the store must know and what the store itself checks, written
-- once here as rows: the limits of a call, the rules of every payload field, the
-- keys of a stored message, the platforms with the names of their webhook
-- secrets, the delivery statuses in their order, the kinds of refusal (each
-- raise in this schema carries its kind in the error's `hint`) and the form of a
-- webhook URL. The SQL reads its own rules from these tables (payload_errors,
-- ingest_messages, add_messaging_connection, fresh_secrets, webhook_connection,
-- status_rank, check_updates); public.messaging_contract() publishes them as one
-- JSON object, and `make types` / `make web-types` write it to contract.json for
-- Python, the screens and the edge function (checked fresh by `make test`).
-- The functions that read these tables live in the files after this one.
--
-- Adding a platform is one migration: `alter type public.messaging_platform add
-- value`, a row in platforms, a row per secret in platform_secrets saying who
-- issues it (and a column of that name in connection_secrets when the name is
-- new), then its mapping module in the edge function. docs/contract.md says the same for people.
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
  ('edit_future_seconds', 120, 'seconds',
   'How far past the database''s clock an edited_at is stored as given; a later one is stored as the time the edit arrived (metadata.edited_at_given keeps it), so a clock ahead never outranks the real later edits.'),
  ('earliest_epoch_seconds', 0, 'seconds since 1970-01-01T00:00:00Z',
   'The earliest sent_at and edited_at.');
insert into messaging_private.contract_limits (name, value, unit, description) values
  ('page_max_messages', 1000, 'messages',
   'Most messages one page of get_conversation_messages or get_conversation_messages_after returns (max_count).'),
  ('search_max_hits', 500, 'hits', 'Most hits one search_messages call returns (max_count).'),
  ('app_body_bytes', 9437184, 'bytes',
   'Largest JSON body the messaging-ingest function reads on its app route (413 past it); the Python client keeps its batches 1 MiB below it.'),
  ('webhook_body_bytes', 1048576, 'bytes',
   'Largest webhook body the messaging-ingest function reads (413 past it); every platform''s deliveries are far smaller.');
insert into messaging_private.contract_limits (name, value, unit, description) values
  ('pending_updates_per_user', 10000, 'updates',
   'Most updates kept per user for messages not stored yet (past it an update naming no stored message is counted missing).'),
  ('pending_update_days', 30, 'days',
   'How long an update naming no stored message is kept for its message.');

create or replace function messaging_private.contract_limit(limit_name text)
returns bigint
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (select l.value from messaging_private.contract_limits l where l.name = limit_name);
end;
$$;
comment on function messaging_private.contract_limit(text) is
  'The value of a limit of the published contract (security definer: the reads, which run as the caller, check their page sizes with it; every limit is public through messaging_contract()).';
revoke all on function messaging_private.contract_limit(text) from public, anon;
grant execute on function messaging_private.contract_limit(text) to authenticated, service_role;

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
  ('payload', 4, 'source', 'enum', false, null, 'public.message_source',
   'Where the messages come from, for the conversation''s coverage record: app when left out (webhook for a delivery).'),
  ('payload', 5, 'source_name', 'text', false, 256, null,
   'The source''s name: an export''s file name (coverage keeps one record per conversation, source and name).'),
  ('payload', 6, 'source_phase', 'text', false, 64, null,
   'The phase of a history backfill, when the platform names one (a record per phase).'),
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
   'Anything else, at most metadata_max_depth levels deep.'),
  ('message', 19, 'participant_ids', 'object', false, 4096, null,
   'The other party''s ids by kind ({"phone": "+34612345678", "whatsapp_user_id": "US.1349..."}, a value or an array of up to 8): aliases of a direct conversation (docs/contract.md, identity aliases).');

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
  ('content', 4, true, 'string or null', 'The text (null for media without a caption, or a deleted message unless its owner keeps deleted text).'),
  ('media_url', 5, true, 'string or null', 'Where the media is.'),
  ('sent_at', 6, true, 'string', 'ISO 8601 in UTC with Z, the fraction only when there is one.'),
  ('sender_identifier', 7, false, 'string', 'When given.'),
  ('sender_name', 8, false, 'string', 'When given.'),
  ('reply_to_id', 9, false, 'string', 'When given.'),
  ('edited_at', 10, false, 'string', 'When given: ISO 8601 in UTC, like sent_at.'),
  ('metadata', 11, false, 'object',
   'When given; webhooks add status, status_at, status_error, reactions, deleted and deleted_at; an edit adds versions (the earlier texts, [{content, at}], the newest 20) and versions_dropped.');

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
  issued_by text not null check (issued_by in ('platform', 'store')),
  generated_length integer check (generated_length between 1 and 64),
  where_issued text,
  primary key (platform, name),
  unique (platform, position),
  constraint platform_secrets_generated_length
    check ((issued_by = 'store') = (generated_length is not null) and generated_length <= max_length),
  constraint platform_secrets_where_issued check ((issued_by = 'platform') = (where_issued is not null))
);
-- create_messaging_connection and rotate take the one secret a platform issues as app_secret
create unique index platform_secrets_one_issued on messaging_private.platform_secrets (platform)
  where issued_by = 'platform';
comment on table messaging_private.platform_secrets is
  'The webhook secrets each platform needs (add_messaging_connection''s secrets keys); each name is a column of connection_secrets.';
comment on column messaging_private.platform_secrets.pattern is
  'A regular expression the whole value must match (what the platform accepts), or null for any non-empty string.';
comment on column messaging_private.platform_secrets.issued_by is
  'platform: the platform issues it and the user pastes it in (create_messaging_connection''s app_secret, at most one per platform); store: create and rotate generate it.';
comment on column messaging_private.platform_secrets.generated_length is
  'store: how many hex digits create and rotate generate (new_webhook_token, at most 64, within max_length and pattern).';
comment on column messaging_private.platform_secrets.where_issued is
  'platform: where the user finds it on the platform (the refusal that asks for it names the place).';

insert into messaging_private.platforms (platform, label, description) values
  ('whatsapp', 'WhatsApp',
   'WhatsApp Cloud API: GET answers hub.challenge when hub.verify_token is the verify token; POST carries X-Hub-Signature-256, HMAC-SHA256 of the raw body with the app secret.'),
  ('signal', 'Signal',
   'signal-cli receive notifications forwarded with Authorization: Bearer <token>.'),
  ('telegram', 'Telegram',
   'Telegram Bot API: X-Telegram-Bot-Api-Secret-Token is the secret_token given to setWebhook.'),
  ('wechat', 'WeChat',
   'WeChat Official Account, plaintext mode: signature is sha1 of the sorted token, timestamp and nonce.');

insert into messaging_private.platform_secrets
  (platform, name, position, pattern, max_length, description, issued_by, generated_length, where_issued) values
  ('whatsapp', 'app_secret', 1, null, 512, 'The Meta app secret: signs every delivery.',
   'platform', null, 'the App Secret of your Meta app, under App settings > Basic'),
  ('whatsapp', 'verify_token', 2, null, 512, 'Any string; the same in Meta''s "Verify token" field.',
   'store', 48, null),
  ('telegram', 'secret_token', 1, '^[A-Za-z0-9_-]+$', 256,
   'The secret_token given to setWebhook: 1-256 of A-Z a-z 0-9 _ - (what Telegram accepts).', 'store', 64, null),
  ('signal', 'token', 1, null, 512, 'The bearer token the forwarder sends.', 'store', 64, null),
  ('wechat', 'token', 1, '^[A-Za-z0-9]{3,32}$', 32,
   'The token of the account''s server settings: 3-32 letters or digits (what WeChat accepts).', 'store', 32, null);

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
  ('read', 4, 'The recipient read it.'),
  ('played', 5, 'The recipient played it (a voice message listened to; WhatsApp).');

-- -----------------------------------------------------------------------------
-- Connection statuses
-- -----------------------------------------------------------------------------

create table messaging_private.connection_statuses (
  status text primary key check (status ~ '^[a-z]+$'),
  position integer not null unique check (position > 0),
  settable boolean not null,
  stores boolean not null,
  description text not null
);
comment on table messaging_private.connection_statuses is
  'The values of messaging_connections.status (its foreign key): which a user may set (set_messaging_connection_status) and which store deliveries.';

insert into messaging_private.connection_statuses (status, position, settable, stores, description) values
  ('active', 1, true, true, 'Deliveries are checked and stored.'),
  ('paused', 2, true, false,
   'The user paused it: deliveries are answered (so the platform stops retrying) and nothing is stored.'),
  ('error', 3, false, true,
   'The last delivery was refused whole by the store (last_error says why); the next one accepted makes it active again.'),
  ('disconnected', 4, false, false, 'The account is gone from the platform: deliveries are answered and nothing is stored.');

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
   'A page cursor with before_id but no before_sent_at.'),
  ('settings_invalid', '22023', 'call', 'Nothing was changed. Give keep_deleted_text as true or false.',
   'set_messaging_settings without a value for a setting.');

create or replace function messaging_private.refuse(code text, hint text, message text, http_status integer)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  -- through PostgREST: the given HTTP status with the same code, message and hint (a PGRST
  -- raise sets the status); called in SQL: the SQLSTATE code
  if pg_catalog.current_setting('request.method', true) <> '' then
    raise sqlstate 'PGRST' using
      message = pg_catalog.jsonb_build_object('code', code, 'hint', hint, 'details', null,
        'message', message)::text,
      detail = pg_catalog.jsonb_build_object('status', http_status, 'headers', '{}'::jsonb)::text;
  end if;
  raise exception using errcode = code, hint = refuse.hint, message = refuse.message;
end;
$$;
comment on function messaging_private.refuse(text, text, text, integer) is
  'Raises a refusal (SQLSTATE code, its kind in the hint) that PostgREST answers with its own HTTP status (404 for a row the caller cannot see, 409 for a state): the one place of the not-found and state refusals.';
revoke all on function messaging_private.refuse(text, text, text, integer) from public, anon;
grant execute on function messaging_private.refuse(text, text, text, integer) to authenticated, service_role;
