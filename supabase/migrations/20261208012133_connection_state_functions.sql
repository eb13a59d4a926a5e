-- Written by `make migration` from supabase/schemas; finish the todo lines.

create or replace function public.ingest_webhook_delivery(payload jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.webhook_delivery(payload);
$$;
comment on function public.ingest_webhook_delivery(jsonb) is
  'service_role only (the messaging-ingest function): {connection_id, messages, updates, refused, replay_guard, history_messages, history_phase, connection_state} of one delivery; messages as in ingest_messages, history_messages likewise but stored as history (coverage source history with history_phase, and read already: the owner''s read marker moves past them), connection_state {unknown_kinds, history, business, contacts}: what the delivery says of the connection (21_connection_state.sql), updates {kind: status|reaction|delete, platform, external_conversation_id, id, at, ...} applied to stored messages only, refused: what the function itself refused ({path, kind, reason}), replay_guard: a WeChat {nonce, digest}, secrets_version: the webhook_connection secrets_version the function verified against. Each message or update the store refuses is left out (listed in refused, counted on the connection), the rest stored. Returns the ingest summary plus {updates: {applied, unchanged, missing}, accepted, refused}, or {rejected: {kind: paused|replay|stale_secrets}} when nothing may be stored (stale_secrets: verified against rotated secrets).';
revoke all on function public.ingest_webhook_delivery(jsonb) from public, anon, authenticated;
grant execute on function public.ingest_webhook_delivery(jsonb) to service_role;

create or replace function messaging_private.add_unknown_kinds(current jsonb, counts jsonb)
returns jsonb
language sql
stable
set search_path = ''
as $$
  -- at most 200 kinds are kept on a connection: a flood of invented names cannot grow it
  select coalesce(current, '{}'::jsonb) || coalesce((
    select pg_catalog.jsonb_object_agg(k.key, pg_catalog.jsonb_build_object(
             'count', coalesce((current #>> array[k.key, 'count'])::bigint, 0) + (k.value #>> '{}')::bigint,
             'last_at', pg_catalog.now()))
      from (select e.key, e.value from pg_catalog.jsonb_each(counts) e
             where pg_catalog.jsonb_typeof(e.value) = 'number' and (e.value #>> '{}') ~ '^[0-9]{1,9}$'
               and pg_catalog.length(e.key) between 1 and 100
               and (current ? e.key
                    or (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(current)) < 200)
             limit 200) k), '{}'::jsonb);
$$;
comment on function messaging_private.add_unknown_kinds(jsonb, jsonb) is
  'unknown_kinds with a delivery''s counts {kind: n} added, each kind''s last_at now; at most 200 kinds per connection.';
revoke all on function messaging_private.add_unknown_kinds(jsonb, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.deliver_messages(
  owner uuid, connection uuid, messages jsonb, source text, phase text, out summary jsonb, out refused jsonb[])
language plpgsql
set search_path = ''
as $$
declare
  m record;
  v_state text;
  v_text text;
  -- where the messages come from (coverage): webhook, or history with its phase
  v_from jsonb := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
    'user_id', owner, 'connection_id', connection, 'source', source, 'source_phase', phase));
begin
  summary := '{"inserted": 0, "duplicates": 0, "updated": 0, "matched": 0, "conversations": []}'::jsonb;
  refused := '{}'::jsonb[];
  -- all at once (the common case: every message valid), else each message on its own
  if pg_catalog.jsonb_array_length(messages) > 1 then
    begin
      summary := messaging_private.ingest_messages(v_from || pg_catalog.jsonb_build_object('messages', messages));
      return;
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate;
      if not messaging_private.final_refusal(v_state) then
        raise;
      end if;
    end;
  end if;
  for m in select e.m, e.ord from pg_catalog.jsonb_array_elements(messages) with ordinality e(m, ord) loop
    begin
      summary := messaging_private.add_counts(summary, messaging_private.ingest_messages(
        v_from || pg_catalog.jsonb_build_object('messages', pg_catalog.jsonb_build_array(m.m))));
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_text = message_text;
      if not messaging_private.final_refusal(v_state) then
        raise;
      end if;
      refused := refused || messaging_private.delivery_refusal('messages', m.ord, m.m, 'invalid_message', v_state, v_text);
    end;
  end loop;
end;
$$;
comment on function messaging_private.deliver_messages(uuid, uuid, jsonb, text, text) is
  'The messages of a delivery stored through ingest_messages (source webhook, or history with the backfill''s phase), all at once or else each alone: the ingest summary and the messages refused for good (a retryable error fails the delivery).';
revoke all on function messaging_private.deliver_messages(uuid, uuid, jsonb, text, text) from public, anon, authenticated, service_role;

create or replace function messaging_private.delivery_connection(payload jsonb)
returns public.messaging_connections
language plpgsql
stable
set search_path = ''
as $$
-- The connection a delivery names, once the delivery's shape is checked (each error here
-- refuses the delivery whole).
declare
  v_id uuid;
  v_conn public.messaging_connections;
begin
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023', message = 'payload: must be a JSON object', hint = 'payload_not_object';
  end if;
  if coalesce(payload ->> 'connection_id', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    raise exception using errcode = '22023', message = 'connection_id: required, a UUID', hint = 'connection_id_invalid';
  end if;
  v_id := (payload ->> 'connection_id')::uuid;
  select * into v_conn from public.messaging_connections mc where mc.id = v_id;
  if not found then
    raise exception using errcode = '22023', message = pg_catalog.format('connection_id: no connection %s', v_id),
      hint = 'connection_unknown';
  end if;
  if payload ? 'user_id' and payload ->> 'user_id' is distinct from v_conn.user_id::text then
    raise exception using errcode = '42501', message = 'user_id: not the owner of the connection', hint = 'user_id_not_own';
  end if;
  if payload ? 'messages' and pg_catalog.jsonb_typeof(payload -> 'messages') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'messages: must be an array', hint = 'messages_not_array';
  end if;
  if payload ? 'history_messages' and pg_catalog.jsonb_typeof(payload -> 'history_messages') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'history_messages: must be an array', hint = 'messages_not_array';
  end if;
  if payload ? 'refused' and pg_catalog.jsonb_typeof(payload -> 'refused') not in ('array', 'null') then
    raise exception using errcode = '22023', message = 'refused: must be an array', hint = 'delivery_invalid';
  end if;
  return v_conn;
end;
$$;
comment on function messaging_private.delivery_connection(jsonb) is
  'The connection a webhook delivery names, after checking the delivery''s shape (an object, a connection that exists, its owner, messages, history_messages and refused arrays).';
revoke all on function messaging_private.delivery_connection(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.history_read(owner uuid, messages jsonb, conversations jsonb)
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- (plpgsql: read_message_count is added later, by 32_inbox_changes.sql)
  -- the owner's read marker of each conversation that got history messages moves on by
  -- as many messages as were inserted, and to the newest history message's time (never
  -- back): history adds to the conversation, it marks nothing unread
  insert into public.chat_conversation_read_markers as r (user_id, conversation_id, last_read_at, read_message_count)
  select owner, (c.x ->> 'id')::uuid, h.newest, (c.x ->> 'inserted')::integer
    from pg_catalog.jsonb_array_elements(conversations) c(x)
    join (select m.m ->> 'platform' platform, m.m ->> 'external_conversation_id' ext,
                 pg_catalog.max((m.m ->> 'sent_at')::timestamptz) newest
            from pg_catalog.jsonb_array_elements(messages) m(m) group by 1, 2) h
      on h.platform = c.x ->> 'platform' and h.ext = c.x ->> 'external_conversation_id'
   where (c.x ->> 'inserted')::integer > 0
  on conflict on constraint chat_conversation_read_markers_pkey do update
    set read_message_count = r.read_message_count + excluded.read_message_count,
        last_read_at = greatest(r.last_read_at, excluded.last_read_at),
        updated_at = pg_catalog.now();
end;
$$;
comment on function messaging_private.history_read(uuid, jsonb, jsonb) is
  'After history messages are stored: the owner''s read marker of each conversation moved on by the messages inserted and to the newest history time, so a backfill marks nothing unread.';
revoke all on function messaging_private.history_read(uuid, jsonb, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.merge_history_backfill(current jsonb, news jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- news: {phase, chunk_order, progress, at} of the chunks of one delivery (an array), and
-- error {code, title, details, at}; per phase the highest progress wins, chunks may
-- arrive in any order
declare
  v jsonb := coalesce(current, '{}'::jsonb);
  c jsonb;
  v_phase text;
  v_old jsonb;
begin
  for c in select x from pg_catalog.jsonb_array_elements(coalesce(news -> 'chunks', '[]'::jsonb)) x limit 100 loop
    if pg_catalog.jsonb_typeof(c -> 'phase') <> 'number' or (c ->> 'phase') !~ '^[0-9]$' then
      continue;
    end if;
    v_phase := c ->> 'phase';
    v_old := v #> array['phases', v_phase];
    if v_old is null
       or coalesce((c ->> 'progress')::numeric, 0) >= coalesce((v_old ->> 'progress')::numeric, 0) then
      v := pg_catalog.jsonb_set(v || pg_catalog.jsonb_build_object('phases', coalesce(v -> 'phases', '{}'::jsonb)),
        array['phases', v_phase], pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
          'progress', case when pg_catalog.jsonb_typeof(c -> 'progress') = 'number' then c -> 'progress' end,
          'chunk_order', case when pg_catalog.jsonb_typeof(c -> 'chunk_order') = 'number' then c -> 'chunk_order' end,
          'at', c -> 'at')));
    end if;
  end loop;
  if pg_catalog.jsonb_typeof(news -> 'error') = 'object' then
    v := v || pg_catalog.jsonb_build_object('error', news -> 'error');
  end if;
  return v;
end;
$$;
comment on function messaging_private.merge_history_backfill(jsonb, jsonb) is
  'A connection''s history_backfill with a delivery''s history news merged in: per phase the highest progress (chunks arrive in any order), the last error as given.';
revoke all on function messaging_private.merge_history_backfill(jsonb, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.record_connection_state(conn public.messaging_connections, state jsonb)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if pg_catalog.jsonb_typeof(state) <> 'object' then
    raise exception using errcode = '22023', message = 'connection_state: must be a JSON object', hint = 'delivery_invalid';
  end if;
  if (state ? 'unknown_kinds' and pg_catalog.jsonb_typeof(state -> 'unknown_kinds') <> 'object')
     or (state ? 'history' and pg_catalog.jsonb_typeof(state -> 'history') <> 'object')
     or (state ? 'business' and pg_catalog.jsonb_typeof(state -> 'business') <> 'object')
     or (state ? 'contacts' and pg_catalog.jsonb_typeof(state -> 'contacts') <> 'array') then
    raise exception using errcode = '22023', hint = 'delivery_invalid',
      message = 'connection_state: unknown_kinds, history and business must be objects, contacts an array';
  end if;
  if state ?| array['unknown_kinds', 'history', 'business'] then
    update public.messaging_connections mc
       set unknown_kinds = case when state ? 'unknown_kinds'
                                then messaging_private.add_unknown_kinds(mc.unknown_kinds, state -> 'unknown_kinds')
                                else mc.unknown_kinds end,
           history_backfill = case when state ? 'history'
                                   then messaging_private.merge_history_backfill(mc.history_backfill, state -> 'history')
                                   else mc.history_backfill end,
           business_connection = case when state ? 'business'
                                           and (mc.business_connection is null
                                                or (mc.business_connection ->> 'at') <= (state -> 'business' ->> 'at'))
                                      then state -> 'business'
                                      else mc.business_connection end
     where mc.id = conn.id;
  end if;
  if state ? 'contacts' then
    perform messaging_private.record_contact_names(conn, state -> 'contacts');
  end if;
end;
$$;
comment on function messaging_private.record_connection_state(public.messaging_connections, jsonb) is
  'A webhook delivery''s connection_state {unknown_kinds, history, business, contacts} on its connection (one update of the row, and the contact names).';
revoke all on function messaging_private.record_connection_state(public.messaging_connections, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.record_contact_names(conn public.messaging_connections, contacts jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- each {identifier, name, first_name, action: add|edit|remove, at}, in the order given; an
-- older change than the one kept is ignored
declare
  c jsonb;
begin
  for c in select x from pg_catalog.jsonb_array_elements(contacts) x limit 1000 loop
    if coalesce(c ->> 'identifier', '') = '' or pg_catalog.length(c ->> 'identifier') > 320
       or (c ->> 'at') is null then
      continue;
    end if;
    if c ->> 'action' = 'remove' then
      delete from public.contact_name_suggestions s
       where s.connection_id = conn.id and s.identifier = c ->> 'identifier'
         and s.changed_at <= (c ->> 'at')::timestamptz;
    elsif coalesce(pg_catalog.btrim(c ->> 'name'), '') <> '' then
      insert into public.contact_name_suggestions as s
             (connection_id, identifier, user_id, platform, match_key, full_name, first_name, changed_at)
      values (conn.id, c ->> 'identifier', conn.user_id, conn.platform,
              coalesce(messaging_private.subscriber_key(c ->> 'identifier'), c ->> 'identifier'),
              pg_catalog.left(pg_catalog.btrim(c ->> 'name'), 500),
              pg_catalog.left(nullif(pg_catalog.btrim(c ->> 'first_name'), ''), 500), (c ->> 'at')::timestamptz)
      on conflict (connection_id, identifier) do update
        set full_name = excluded.full_name, first_name = excluded.first_name, changed_at = excluded.changed_at
        where s.changed_at <= excluded.changed_at;
    end if;
  end loop;
end;
$$;
comment on function messaging_private.record_contact_names(public.messaging_connections, jsonb) is
  'A delivery''s business-app contacts as contact_name_suggestions: add and edit keep the name, remove takes it away; an older change than the kept one is ignored.';
revoke all on function messaging_private.record_contact_names(public.messaging_connections, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.webhook_delivery(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_conn public.messaging_connections;
  v_answer jsonb;
  v_part record;
  v_result jsonb := '{"inserted": 0, "duplicates": 0, "updated": 0, "matched": 0, "conversations": []}'::jsonb;
  v_upd jsonb := '{"applied": 0, "unchanged": 0, "missing": 0}'::jsonb;
  v_refused jsonb[] := '{}'::jsonb[];
  v_given jsonb[] := '{}'::jsonb[];
  v_items integer := 0;
  v_failed integer;
begin
  perform messaging_private.require_service_role();
  v_conn := messaging_private.delivery_connection(payload);
  -- verified against secrets a rotation has replaced: the function reads them again and
  -- verifies once more (nothing stored, nothing counted here)
  if payload ? 'secrets_version'
     and payload ->> 'secrets_version' is distinct from messaging_private.secrets_version(v_conn.id) then
    return '{"rejected": {"kind": "stale_secrets", "reason": "the connection''s secrets were rotated"}}'::jsonb;
  end if;
  v_answer := messaging_private.delivery_rejected(v_conn.id, v_conn.status, payload -> 'replay_guard');
  if v_answer is not null then
    return v_answer;
  end if;
  -- what the function refused before the database (another account, a message of a
  -- shape it cannot map): counted here, in the same transaction
  if pg_catalog.jsonb_typeof(payload -> 'refused') = 'array' then
    select coalesce(pg_catalog.array_agg(r.x), '{}'::jsonb[]) into v_given
      from (select x from pg_catalog.jsonb_array_elements(payload -> 'refused') x limit 1000) r;
  end if;
  if pg_catalog.jsonb_typeof(payload -> 'messages') = 'array' and pg_catalog.jsonb_array_length(payload -> 'messages') > 0 then
    v_items := pg_catalog.jsonb_array_length(payload -> 'messages');
    v_part := messaging_private.deliver_messages(v_conn.user_id, v_conn.id,
      messaging_private.edits_keep_stored(v_conn.user_id, payload ->> 'platform', payload -> 'messages'), 'webhook', null);
    v_result := v_part.summary;
    v_refused := v_part.refused;
  end if;
  -- WhatsApp's history backfill: stored as history (coverage source history, its phase),
  -- and read already (history_read): it adds to the conversation, marks nothing unread
  if pg_catalog.jsonb_typeof(payload -> 'history_messages') = 'array'
     and pg_catalog.jsonb_array_length(payload -> 'history_messages') > 0 then
    v_items := v_items + pg_catalog.jsonb_array_length(payload -> 'history_messages');
    v_part := messaging_private.deliver_messages(v_conn.user_id, v_conn.id,
      messaging_private.edits_keep_stored(v_conn.user_id, payload ->> 'platform', payload -> 'history_messages'),
      'history', pg_catalog.left(payload ->> 'history_phase', 64));
    perform messaging_private.history_read(v_conn.user_id, payload -> 'history_messages', v_part.summary -> 'conversations');
    v_result := messaging_private.add_counts(v_result, v_part.summary);
    v_refused := v_refused || v_part.refused;
  end if;
  -- what the delivery says of the connection itself (21_connection_state.sql)
  if payload ? 'connection_state' then
    perform messaging_private.record_connection_state(v_conn, payload -> 'connection_state');
  end if;
  if payload -> 'updates' is not null and payload -> 'updates' <> 'null'::jsonb and payload -> 'updates' <> '[]'::jsonb then
    v_part := messaging_private.deliver_updates(v_conn.user_id, payload -> 'updates');
    v_items := v_items + pg_catalog.jsonb_array_length(payload -> 'updates');
    v_upd := v_part.summary;
    v_refused := v_refused || v_part.refused;
  end if;
  v_failed := pg_catalog.cardinality(v_refused);
  v_refused := v_given || v_refused;
  -- stored (or already stored): at least one item taken, or a delivery with nothing in it
  -- to refuse (an event, a receipt)
  perform messaging_private.record_delivery(v_conn.id, v_items > v_failed or pg_catalog.cardinality(v_refused) = 0,
                                            v_refused, v_result -> 'conversations');
  return v_result || pg_catalog.jsonb_build_object(
    'updates', v_upd,
    'accepted', v_items - v_failed,
    'refused', pg_catalog.to_jsonb(v_refused));
end;
$$;
comment on function messaging_private.webhook_delivery(jsonb) is
  'The privileged body of public.ingest_webhook_delivery: one webhook delivery (messages + updates) in one transaction for the connection''s owner; each message and update that the store refuses is left out and counted on the connection, the rest stored.';
revoke all on function messaging_private.webhook_delivery(jsonb) from public;
grant execute on function messaging_private.webhook_delivery(jsonb) to service_role;
