-- =============================================================================
-- What the connection knows (issue 28)
--
-- Beside messages and updates, a webhook delivery may tell the store about the
-- connection itself (payload connection_state, written by messaging-ingest only when
-- the platform said something): WhatsApp's history backfill (its three phases, their
-- progress, a declined share), Telegram's business connection (enabled, can reply),
-- the kinds and update types the adapters do not know (counted, never refused), and
-- the WhatsApp Business app's own names for numbers (smb_app_state_sync contacts),
-- kept as suggestions for the person picker, never merged into people.
-- A delivery without connection_state pays nothing for any of it.
-- =============================================================================

alter table public.messaging_connections add column history_backfill jsonb
  check (history_backfill is null or pg_catalog.jsonb_typeof(history_backfill) = 'object');
comment on column public.messaging_connections.history_backfill is
  'WhatsApp history backfill: {phases: {"0"|"1"|"2": {progress, chunk_order, at}}, error?: {code, title, details, at}}; null until a history delivery arrives. progress is the highest percentage seen per phase.';
alter table public.messaging_connections add column business_connection jsonb
  check (business_connection is null or pg_catalog.jsonb_typeof(business_connection) = 'object');
comment on column public.messaging_connections.business_connection is
  'Telegram business connection: {id, enabled, can_reply, at} as the last business_connection update said (an older update does not replace a newer one); null until one arrives.';
alter table public.messaging_connections add column unknown_kinds jsonb not null default '{}'::jsonb
  check (pg_catalog.jsonb_typeof(unknown_kinds) = 'object');
comment on column public.messaging_connections.unknown_kinds is
  'Kinds and update types the function does not know, by the platform''s name: {kind: {count, last_at}}. Messages of such kinds are stored as other; update types are stored as nothing. Counted, never refused.';


-- -----------------------------------------------------------------------------
-- The business's names for numbers (WhatsApp Business app contacts)
-- -----------------------------------------------------------------------------

create table public.contact_name_suggestions (
  connection_id uuid not null references public.messaging_connections (id) on delete cascade,
  identifier text not null check (pg_catalog.length(identifier) between 1 and 320),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  platform text not null check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  match_key text not null,
  full_name text not null check (pg_catalog.length(full_name) between 1 and 500),
  first_name text check (pg_catalog.length(first_name) <= 500),
  changed_at timestamptz not null,
  created_at timestamptz not null default pg_catalog.now(),
  primary key (connection_id, identifier)
);
comment on table public.contact_name_suggestions is
  'The name a connected business app gives a number (WhatsApp smb_app_state_sync contacts): a suggestion shown where a user links a conversation to a person, never a link or a merge by itself. A contact removed in the app removes its row.';
comment on column public.contact_name_suggestions.identifier is 'The number as the store keys it (E.164 with +).';
comment on column public.contact_name_suggestions.match_key is
  'messaging_private.subscriber_key(identifier): what a conversation''s participant identifier is compared by.';
comment on column public.contact_name_suggestions.full_name is 'The contact''s name in the business app.';
comment on column public.contact_name_suggestions.first_name is 'The contact''s first name in the business app, when given.';
comment on column public.contact_name_suggestions.changed_at is 'The time of the app''s last add or edit of the contact.';
comment on column public.contact_name_suggestions.created_at is 'When the store first kept the name.';
create index contact_name_suggestions_user_key_idx on public.contact_name_suggestions (user_id, match_key);

alter table public.contact_name_suggestions enable row level security;
revoke all on public.contact_name_suggestions from anon, authenticated, service_role;
grant select, delete on public.contact_name_suggestions to authenticated;
grant select on public.contact_name_suggestions to service_role;

create policy "Users can view the contact names of their own connections" on public.contact_name_suggestions
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can dismiss the contact names of their own connections" on public.contact_name_suggestions
  for delete to authenticated using (user_id = (select auth.uid()));


-- -----------------------------------------------------------------------------
-- Recording a delivery's connection_state
-- -----------------------------------------------------------------------------

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


-- -----------------------------------------------------------------------------
-- History messages are read already
-- -----------------------------------------------------------------------------

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
