-- issue 30 (fairness per user, read markers): hand-written DDL of supabase/schemas/27_fairness.sql
-- and 06_conversations.sql. The changed functions of 17_reads.sql and 23_connections_add.sql
-- (P0002 answers 404 through PostgREST) are in the *_fairness_functions migration.

-- a read marker may be moved only onto a conversation of the user's own
alter policy "Users can move their own read markers" on public.chat_conversation_read_markers
  with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.chat_conversations c
                 where c.id = conversation_id and c.user_id = (select auth.uid())));

create schema if not exists messaging_gate;
comment on schema messaging_gate is
  'What PostgREST runs before every request (db-pre-request): the per-user and signed-in request slots. Not exposed by PostgREST; every API role may run its one function.';
revoke all on schema messaging_gate from public;
grant usage on schema messaging_gate to anon, authenticated, service_role;

insert into messaging_private.contract_limits (name, value, unit, description) values
  ('requests_per_user', 3, 'requests',
   'Most API requests of one signed-in user (any number of sessions and tokens) running at once; more are answered 429 (too_many_requests) with Retry-After. Anonymous callers share one such allowance. The service role is not limited.'),
  ('requests_signed_in', 6, 'requests',
   'Most API requests of all signed-in users and anonymous callers together running at once (429 past it): the rest of PostgREST''s pool (10 connections locally) is kept for the service role''s webhooks and jobs.'),
  ('retry_after_seconds', 1, 'seconds',
   'The Retry-After of a 429 too_many_requests answer: the Python client and the screens wait this long (then longer) before trying again.'),
  ('read_timeout_ms', 3000, 'milliseconds',
   'Statement timeout of every request of a signed-in user or an anonymous caller but ingest_messages (which keeps the authenticated role''s 8 s): a read running longer is cancelled (57014).');

insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('too_many_requests', '53400', 'call',
   'Wait the Retry-After seconds and send it again (the Python client and the screens do).',
   'More requests of one user at once than requests_per_user, or of all signed-in users than requests_signed_in; answered HTTP 429 with Retry-After, nothing run.');

create or replace function messaging_gate.admit_request()
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_role text := pg_catalog.current_setting('role', true);
  v_user integer;
  v_per_user integer;
  v_all integer;
  v_retry bigint;
  v_timeout bigint;
  v_got boolean := false;
  v_refused text;
begin
  if v_role is distinct from 'authenticated' and v_role is distinct from 'anon' then
    return;  -- service_role and the database's own roles are never limited
  end if;
  select max(l.value) filter (where l.name = 'requests_per_user'),
         max(l.value) filter (where l.name = 'requests_signed_in'),
         max(l.value) filter (where l.name = 'retry_after_seconds'),
         max(l.value) filter (where l.name = 'read_timeout_ms')
    into v_per_user, v_all, v_retry, v_timeout
    from messaging_private.contract_limits l
   where l.name in ('requests_per_user', 'requests_signed_in', 'retry_after_seconds', 'read_timeout_ms');
  v_user := pg_catalog.hashtext(coalesce((select auth.uid()), '00000000-0000-0000-0000-000000000000'::uuid)::text);
  for v_slot in 0 .. v_per_user - 1 loop
    v_got := pg_catalog.pg_try_advisory_xact_lock(1953000 + v_slot, v_user);
    exit when v_got;
  end loop;
  if not v_got then
    v_refused := pg_catalog.format(
      'too many requests at once for this user (at most %s run at once, whatever the number of sessions)', v_per_user);
  else
    for v_slot in 0 .. v_all - 1 loop
      v_got := pg_catalog.pg_try_advisory_xact_lock(1953100, v_slot);
      exit when v_got;
    end loop;
    if not v_got then
      v_refused := pg_catalog.format(
        'too many requests at once from signed-in users (at most %s run at once)', v_all);
    end if;
  end if;
  if v_refused is not null then
    raise sqlstate 'PGRST' using
      message = pg_catalog.jsonb_build_object(
        'code', '53400', 'hint', 'too_many_requests', 'details', null,
        'message', pg_catalog.format('%s; try again in %s s', v_refused, v_retry))::text,
      detail = pg_catalog.jsonb_build_object(
        'status', 429, 'headers', pg_catalog.jsonb_build_object('Retry-After', v_retry::text))::text;
  end if;
  if not (pg_catalog.current_setting('request.method', true) = 'POST'
          and pg_catalog.current_setting('request.path', true) = '/rpc/ingest_messages') then
    perform pg_catalog.set_config('statement_timeout', v_timeout::text, true);
  end if;
end;
$$;
comment on function messaging_gate.admit_request() is
  'PostgREST''s db-pre-request: takes one of the caller''s requests_per_user slots and one of the requests_signed_in slots (transaction-scoped advisory locks), or answers 429 too_many_requests with Retry-After; sets read_timeout_ms for every request but ingest_messages. The service role passes untouched.';
revoke all on function messaging_gate.admit_request() from public;
grant execute on function messaging_gate.admit_request() to anon, authenticated, service_role;

-- PostgREST reads its configuration from the authenticator role's settings
-- (in-database configuration) and reloads it on this notification.
alter role authenticator set pgrst.db_pre_request = 'messaging_gate.admit_request';
notify pgrst, 'reload config';
