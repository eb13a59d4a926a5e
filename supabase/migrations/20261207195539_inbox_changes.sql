-- issue 31, item 1 (written by hand): the live inbox. Each conversation row and read
-- marker carries the id of the transaction that last wrote it (change_xid, stamped by a
-- trigger), indexed under (user_id, change_xid) for inbox_changes' range scans; a marker
-- keeps the message_count it was read at (read_message_count) for the unread count. The
-- functions (inbox_changes, mark_conversation_read/unread, the trigger's) are declared in
-- the inbox_changes_functions migration; the trigger function is declared here too, since
-- the triggers below need it.
alter table public.chat_conversations add column change_xid bigint not null default 0;
comment on column public.chat_conversations.change_xid is
  'The id (xid8) of the transaction that last wrote the row: the live inbox''s change cursor (inbox_changes). 0 for rows not written since it was added.';
create index chat_conversations_user_change_idx on public.chat_conversations (user_id, change_xid);

alter table public.chat_conversation_read_markers add column change_xid bigint not null default 0;
comment on column public.chat_conversation_read_markers.change_xid is
  'The id (xid8) of the transaction that last wrote the marker: read and unread changes reach the live inbox (inbox_changes).';
create index chat_conversation_read_markers_user_change_idx
  on public.chat_conversation_read_markers (user_id, change_xid);

alter table public.chat_conversation_read_markers
  add column read_message_count integer not null default 0 check (read_message_count >= 0);
comment on column public.chat_conversation_read_markers.read_message_count is
  'The conversation''s message_count when the user last read it: message_count - read_message_count is the unread count the inbox shows.';

-- markers written before: a conversation read to its end counts nothing unread, one with
-- later messages at least one (how many came after the marker is not known)
update public.chat_conversation_read_markers r
   set read_message_count = case when r.last_read_at >= c.last_message_at then c.message_count
                                 else greatest(c.message_count - 1, 0) end
  from public.chat_conversations c
 where c.id = r.conversation_id;

create or replace function messaging_private.stamp_change_xid()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.change_xid := pg_catalog.pg_current_xact_id()::text::bigint;
  return new;
end;
$$;
comment on function messaging_private.stamp_change_xid() is
  'Trigger: stamps change_xid with the writing transaction''s id (the live inbox''s cursor).';
revoke all on function messaging_private.stamp_change_xid() from public, anon, authenticated, service_role;

create trigger chat_conversations_stamp_change
  before insert or update on public.chat_conversations
  for each row execute function messaging_private.stamp_change_xid();
create trigger chat_conversation_read_markers_stamp_change
  before insert or update on public.chat_conversation_read_markers
  for each row execute function messaging_private.stamp_change_xid();

-- Realtime (where the stack runs it: Supabase's supabase_realtime publication exists) tells
-- the screens that something changed; the rows themselves still come from inbox_changes.
-- The local stack has no Realtime server and no such publication: nothing happens there.
do $$
begin
  if exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime')
     and not exists (select 1 from pg_catalog.pg_publication_tables
                      where pubname = 'supabase_realtime' and tablename = 'chat_conversation_read_markers') then
    alter publication supabase_realtime add table public.chat_conversations, public.chat_conversation_read_markers;
  end if;
end;
$$;
