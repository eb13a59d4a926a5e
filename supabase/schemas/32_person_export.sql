-- =============================================================================
-- A person's data through the API: person_timeline, export_person, erase_person
--
-- The timeline and the export run as the caller (row-level security decides what
-- they see); erase_person writes the content-free record of 31_person_data.sql,
-- which no API role may touch, so its body is a security definer in
-- messaging_private that checks the owner itself.
-- =============================================================================


create or replace function messaging_private.person_owner(person uuid)
returns uuid
language plpgsql
stable
security invoker
set search_path = ''
as $$
-- The owner of a person the caller can see (RLS; service_role sees every person), or
-- person_not_found.
declare
  v_owner uuid;
begin
  select p.user_id into v_owner from public.people p where p.id = person;
  if v_owner is null then
    perform messaging_private.person_not_found(person);
  end if;
  return v_owner;
end;
$$;
comment on function messaging_private.person_owner(uuid) is
  'The user_id of a person the caller can see; person_not_found (P0002, HTTP 404) otherwise.';
revoke all on function messaging_private.person_owner(uuid) from public, anon;
grant execute on function messaging_private.person_owner(uuid) to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- person_timeline
-- -----------------------------------------------------------------------------

create or replace function public.person_timeline(
  person_id uuid,
  before text default null,
  after text default null,
  query text default null,
  max_count integer default 50
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_owner uuid;
  v_cur record;
  v_older boolean := after is null;
  v_items jsonb[];
  v_more boolean;
begin
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('page_max_messages') then
    raise exception using errcode = '22023', hint = 'max_count_out_of_range',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('page_max_messages'), max_count);
  end if;
  if before is not null and after is not null then
    raise exception using errcode = '22023', hint = 'cursor_invalid',
      message = 'before, after: give one cursor, not both';
  end if;
  v_cur := messaging_private.timeline_cursor(coalesce(before, after));
  v_owner := messaging_private.person_owner(person_timeline.person_id);

  if pg_catalog.btrim(coalesce(query, '')) = '' then
    v_items := array(select i.item from messaging_private.timeline_page(person_timeline.person_id, v_cur.sent_at,
      v_cur.conversation_id, v_cur.message_id, v_older, max_count + 1) i(item));
  else
    -- matches in time order: the search's hits on the cursor's side (it finds the newest
    -- matching lines first), ordered and cut here
    v_items := array(
      select messaging_private.timeline_item((h.hit ->> 'conversation_id')::uuid, h.hit ->> 'platform',
               h.hit ->> 'participant_name', h.hit -> 'message') || pg_catalog.jsonb_build_object('snippet', h.hit -> 'snippet')
        from messaging_private.search_messages(query, person_timeline.person_id,
               messaging_private.contract_limit('search_max_hits')::integer, null::text,
               case when not v_older then v_cur.sent_at - interval '1 millisecond' end,
               case when v_older then v_cur.sent_at + interval '1 millisecond' end, null::text, v_owner) h(hit)
       where v_cur.sent_at is null
          or (v_older and ((h.hit #>> '{message,sent_at}')::timestamptz, (h.hit ->> 'conversation_id')::uuid,
                           (h.hit #>> '{message,id}') collate "C")
                          < (v_cur.sent_at, v_cur.conversation_id, v_cur.message_id collate "C"))
          or (not v_older and ((h.hit #>> '{message,sent_at}')::timestamptz, (h.hit ->> 'conversation_id')::uuid,
                               (h.hit #>> '{message,id}') collate "C")
                              > (v_cur.sent_at, v_cur.conversation_id, v_cur.message_id collate "C"))
       order by (case when v_older then (h.hit #>> '{message,sent_at}')::timestamptz end) desc,
                (case when v_older then h.hit ->> 'conversation_id' end) desc,
                (case when v_older then (h.hit #>> '{message,id}') collate "C" end) desc,
                (h.hit #>> '{message,sent_at}')::timestamptz, h.hit ->> 'conversation_id',
                (h.hit #>> '{message,id}') collate "C"
       limit max_count + 1);
  end if;

  v_more := pg_catalog.cardinality(v_items) > max_count;
  v_items := v_items[1:max_count];
  if v_older then
    -- newest first as read: the page is shown oldest first
    v_items := array(select x from pg_catalog.unnest(v_items) with ordinality u(x, o) order by u.o desc);
  end if;
  return pg_catalog.jsonb_build_object(
    'messages', coalesce(pg_catalog.to_jsonb(v_items), '[]'::jsonb),
    'older', case when (v_older and v_more) or (not v_older and pg_catalog.cardinality(v_items) > 0)
                  then v_items[1] ->> 'cursor'
                  when not v_older then after end,
    'newer', case when (not v_older and v_more) or (v_older and before is not null and pg_catalog.cardinality(v_items) > 0)
                  then v_items[pg_catalog.cardinality(v_items)] ->> 'cursor'
                  when v_older and before is not null then before end);
end;
$$;
comment on function public.person_timeline(uuid, text, text, text, integer) is
  'The messages of every conversation of a person (all platforms, hot rows and archive) in time order, oldest first in a page: {messages: [{conversation_id, platform, participant_name, message, cursor}], older, newer} with the cursors of the pages either side (null at an end). before/after: a cursor of a page; query: only matches (with snippet). person_not_found for a person that is not the caller''s.';
revoke all on function public.person_timeline(uuid, text, text, text, integer) from public, anon;
grant execute on function public.person_timeline(uuid, text, text, text, integer) to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- export_person
-- -----------------------------------------------------------------------------

create or replace function public.export_person(person_id uuid)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_convs jsonb;
begin
  perform messaging_private.person_owner(export_person.person_id);
  -- every message of each conversation, oldest first: archive chunks in order, then the hot row
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(l) || pg_catalog.jsonb_build_object('messages',
           coalesce((select pg_catalog.jsonb_agg(e.m order by a.first_message_at, a.first_message_id collate "C", e.o)
                       from public.chat_conversation_archives a,
                            pg_catalog.jsonb_array_elements(a.messages) with ordinality e(m, o)
                      where a.conversation_id = l.id), '[]'::jsonb)
           || (select c.messages from public.chat_conversations c where c.id = l.id))
         order by l.platform, l.first_message_at, l.id), '[]'::jsonb)
    into v_convs
    from public.chat_conversation_list l
   where l.person_id = export_person.person_id;
  return pg_catalog.jsonb_build_object(
    'format', 'crm-messaging person export 1',
    'exported_at', pg_catalog.now(),
    'person', (select pg_catalog.to_jsonb(p) from public.people p where p.id = export_person.person_id),
    'identifiers', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(i) order by i.kind, i.value), '[]'::jsonb)
                      from public.person_identifiers i where i.person_id = export_person.person_id),
    'conversations', v_convs,
    'media', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'conversation_id', c.x ->> 'id', 'message_id', m.x ->> 'id', 'type', m.x ->> 'type',
                'media_url', m.x ->> 'media_url', 'sha256', m.x #>> '{metadata,sha256}')), '[]'::jsonb)
                from pg_catalog.jsonb_array_elements(v_convs) c(x),
                     pg_catalog.jsonb_array_elements(c.x -> 'messages') m(x)
               where m.x ->> 'media_url' is not null or m.x #> '{metadata,sha256}' is not null));
end;
$$;
comment on function public.export_person(uuid) is
  'Everything the store holds about one of the caller''s people as one JSON document: person, identifiers, conversations (each with every message, archive included, oldest first) and media references. person_not_found otherwise.';
revoke all on function public.export_person(uuid) from public, anon;
grant execute on function public.export_person(uuid) to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- erase_person
-- -----------------------------------------------------------------------------

create or replace function messaging_private.erase_person(person uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
-- Removes the person, their identifiers and every conversation linked to them (hot rows,
-- archive chunks, search segments and read markers go with it: on delete cascade), scrubs
-- a connection's last error that names one of their identifiers, forgets the WeChat nonces
-- of those connections, and keeps one content-free row per conversation (hashes).
declare
  v_role text := coalesce(auth.jwt() ->> 'role', case when session_user = 'authenticator' then 'anon' else 'service_role' end);
  v_owner uuid;
  v_values text[];
  v_convs uuid[];
  v_messages bigint := 0;
begin
  select p.user_id into v_owner from public.people p
   where p.id = person and (v_role = 'service_role' or p.user_id = (select auth.uid()))
   for update;
  if v_owner is null or v_role not in ('authenticated', 'service_role') then
    perform messaging_private.person_not_found(person);
  end if;
  -- locked: a message ingested into them meanwhile waits, and is erased with them
  v_convs := array(select c.id from public.chat_conversations c
                    where c.person_id = person and c.user_id = v_owner order by c.id for update);
  select pg_catalog.array_agg(distinct v.value) into v_values from (
    select i.value from public.person_identifiers i where i.person_id = person
    union all select c.participant_identifier from public.chat_conversations c where c.id = any (v_convs)
    union all select c.external_conversation_id from public.chat_conversations c where c.id = any (v_convs)
    union all select p.phone from public.people p where p.id = person
    union all select p.email from public.people p where p.id = person
  ) v where pg_catalog.length(v.value) >= 3;

  with rec as (
    insert into messaging_private.erased_conversations (user_id, platform, conversation_key, participant_key, message_count)
    select v_owner, c.platform, messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, null),
           case when c.participant_identifier is not null then
             pg_catalog.sha256(pg_catalog.convert_to(v_owner::text || E'\x1f' || c.participant_identifier, 'UTF8')) end,
           c.message_count
      from public.chat_conversations c where c.id = any (v_convs)
    returning id, platform, conversation_key
  ), keys as (
    insert into messaging_private.erased_messages (user_id, message_key, erasure_id)
    select v_owner, messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, m.x ->> 'id'), r.id
      from public.chat_conversations c
      join rec r on r.conversation_key = messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, null)
      cross join lateral (
        select h.x from pg_catalog.jsonb_array_elements(c.messages) h(x)
        union all
        select e.x from public.chat_conversation_archives a, pg_catalog.jsonb_array_elements(a.messages) e(x)
         where a.conversation_id = c.id) m
     where c.id = any (v_convs)
    on conflict do nothing
    returning 1
  )
  select pg_catalog.count(*) into v_messages from keys;

  update public.messaging_connections mc set last_error = '(erased)'
   where mc.user_id = v_owner and mc.last_error is not null
     and exists (select 1 from pg_catalog.unnest(v_values) v(value)
                  where pg_catalog.strpos(mc.last_error, v.value) > 0
                     or pg_catalog.strpos(mc.last_error, pg_catalog.ltrim(v.value, '+')) > 0);
  delete from messaging_private.webhook_nonces n
   where n.connection_id in (select c.connection_id from public.chat_conversations c where c.id = any (v_convs));
  -- the updates kept for their messages (reactors, voters: 15_pending_updates.sql) go too
  delete from messaging_private.pending_updates p
   where p.user_id = v_owner
     and (p.platform, p.external_conversation_id) in (
       select c.platform, c.external_conversation_id from public.chat_conversations c where c.id = any (v_convs));
  delete from public.chat_conversations c where c.id = any (v_convs);
  -- the people merged into this one are the same customer (their row is kept by a standing
  -- merge, their identifiers and conversations were moved here): erased too
  delete from public.people p
   where p.user_id = v_owner and p.id in (select m.other_id from messaging_private.person_merges m
                                            where m.keep_id = person and m.undone_at is null);
  delete from public.people p where p.id = person;
  return pg_catalog.jsonb_build_object('person_id', person,
    'conversations', coalesce(pg_catalog.cardinality(v_convs), 0), 'messages', v_messages);
end;
$$;
comment on function messaging_private.erase_person(uuid) is
  'The privileged body of public.erase_person: the caller''s own person (service_role: any) or person_not_found.';
revoke all on function messaging_private.erase_person(uuid) from public, anon;
grant execute on function messaging_private.erase_person(uuid) to authenticated, service_role;

create or replace function public.erase_person(person_id uuid)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  return messaging_private.erase_person(person_id);
end;
$$;
comment on function public.erase_person(uuid) is
  'Erases one of the caller''s people: the person, their identifiers and every conversation linked to them (messages in hot rows and archive, search index, read markers), a connection''s last error naming them; keeps a content-free record (hashes) so a re-import of the same messages stores nothing, while new messages still arrive. Returns {person_id, conversations, messages}. person_not_found otherwise.';
revoke all on function public.erase_person(uuid) from public, anon;
grant execute on function public.erase_person(uuid) to authenticated, service_role;
