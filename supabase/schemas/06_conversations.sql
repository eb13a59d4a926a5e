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
  value integer not null,
  description text not null,
  strategy boolean not null default false,
  constraint settings_value_check check (value > 0 or strategy)
);
comment on table messaging_private.settings is 'Tunables of the conversation store.';
comment on column messaging_private.settings.strategy is
  'The setting only chooses between two paths that give the same answers (a size past which a batch takes another path): 0 and 2147483647 force one path or the other, and the tests run both.';

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
  using (user_id = (select auth.uid()))
  with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.chat_conversations c
                 where c.id = conversation_id and c.user_id = (select auth.uid())));
create policy "Users can delete their own read markers" on public.chat_conversation_read_markers
  for delete to authenticated using (user_id = (select auth.uid()));
