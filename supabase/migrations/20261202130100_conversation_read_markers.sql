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
