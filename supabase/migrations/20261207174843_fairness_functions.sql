-- Written by `make migration` from supabase/schemas; finish the todo lines.

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
    -- through PostgREST: HTTP 404 with the same code, message and hint (a PGRST raise
    -- sets the status); called in SQL: SQLSTATE P0002
    if pg_catalog.current_setting('request.method', true) <> '' then
      raise sqlstate 'PGRST' using
        message = pg_catalog.jsonb_build_object('code', 'P0002', 'hint', 'conversation_not_found', 'details', null,
          'message', pg_catalog.format('conversation_id: no such conversation (%s)', conversation_id))::text,
        detail = '{"status": 404, "headers": {}}';
    end if;
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
    -- through PostgREST: HTTP 404 with the same code, message and hint (a PGRST raise
    -- sets the status); called in SQL: SQLSTATE P0002
    if pg_catalog.current_setting('request.method', true) <> '' then
      raise sqlstate 'PGRST' using
        message = pg_catalog.jsonb_build_object('code', 'P0002', 'hint', 'connection_not_found', 'details', null,
          'message', pg_catalog.format('connection_id: no such connection (%s)', connection))::text,
        detail = '{"status": 404, "headers": {}}';
    end if;
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
