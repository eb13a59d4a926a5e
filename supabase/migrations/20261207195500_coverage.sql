-- Issue 31, item 2 (hand-written: the type, the table, its policy and grants, the payload
-- rows and a one-off backfill; the functions are in the coverage_functions migration
-- drafted by `devstack migration`). Where each conversation's history comes from.
create type public.message_source as enum ('export', 'msgstore', 'webhook', 'history', 'app');
comment on type public.message_source is 'Where a batch of messages comes from (coverage): an export file, an Android msgstore.db, a live webhook, the platform''s history backfill, or an app calling ingest_messages.';

insert into messaging_private.payload_fields (scope, position, field, kind, required, max_length, vocabulary, description) values
  ('payload', 4, 'source', 'enum', false, null, 'public.message_source',
   'Where the messages come from, for the conversation''s coverage record: app when left out (webhook for a delivery).'),
  ('payload', 5, 'source_name', 'text', false, 256, null,
   'The source''s name: an export''s file name (coverage keeps one record per conversation, source and name).'),
  ('payload', 6, 'source_phase', 'text', false, 64, null,
   'The phase of a history backfill, when the platform names one (a record per phase).');

create table public.chat_conversation_sources (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  kind text not null
    check (kind = any (pg_catalog.enum_range(null::public.message_source)::text[]) or kind = 'unknown'),
  name text not null default '' check (pg_catalog.length(name) <= 256),
  phase text not null default '' check (pg_catalog.length(phase) <= 64),
  connection_id uuid references public.messaging_connections (id) on delete set null,
  first_message_at timestamptz not null,
  last_message_at timestamptz not null,
  inserted bigint not null default 0 check (inserted >= 0),
  duplicates bigint not null default 0 check (duplicates >= 0),
  updated bigint not null default 0 check (updated >= 0),
  matched bigint not null default 0 check (matched >= 0),
  batches bigint not null default 1 check (batches >= 0),
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  constraint chat_conversation_sources_span_check check (first_message_at <= last_message_at),
  constraint chat_conversation_sources_source_unique unique (conversation_id, kind, name, phase)
);
comment on table public.chat_conversation_sources is
  'Coverage: per conversation and source (kind, name, phase) the message times it brought and its counts, kept by ingest_messages (one upsert per conversation per call). Read with conversation_coverage().';
comment on column public.chat_conversation_sources.kind is
  'A message_source (export, msgstore, webhook, history, app), or unknown: messages stored before coverage was recorded.';
comment on column public.chat_conversation_sources.name is 'The export''s file name (payload source_name); empty when none was given.';
comment on column public.chat_conversation_sources.phase is 'The history backfill''s phase (payload source_phase); empty when none was given.';
comment on column public.chat_conversation_sources.connection_id is 'The connection the last call of this source named (a webhook''s).';
comment on column public.chat_conversation_sources.first_message_at is
  'The oldest message time this source brought (edits of older messages aside when it brought new ones).';
comment on column public.chat_conversation_sources.last_message_at is 'The newest message time this source brought.';
comment on column public.chat_conversation_sources.inserted is 'Messages this source stored new.';
comment on column public.chat_conversation_sources.duplicates is 'Messages this source sent that were already stored (skipped).';
comment on column public.chat_conversation_sources.updated is 'Stored messages this source changed: a newer edit, or a stored copy that learned the copy it was matched with.';
comment on column public.chat_conversation_sources.matched is
  'Copies this source sent that were matched with another source''s copy of the same message (export/live matching, metadata.matched); a call storing nothing new counts them at most up to what is recorded (a re-import does not count them twice).';
comment on column public.chat_conversation_sources.batches is 'The ingest calls of this source that stored into the conversation.';
comment on column public.chat_conversation_sources.first_seen_at is 'When this source first stored into the conversation.';
comment on column public.chat_conversation_sources.last_seen_at is 'When this source last stored into the conversation.';

create index chat_conversation_sources_user_id_idx on public.chat_conversation_sources (user_id);
create index chat_conversation_sources_connection_id_idx on public.chat_conversation_sources (connection_id);

alter table public.chat_conversation_sources enable row level security;
revoke all on public.chat_conversation_sources from anon, authenticated, service_role;
grant select on public.chat_conversation_sources to authenticated, service_role;

create policy "Users can view the sources of their own conversations" on public.chat_conversation_sources
  for select to authenticated using (user_id = (select auth.uid()));

-- The conversations stored before this migration: one source of kind unknown each, spanning
-- their stored messages (what conversation_coverage can say about them).
insert into public.chat_conversation_sources (
  user_id, conversation_id, kind, first_message_at, last_message_at, inserted, batches,
  first_seen_at, last_seen_at)
select c.user_id, c.id, 'unknown', c.first_message_at, c.last_message_at, c.message_count, 0,
       c.created_at, c.updated_at
  from public.chat_conversations c
 where c.first_message_at is not null and c.last_message_at is not null;
