-- =============================================================================
-- A person's data: the timeline of every conversation linked to them
--
-- person_timeline pages the messages of all of a person's conversations (every
-- platform, hot rows and archive chunks) in one time order. A page reads only
-- the sources (hot rows and chunks) that can hold its messages: the sources'
-- time ranges and counts say, before any message is read, below which time the
-- page's messages cannot lie.
--
-- The refusals of the person RPCs (32_person_export.sql) are added here; what
-- an erasure keeps is in 15_erased_messages.sql.
-- =============================================================================

insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('person_not_found', 'P0002', 'call', 'Name a person of yours.',
   'A person read, export or erase for a person that does not exist or is not the caller''s (HTTP 404).'),
  ('cursor_invalid', '22023', 'call', 'Pass back a cursor a timeline page returned, and only one of before and after.',
   'A timeline cursor that is not one a page returned, or both before and after.')
on conflict do nothing;

-- -----------------------------------------------------------------------------
-- The timeline: cursors and a page
-- -----------------------------------------------------------------------------

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
