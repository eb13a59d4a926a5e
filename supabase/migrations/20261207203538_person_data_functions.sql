-- Written by `make migration` from supabase/schemas; finish the todo lines.

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
  delete from public.chat_conversations c where c.id = any (v_convs);
  delete from public.people p where p.id = person;
  return pg_catalog.jsonb_build_object('person_id', person,
    'conversations', coalesce(pg_catalog.cardinality(v_convs), 0), 'messages', v_messages);
end;
$$;
comment on function messaging_private.erase_person(uuid) is
  'The privileged body of public.erase_person: the caller''s own person (service_role: any) or person_not_found.';
revoke all on function messaging_private.erase_person(uuid) from public, anon;
grant execute on function messaging_private.erase_person(uuid) to authenticated, service_role;

create or replace function messaging_private.erased_key(owner uuid, platform text, conversation text, message_id text)
returns bytea
language sql
immutable
parallel safe
set search_path = ''
as $$
  select pg_catalog.sha256(pg_catalog.convert_to(
    pg_catalog.concat_ws(E'\x1f', owner::text, platform, conversation, message_id), 'UTF8'));
$$;
comment on function messaging_private.erased_key(uuid, text, text, text) is
  'SHA-256 of owner, platform, external conversation id and message id (the conversation''s own key when message_id is null): what an erasure keeps instead of the ids.';
revoke all on function messaging_private.erased_key(uuid, text, text, text) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_drop_erased(owner uuid, groups jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- Ingest: the groups without the messages an erasure removed. One index probe when the
-- owner never erased anyone; else one indexed lookup of all the batch's hashes. A dropped
-- message counts as a duplicate of its group (a group left empty is dropped whole).
declare
  v_erased bytea[];
begin
  if not exists (select 1 from messaging_private.erased_messages e where e.user_id = owner) then
    return groups;
  end if;
  select pg_catalog.array_agg(e.message_key) into v_erased
    from messaging_private.erased_messages e
   where e.user_id = owner
     and e.message_key = any (array(
       select messaging_private.erased_key(owner, g.x ->> 'platform', g.x ->> 'external_conversation_id', m.x ->> 'id')
         from pg_catalog.jsonb_array_elements(groups) g(x), pg_catalog.jsonb_array_elements(g.x -> 'messages') m(x)));
  if v_erased is null then
    return groups;
  end if;
  return (
    select coalesce(pg_catalog.jsonb_agg(k.g || pg_catalog.jsonb_build_object('messages', k.msgs,
             'batch_duplicates', (k.g ->> 'batch_duplicates')::integer + k.dropped) order by k.ord), '[]'::jsonb)
      from (
        select g.x as g, g.ord, f.msgs, f.dropped
          from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
          cross join lateral (
            select pg_catalog.jsonb_agg(m.x order by m.ord) filter (where not m.gone) as msgs,
                   pg_catalog.count(*) filter (where m.gone) as dropped
              from (select e.x, e.ord,
                           messaging_private.erased_key(owner, g.x ->> 'platform', g.x ->> 'external_conversation_id',
                             e.x ->> 'id') = any (v_erased) as gone
                      from pg_catalog.jsonb_array_elements(g.x -> 'messages') with ordinality e(x, ord)) m
          ) f
      ) k
     where k.msgs is not null
  );
end;
$$;
comment on function messaging_private.ingest_drop_erased(uuid, jsonb) is
  'Ingest: drops from the grouped batch the messages erase_person erased (by their hash in erased_messages), counting them as duplicates; the groups unchanged when the owner erased nobody.';
revoke all on function messaging_private.ingest_drop_erased(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
-- Validates, then owner, references and groups; creates the new conversations, counts
-- the repeated ones and stores the rest per conversation (the ingest_* steps); indexes
-- what was stored for search. The strategies' thresholds are settings (ingest_settings).
declare
  v_owner uuid;
  v_connection uuid;
  v_total integer;
  v_groups jsonb;
  v_set record;
  v_unchanged jsonb;
  v_new record;      -- what each strategy returns
  v_repeats record;
  v_each record;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append, quadratic over 10,000 conversations)
  v_results jsonb[];
  v_index jsonb[];
  v_repeated bigint[] := '{}'::bigint[];
  v_inserted integer;
  v_dups integer;
  v_updated integer := 0;
  v_matched integer := 0;
begin
  v_total := messaging_private.ingest_check_shape(payload);
  v_owner := messaging_private.ingest_owner(payload);
  v_set := messaging_private.ingest_settings();
  perform messaging_private.ingest_check_fields(payload);
  v_connection := messaging_private.ingest_references(payload, v_owner);
  if v_total = 0 then
    return pg_catalog.jsonb_build_object('inserted', 0, 'duplicates', 0, 'updated', 0, 'matched', 0,
      'conversations', '[]'::jsonb);
  end if;

  -- a batch that changes nothing (an export sent again): its answer, no write (not for
  -- a few messages, the live case: new ones, which the proof would only delay)
  if v_total > v_set.unchanged_past then
    v_unchanged := messaging_private.ingest_unchanged(payload, v_owner, v_connection);
    if v_unchanged is not null then
      perform messaging_private.ingest_synced(v_connection);
      return v_unchanged;
    end if;
  end if;

  v_groups := messaging_private.ingest_groups(payload);
  v_groups := messaging_private.ingest_drop_erased(v_owner, v_groups);  -- erased messages never return
  v_new := messaging_private.ingest_create(v_owner, v_connection, v_groups, v_set.hot_max, v_set.hot_bytes);
  v_results := v_new.results;
  v_index := v_new.index;
  v_inserted := v_new.inserted;
  v_dups := v_new.duplicates;
  -- (one existing conversation, the live case, is locked as ingest_existing reads it)
  if v_new.existing > 1 then
    perform messaging_private.ingest_lock_existing(v_owner, v_new.marked_groups);
  end if;

  -- conversations a batch only repeats, all at once. Only for batches over many existing
  -- conversations: for a few (live traffic, one message a call) the check reads every hot
  -- row once more than ingest_existing does (figures in bench/HISTORY.md).
  if v_new.existing > v_set.repeats_past then
    v_repeats := messaging_private.ingest_repeats(v_owner, v_connection, v_new.marked_groups);
    v_results := v_results || v_repeats.results;
    v_dups := v_dups + v_repeats.duplicates;
    v_repeated := v_repeats.positions;
  end if;

  if v_new.existing > pg_catalog.cardinality(v_repeated) then
    v_each := messaging_private.ingest_existing(v_owner, v_connection, v_new.marked_groups, v_repeated,
      v_new.existing = 1, v_set.hot_max, v_set.hot_bytes, v_set.few);
    v_results := v_results || v_each.results;
    v_index := v_index || v_each.index;
    v_inserted := v_inserted + v_each.inserted;
    v_dups := v_dups + v_each.duplicates;
    v_updated := v_each.updated;
    v_matched := v_each.matched;
  end if;

  -- the search segments of every conversation at once
  if pg_catalog.cardinality(v_index) > 0 then
    perform messaging_private.index_batches(v_owner, pg_catalog.to_jsonb(v_index));
  end if;
  perform messaging_private.ingest_synced(v_connection);

  return pg_catalog.jsonb_build_object(
    'inserted', v_inserted,
    'duplicates', v_dups,
    'updated', v_updated,
    'matched', v_matched,
    'conversations', (select coalesce(pg_catalog.jsonb_agg(r.x order by r.x ->> 'platform', r.x ->> 'external_conversation_id'),
                                      '[]'::jsonb)
                        from pg_catalog.unnest(v_results) r(x)));
end;
$$;
comment on function messaging_private.ingest_messages(jsonb) is
  'The privileged body of public.ingest_messages: validates, then owner, references, groups, and per conversation dedupe, edits, merge and summary (the ingest_* parts).';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;

create or replace function messaging_private.person_not_found(person uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
-- person_not_found: HTTP 404 through PostgREST, SQLSTATE P0002 in SQL
begin
  if pg_catalog.current_setting('request.method', true) <> '' then
    raise sqlstate 'PGRST' using
      message = pg_catalog.jsonb_build_object('code', 'P0002', 'hint', 'person_not_found', 'details', null,
        'message', pg_catalog.format('person_id: no such person (%s)', person))::text,
      detail = '{"status": 404, "headers": {}}';
  end if;
  raise exception using errcode = 'P0002', hint = 'person_not_found',
    message = pg_catalog.format('person_id: no such person (%s)', person);
end;
$$;
comment on function messaging_private.person_not_found(uuid) is
  'Raises person_not_found for a person (P0002; HTTP 404 through PostgREST).';
revoke all on function messaging_private.person_not_found(uuid) from public, anon;
grant execute on function messaging_private.person_not_found(uuid) to authenticated, service_role;

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

create or replace function messaging_private.timeline_cursor(
  cursor text, out sent_at timestamptz, out conversation_id uuid, out message_id text)
language plpgsql
immutable
set search_path = ''
as $$
-- A cursor is `<sent_at as stored>|<conversation id>|<message id>` (the id may hold `|`).
begin
  if cursor is null then
    return;
  end if;
  if cursor !~ '^[0-9T:.+Z -]{10,40}\|[0-9a-f-]{36}\|.' then
    raise exception using errcode = '22023', hint = 'cursor_invalid',
      message = pg_catalog.format('cursor: not a timeline cursor (%s)', pg_catalog.left(cursor, 80));
  end if;
  begin
    sent_at := pg_catalog.split_part(cursor, '|', 1)::timestamptz;
    conversation_id := pg_catalog.split_part(cursor, '|', 2)::uuid;
  exception when others then
    raise exception using errcode = '22023', hint = 'cursor_invalid',
      message = pg_catalog.format('cursor: not a timeline cursor (%s)', pg_catalog.left(cursor, 80));
  end;
  message_id := pg_catalog.substr(cursor, pg_catalog.length(pg_catalog.split_part(cursor, '|', 1)) + 39);
end;
$$;
comment on function messaging_private.timeline_cursor(text) is
  'Parses a person_timeline cursor (sent_at|conversation id|message id); cursor_invalid when it is not one.';
revoke all on function messaging_private.timeline_cursor(text) from public, anon;
grant execute on function messaging_private.timeline_cursor(text) to authenticated, service_role;

create or replace function messaging_private.timeline_item(conversation uuid, platform text, name text, m jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object('conversation_id', conversation, 'platform', platform,
    'participant_name', name, 'message', m,
    'cursor', pg_catalog.concat_ws('|', m ->> 'sent_at', conversation::text, m ->> 'id'));
$$;
comment on function messaging_private.timeline_item(uuid, text, text, jsonb) is
  'One timeline entry: conversation_id, platform, participant_name, message and its cursor.';
revoke all on function messaging_private.timeline_item(uuid, text, text, jsonb) from public, anon;
grant execute on function messaging_private.timeline_item(uuid, text, text, jsonb) to authenticated, service_role;

create or replace function messaging_private.timeline_page(
  person uuid, at timestamptz, conversation uuid, message_id text, older boolean, wanted integer)
returns setof jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
-- The `wanted` messages of the person's conversations next to the (at, conversation,
-- message_id) cursor: older ones newest first, or newer ones oldest first. Sources are the
-- hot rows and archive chunks on the cursor's side. Pass 1 reads the hot rows and the
-- chunks that span the cursor (at most one a conversation); the `wanted`-th message found
-- bounds the page's time. The sources wholly past the cursor are bounded as well by their
-- counts: taken in order from the cursor, the first that hold `wanted` messages bound it by
-- their earliest first time (latest last time going newer). Pass 2 reads only the sources
-- wholly past the cursor that reach both bounds.
declare
  v_edge timestamptz := coalesce(at, case when older then 'infinity'::timestamptz else '-infinity'::timestamptz end);
  v_convs uuid[];
  v_chunks uuid[];
  v_firsts timestamptz[];
  v_lasts timestamptz[];
  v_counts integer[];
  v_near jsonb[];         -- pass 1's page
  v_bound timestamptz;    -- pass 1's bound
  v_counted timestamptz;  -- the counts' bound
  v_read_convs uuid[];    -- the sources a pass reads
  v_read_chunks uuid[];
begin
  select pg_catalog.array_agg(s.conversation_id), pg_catalog.array_agg(s.chunk), pg_catalog.array_agg(s.first_at),
         pg_catalog.array_agg(s.last_at), pg_catalog.array_agg(s.n)
    into v_convs, v_chunks, v_firsts, v_lasts, v_counts
    from (
      select c.id, null::uuid, (c.messages -> 0 ->> 'sent_at')::timestamptz, c.last_message_at,
             pg_catalog.jsonb_array_length(c.messages)
        from public.chat_conversations c
       where c.person_id = person and c.last_message_at is not null
      union all
      select a.conversation_id, a.id, a.first_message_at, a.last_message_at, a.message_count
        from public.chat_conversations c
        join public.chat_conversation_archives a on a.conversation_id = c.id
       where c.person_id = person
         and (case when older then a.first_message_at <= v_edge else a.last_message_at >= v_edge end)
    ) s(conversation_id, chunk, first_at, last_at, n)
   where s.first_at is not null
     and (case when older then s.first_at <= v_edge else s.last_at >= v_edge end);
  if v_convs is null then
    return;
  end if;

  -- pass 1: hot rows and the chunks spanning the cursor
  select pg_catalog.array_agg(t.c order by t.c, t.k), pg_catalog.array_agg(t.k order by t.c, t.k)
    into v_read_convs, v_read_chunks
    from rows from (pg_catalog.unnest(v_convs), pg_catalog.unnest(v_chunks), pg_catalog.unnest(v_firsts),
                    pg_catalog.unnest(v_lasts)) t(c, k, f, l)
   where t.k is null or (case when older then t.l >= v_edge else t.f <= v_edge end);
  v_near := array(select r.item from messaging_private.timeline_read(v_read_convs, v_read_chunks, at, conversation,
    message_id, older, wanted) r(item) where v_read_convs is not null);
  if pg_catalog.cardinality(v_near) = wanted then
    v_bound := (v_near[wanted] #>> '{message,sent_at}')::timestamptz;
  end if;

  -- the counts' bound over the chunks wholly past the cursor
  select r.bound into v_counted from (
    select case when older then pg_catalog.min(t.f) over w else pg_catalog.max(t.l) over w end as bound,
           pg_catalog.sum(t.n) over w as surely
      from rows from (pg_catalog.unnest(v_chunks), pg_catalog.unnest(v_firsts), pg_catalog.unnest(v_lasts),
                      pg_catalog.unnest(v_counts)) t(k, f, l, n)
     where t.k is not null and (case when older then t.l < v_edge else t.f > v_edge end)
    window w as (order by (case when older then t.l end) desc, (case when older then t.f end) desc,
                          (case when not older then t.f end), (case when not older then t.l end)
                 rows unbounded preceding)) r
   where r.surely >= wanted limit 1;

  -- pass 2: the chunks wholly past the cursor that reach both bounds
  select pg_catalog.array_agg(t.c order by t.c, t.k), pg_catalog.array_agg(t.k order by t.c, t.k)
    into v_read_convs, v_read_chunks
    from rows from (pg_catalog.unnest(v_convs), pg_catalog.unnest(v_chunks), pg_catalog.unnest(v_firsts),
                    pg_catalog.unnest(v_lasts)) t(c, k, f, l)
   where t.k is not null
     and (case when older then t.l < v_edge and t.l >= greatest(v_bound, v_counted, '-infinity'::timestamptz)
               else t.f > v_edge and t.f <= least(v_bound, v_counted, 'infinity'::timestamptz) end);

  return query
  select x.item from (
    select n.item from pg_catalog.unnest(v_near) n(item)
    union all
    select r.item from messaging_private.timeline_read(v_read_convs, v_read_chunks, at, conversation, message_id,
      older, wanted) r(item)
     where v_read_convs is not null
  ) x
  order by (case when older then (x.item #>> '{message,sent_at}')::timestamptz end) desc,
           (case when older then (x.item ->> 'conversation_id')::uuid end) desc,
           (case when older then (x.item #>> '{message,id}') collate "C" end) desc,
           (x.item #>> '{message,sent_at}')::timestamptz, (x.item ->> 'conversation_id')::uuid,
           (x.item #>> '{message,id}') collate "C"
  limit wanted;
end;
$$;
comment on function messaging_private.timeline_page(uuid, timestamptz, uuid, text, boolean, integer) is
  'person_timeline''s page without a query: reads only the hot rows and archive chunks that can hold it (see the function), under the caller''s RLS.';
revoke all on function messaging_private.timeline_page(uuid, timestamptz, uuid, text, boolean, integer) from public, anon;
grant execute on function messaging_private.timeline_page(uuid, timestamptz, uuid, text, boolean, integer) to authenticated, service_role;

create or replace function messaging_private.timeline_read(
  convs uuid[], chunks uuid[], at timestamptz, conversation uuid, message_id text, older boolean, wanted integer)
returns setof jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
-- The `wanted` messages of the given sources (a hot row where chunks[i] is null, else that
-- archive chunk of convs[i]) next to the cursor: newest first going older, oldest first
-- going newer; as timeline items.
begin
  return query
  select messaging_private.timeline_item(x.conversation_id, x.platform, x.participant_name, x.m)
    from (
      select t.conversation_id, c.platform, c.participant_name, e.m,
             (e.m ->> 'sent_at')::timestamptz as sent, (e.m ->> 'id') collate "C" as mid
        from rows from (pg_catalog.unnest(convs), pg_catalog.unnest(chunks)) t(conversation_id, chunk)
        join public.chat_conversations c on c.id = t.conversation_id
        cross join lateral pg_catalog.jsonb_array_elements(case when t.chunk is null then c.messages
          else (select a.messages from public.chat_conversation_archives a where a.id = t.chunk) end) e(m)
    ) x
   where at is null
      or (older and (x.sent, x.conversation_id, x.mid) < (at, conversation, message_id collate "C"))
      or (not older and (x.sent, x.conversation_id, x.mid) > (at, conversation, message_id collate "C"))
   order by (case when older then x.sent end) desc, (case when older then x.conversation_id end) desc,
            (case when older then x.mid end) desc,
            x.sent, x.conversation_id, x.mid
   limit wanted;
end;
$$;
comment on function messaging_private.timeline_read(uuid[], uuid[], timestamptz, uuid, text, boolean, integer) is
  'person_timeline''s reader: the messages of some hot rows and archive chunks next to a cursor, in page order.';
revoke all on function messaging_private.timeline_read(uuid[], uuid[], timestamptz, uuid, text, boolean, integer) from public, anon;
grant execute on function messaging_private.timeline_read(uuid[], uuid[], timestamptz, uuid, text, boolean, integer)
  to authenticated, service_role;

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
