-- =============================================================================
-- The live inbox: what changed in a user's inbox since a cursor
--
-- Every write of a conversation row or a read marker stamps the row with the id
-- of the writing transaction (change_xid, a 64-bit xid8 as bigint). A poll asks
-- for the rows stamped at or after its cursor and gets back a new cursor: the
-- oldest transaction still running at its snapshot (pg_snapshot_xmin). Every
-- transaction below that cursor has finished, so a change committed later (even
-- one that began before the poll, i.e. out of order) carries an xid at or above
-- it and shows in the next poll; rows of transactions that were still running
-- show again (the overlap), and the client replaces a row by its id. With no
-- transaction running the cursor is the next xid: a poll after no change
-- returns nothing, at the cost of an empty index range scan per table.
-- =============================================================================

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

-- A writer may stamp the row in its own statement (the ingest's insert and update do: a
-- trigger function call per row costs more than the column); the trigger then has nothing
-- to do and its condition skips it. Every other writer is stamped by the trigger.
create trigger chat_conversations_stamp_change
  before insert or update on public.chat_conversations
  for each row
  when (new.change_xid is distinct from pg_catalog.pg_current_xact_id()::text::bigint)
  execute function messaging_private.stamp_change_xid();
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


-- -----------------------------------------------------------------------------
-- Read markers: mark_conversation_read, mark_conversation_unread
-- -----------------------------------------------------------------------------


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
  v_count integer;
begin
  if v_user is null then
    raise exception using errcode = '42501', message = 'mark_conversation_read: sign in first', hint = 'role_not_allowed';
  end if;
  -- RLS: only a conversation the caller can see
  select c.last_message_at, c.message_count into v_at, v_count
    from public.chat_conversations c
   where c.id = mark_conversation_read.conversation_id;
  if not found then
    perform messaging_private.conversation_not_found(conversation_id);
  end if;
  if v_at is null then
    return null;
  end if;
  insert into public.chat_conversation_read_markers as r (user_id, conversation_id, last_read_at, read_message_count)
  values (v_user, mark_conversation_read.conversation_id, v_at, v_count)
  on conflict on constraint chat_conversation_read_markers_pkey do update
    set last_read_at = greatest(r.last_read_at, excluded.last_read_at),
        read_message_count = greatest(r.read_message_count, excluded.read_message_count),
        updated_at = pg_catalog.now()
  returning r.last_read_at into v_at;
  return v_at;
end;
$$;
comment on function public.mark_conversation_read(uuid) is
  'Marks the caller''s conversation read up to its newest message (never backwards); returns the marker''s time.';
revoke all on function public.mark_conversation_read(uuid) from public, anon;
grant execute on function public.mark_conversation_read(uuid) to authenticated;

create or replace function public.mark_conversation_unread(conversation_id uuid)
returns timestamptz
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_user uuid := (select auth.uid());
  v_last timestamptz;
  v_count integer;
  v_hot jsonb;
  v_at timestamptz;
  v_unread integer;
begin
  if v_user is null then
    raise exception using errcode = '42501', message = 'mark_conversation_unread: sign in first', hint = 'role_not_allowed';
  end if;
  -- RLS: only a conversation the caller can see
  select c.last_message_at, c.message_count, c.messages into v_last, v_count, v_hot
    from public.chat_conversations c
   where c.id = mark_conversation_unread.conversation_id;
  if not found then
    perform messaging_private.conversation_not_found(conversation_id);
  end if;
  if v_last is null then
    return null;  -- no message to be unread
  end if;
  -- the newest inbound message of the hot row (the newest messages); none there: the last one
  select (m.m ->> 'sent_at')::timestamptz into v_at
    from pg_catalog.jsonb_array_elements(v_hot) with ordinality m(m, ord)
   where m.m ->> 'direction' = 'inbound'
   order by m.ord desc
   limit 1;
  v_at := coalesce(v_at, v_last);
  select pg_catalog.count(*)::integer into v_unread
    from pg_catalog.jsonb_array_elements(v_hot) m(m)
   where (m.m ->> 'sent_at')::timestamptz >= v_at;
  -- the marker moves back to just before that message (a move back is what this asks for)
  insert into public.chat_conversation_read_markers as r (user_id, conversation_id, last_read_at, read_message_count)
  values (v_user, mark_conversation_unread.conversation_id, v_at - interval '1 microsecond',
          greatest(v_count - greatest(v_unread, 1), 0))
  on conflict on constraint chat_conversation_read_markers_pkey do update
    set last_read_at = excluded.last_read_at, read_message_count = excluded.read_message_count,
        updated_at = pg_catalog.now()
  returning r.last_read_at into v_at;
  return v_at;
end;
$$;
comment on function public.mark_conversation_unread(uuid) is
  'Marks the caller''s conversation unread: its read marker moves back to just before the newest inbound message (the newest message when the hot row holds none), so that message and the later ones count as unread. Returns the marker''s time; null for a conversation without messages.';
revoke all on function public.mark_conversation_unread(uuid) from public, anon;
grant execute on function public.mark_conversation_unread(uuid) to authenticated;


-- -----------------------------------------------------------------------------
-- inbox_changes: the rows of the inbox that changed since a cursor
-- -----------------------------------------------------------------------------

create or replace function messaging_private.unread_conversations(user_id uuid)
returns integer
language sql
stable
set search_path = ''
as $$
  select pg_catalog.count(*)::integer
    from public.chat_conversations c
    left join public.chat_conversation_read_markers r
      on r.user_id = unread_conversations.user_id and r.conversation_id = c.id
   where c.user_id = unread_conversations.user_id
     and c.last_message_at is not null
     and (r.last_read_at is null or r.last_read_at < c.last_message_at);
$$;
comment on function messaging_private.unread_conversations(uuid) is
  'How many of a user''s conversations have messages newer than their read marker (the navigation''s count). Runs as the caller: RLS decides.';

create or replace function public.inbox_changes(since bigint default null, max_count integer default 200)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_user uuid := (select auth.uid());
  v_cursor bigint := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint;
  v_rows jsonb;
  v_count integer;
begin
  if v_user is null then
    raise exception using errcode = '42501', message = 'inbox_changes: sign in first', hint = 'role_not_allowed';
  end if;
  -- the bound of a page of messages bounds a page of changes too
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('page_max_messages') then
    raise exception using errcode = '22023', hint = 'max_count_out_of_range',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('page_max_messages'), max_count);
  end if;
  if since is null then
    -- the first call: only the cursor (read it before the list's first page) and the count
    return pg_catalog.jsonb_build_object('cursor', v_cursor, 'conversations', '[]'::jsonb,
      'reload', false, 'unread_conversations', messaging_private.unread_conversations(v_user));
  end if;

  -- one index range scan per table: (user_id, change_xid >= since)
  select coalesce(pg_catalog.jsonb_agg(
           pg_catalog.to_jsonb(l) || pg_catalog.jsonb_build_object(
             'person', (select pg_catalog.jsonb_build_object('id', p.id, 'full_name', p.full_name)
                          from public.people p where p.id = l.person_id),
             'read', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                               'last_read_at', r.last_read_at, 'read_message_count', r.read_message_count)),
                             '[]'::jsonb)
                        from public.chat_conversation_read_markers r
                       where r.user_id = v_user and r.conversation_id = l.id))
           order by l.last_message_at desc nulls last, l.id desc), '[]'::jsonb),
         pg_catalog.count(*)::integer
    into v_rows, v_count
    from (
      select l.*
        from public.chat_conversation_list l
       where l.id in (
               select c.id from public.chat_conversations c
                where c.user_id = v_user and c.change_xid >= inbox_changes.since
               union
               select r.conversation_id from public.chat_conversation_read_markers r
                where r.user_id = v_user and r.change_xid >= inbox_changes.since)
       limit max_count + 1
    ) l;

  if v_count > max_count then
    -- more changed than one answer holds (an import): the caller reads its list again
    return pg_catalog.jsonb_build_object('cursor', v_cursor, 'conversations', '[]'::jsonb,
      'reload', true, 'unread_conversations', messaging_private.unread_conversations(v_user));
  end if;
  return pg_catalog.jsonb_build_object('cursor', v_cursor, 'conversations', v_rows, 'reload', false,
    'unread_conversations',
    case when v_count > 0 then messaging_private.unread_conversations(v_user) end);
end;
$$;
comment on function public.inbox_changes(bigint, integer) is
  'The caller''s inbox rows (chat_conversation_list columns with person and read) whose conversation or read marker changed since the cursor, newest first, and the next cursor. since null: only a cursor. reload true: more than max_count changed, read the list again. unread_conversations: the navigation''s count (null when nothing changed).';
revoke all on function public.inbox_changes(bigint, integer) from public, anon;
grant execute on function public.inbox_changes(bigint, integer) to authenticated;
