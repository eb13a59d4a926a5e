-- One helper for the refusals PostgREST answers with their own HTTP status
-- (messaging_private.refuse); the not-found and merge raisers call it. Same codes,
-- messages, hints and statuses.

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

create or replace function messaging_private.conversation_not_found(conversation_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  perform messaging_private.refuse('P0002', 'conversation_not_found',
    pg_catalog.format('conversation_id: no such conversation (%s)', conversation_id), 404);
end;
$$;
comment on function messaging_private.conversation_not_found(uuid) is
  'Raises conversation_not_found (HTTP 404 through PostgREST, SQLSTATE P0002 in SQL) for a conversation the caller cannot see.';

create or replace function messaging_private.merge_refuse(kind text, message text)
returns void
language plpgsql
set search_path = ''
as $$
-- One place for the merges' refusals, each with the SQLSTATE of its kind. Through
-- PostgREST a refusal that is not 22023 gets an HTTP status of its own (refuse): 404 for
-- merge_not_found, 409 for the two states of undo.
begin
  if kind = 'merge_not_found' then
    perform messaging_private.refuse('P0002', 'merge_not_found', message, 404);
  elsif kind = 'merge_already_undone' then
    perform messaging_private.refuse('55000', 'merge_already_undone', message, 409);
  elsif kind = 'merge_undo_blocked' then
    perform messaging_private.refuse('55000', 'merge_undo_blocked', message, 409);
  end if;
  raise exception using errcode = '22023', message = message, hint = 'merge_invalid';
end;
$$;
comment on function messaging_private.merge_refuse(text, text) is
  'Raises a merge refusal of the given kind (merge_not_found, merge_already_undone, merge_undo_blocked, else merge_invalid).';
revoke all on function messaging_private.merge_refuse(text, text) from public, anon;

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
    perform messaging_private.refuse('P0002', 'connection_not_found',
      pg_catalog.format('connection_id: no such connection (%s)', connection), 404);
  end if;
  return v_row;
end;
$$;
comment on function messaging_private.own_connection(uuid) is
  'The signed-in user''s connection by id; P0002 when it does not exist or is someone else''s.';
revoke all on function messaging_private.own_connection(uuid) from public, anon, service_role;
grant execute on function messaging_private.own_connection(uuid) to authenticated;

create or replace function messaging_private.person_not_found(person uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
-- person_not_found: HTTP 404 through PostgREST, SQLSTATE P0002 in SQL
begin
  perform messaging_private.refuse('P0002', 'person_not_found',
    pg_catalog.format('person_id: no such person (%s)', person), 404);
end;
$$;
comment on function messaging_private.person_not_found(uuid) is
  'Raises person_not_found for a person (P0002; HTTP 404 through PostgREST).';
revoke all on function messaging_private.person_not_found(uuid) from public, anon;
grant execute on function messaging_private.person_not_found(uuid) to authenticated, service_role;
