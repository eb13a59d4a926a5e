-- =============================================================================
-- Reads for the CRM frontend
--
-- get_conversation_messages pages a thread newest-first across the hot row and
-- the archive chunks, so a conversation of any length pages to its first
-- message. It runs as the caller: RLS decides what it can see.
-- =============================================================================

create or replace function public.get_conversation_messages(
  conversation_id uuid,
  before_sent_at timestamptz default null,
  before_id text default null,
  max_count integer default 50
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_msgs jsonb;
  v_page jsonb := '[]'::jsonb;
  v_need integer := max_count;
  v_len integer;
  v_lo integer;
  v_hi integer;
  v_mid integer;
  v_searching boolean := before_sent_at is not null;  -- the cursor may fall inside v_msgs
  -- the next chunk read is the newest whose first message is older than (v_bound_at, v_bound_id)
  v_bound_at timestamptz := coalesce(before_sent_at, 'infinity'::timestamptz);
  v_bound_id text := before_id;
  v_chunk record;
begin
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('page_max_messages') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('page_max_messages'), max_count),
      hint = 'max_count_out_of_range';
  end if;
  if before_id is not null and before_sent_at is null then
    raise exception using errcode = '22023', message = 'before_id: needs before_sent_at', hint = 'cursor_incomplete';
  end if;

  -- `|| '[]'` hands back the array decompressed, so the reads below (a binary search, then
  -- only the elements the page returns) do not decompress it again on every access
  select c.messages || '[]'::jsonb into v_msgs
    from public.chat_conversations c
   where c.id = get_conversation_messages.conversation_id;
  if not found then
    return '[]'::jsonb;  -- no such conversation, or not the caller's
  end if;

  -- The hot row, then the archive chunks newest first: each array is sorted by (sent_at, id),
  -- chunks never overlap and all are older than the hot row. v_hi = how many elements of the
  -- array are strictly older than the (sent_at, id) cursor; the page takes the newest of them.
  loop
    v_len := pg_catalog.jsonb_array_length(v_msgs);
    v_lo := 0;
    v_hi := v_len;
    if v_searching then
      while v_lo < v_hi loop
        v_mid := (v_lo + v_hi) / 2;
        if ((v_msgs -> v_mid ->> 'sent_at')::timestamptz < before_sent_at)
           or (before_id is not null
               and (v_msgs -> v_mid ->> 'sent_at')::timestamptz = before_sent_at
               and (v_msgs -> v_mid ->> 'id') collate "C" < before_id collate "C") then
          v_lo := v_mid + 1;
        else
          v_hi := v_mid;
        end if;
      end loop;
      -- every older array lies wholly before the cursor once one element of this one does
      v_searching := v_hi = 0;
    end if;
    if v_hi > 0 then
      v_page := v_page || (
        select pg_catalog.jsonb_agg(v_msgs -> i.i order by i.i desc)
          from pg_catalog.generate_series(v_hi - 1, greatest(v_hi - v_need, 0), -1) i(i));
      v_need := max_count - pg_catalog.jsonb_array_length(v_page);
    end if;
    exit when v_need <= 0;

    select a.messages || '[]'::jsonb as messages, a.first_message_at, a.first_message_id into v_chunk
      from public.chat_conversation_archives a
     where a.conversation_id = get_conversation_messages.conversation_id
       and (a.first_message_at < v_bound_at
            or (a.first_message_at = v_bound_at and v_bound_id is not null
                and a.first_message_id collate "C" < v_bound_id collate "C"))
     order by a.first_message_at desc, a.first_message_id collate "C" desc
     limit 1;
    exit when not found;
    v_msgs := v_chunk.messages;
    v_bound_at := v_chunk.first_message_at;
    v_bound_id := v_chunk.first_message_id;
  end loop;
  return v_page;
end;
$$;
comment on function public.get_conversation_messages(uuid, timestamptz, text, integer) is
  'A page of a conversation''s messages, newest first, strictly older than the (before_sent_at, before_id) cursor, across the hot row and the archive. Empty for a conversation the caller cannot see.';
revoke all on function public.get_conversation_messages(uuid, timestamptz, text, integer) from public, anon;
grant execute on function public.get_conversation_messages(uuid, timestamptz, text, integer)
  to authenticated, service_role;


-- =============================================================================
-- Newer pages of a thread
--
-- A thread opened at a search hit pages both ways: get_conversation_messages
-- reads older messages, get_conversation_messages_after the newer ones, across
-- the archive chunks and the hot row. It runs as the caller: RLS decides.
-- =============================================================================

create or replace function public.get_conversation_messages_after(
  conversation_id uuid,
  after_sent_at timestamptz,
  after_id text default null,
  max_count integer default 50
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_hot jsonb;
  v_page jsonb := '[]'::jsonb;
  v_more jsonb;
  v_need integer;
  v_chunk record;
begin
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('page_max_messages') then
    raise exception using errcode = '22023', hint = 'max_count_out_of_range',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('page_max_messages'), max_count);
  end if;
  if after_sent_at is null then
    raise exception using errcode = '22023', message = 'after_sent_at: required', hint = 'cursor_incomplete';
  end if;

  select c.messages into v_hot
    from public.chat_conversations c
   where c.id = get_conversation_messages_after.conversation_id;
  if not found then
    return '[]'::jsonb;  -- no such conversation, or not the caller's
  end if;

  -- oldest first, strictly newer than the (sent_at, id) cursor: the archive, then the hot row
  v_need := max_count;
  for v_chunk in
    select a.messages
      from public.chat_conversation_archives a
     where a.conversation_id = get_conversation_messages_after.conversation_id
       and a.last_message_at >= after_sent_at
     order by a.first_message_at, a.first_message_id collate "C"
  loop
    select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord), '[]'::jsonb) into v_more
      from (
        select e.m, e.ord
          from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord)
         where ((e.m ->> 'sent_at')::timestamptz, (e.m ->> 'id') collate "C")
               > (after_sent_at, coalesce(after_id, '') collate "C")
            or (after_id is null and (e.m ->> 'sent_at')::timestamptz > after_sent_at)
         order by e.ord
         limit v_need
      ) p;
    v_page := v_page || v_more;
    v_need := max_count - pg_catalog.jsonb_array_length(v_page);
    exit when v_need <= 0;
  end loop;

  if v_need > 0 then
    select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord), '[]'::jsonb) into v_more
      from (
        select h.m, h.ord
          from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord)
         where (after_id is not null
                and ((h.m ->> 'sent_at')::timestamptz, (h.m ->> 'id') collate "C")
                    > (after_sent_at, after_id collate "C"))
            or (after_id is null and (h.m ->> 'sent_at')::timestamptz > after_sent_at)
         order by h.ord
         limit v_need
      ) p;
    v_page := v_page || v_more;
  end if;
  return v_page;
end;
$$;
comment on function public.get_conversation_messages_after(uuid, timestamptz, text, integer) is
  'A page of a conversation''s messages, oldest first, strictly newer than the (after_sent_at, after_id) cursor, across the archive and the hot row (the other direction of get_conversation_messages). Empty for a conversation the caller cannot see.';
revoke all on function public.get_conversation_messages_after(uuid, timestamptz, text, integer) from public, anon;
grant execute on function public.get_conversation_messages_after(uuid, timestamptz, text, integer)
  to authenticated, service_role;


-- =============================================================================
-- Read markers: mark_conversation_read and mark_conversation_unread live in
-- 32_inbox_changes.sql, beside the marker columns they write (read_message_count).
-- =============================================================================
