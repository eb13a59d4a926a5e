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

create type public.message_source as enum ('export', 'msgstore', 'webhook', 'history', 'app');
comment on type public.message_source is 'Where a batch of messages comes from (coverage): an export file, an Android msgstore.db, a live webhook, the platform''s history backfill, or an app calling ingest_messages.';
