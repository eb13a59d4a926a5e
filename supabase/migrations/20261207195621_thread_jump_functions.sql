-- Written by `make migration` from supabase/schemas; finish the todo lines.

create or replace function public.get_conversation_messages_at(
  conversation_id uuid,
  at timestamptz default null,
  max_count integer default 50
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_from timestamptz := coalesce(at, '-infinity'::timestamptz);
  v_page jsonb := '[]'::jsonb;
  v_need integer := max_count;
  v_chunk record;
  v_oldest jsonb;
begin
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('page_max_messages') then
    raise exception using errcode = '22023', hint = 'max_count_out_of_range',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('page_max_messages'), max_count);
  end if;
  if at = 'infinity'::timestamptz then
    raise exception using errcode = '22023', hint = 'cursor_incomplete',
      message = 'at: must be a time (or null for the first message), got infinity';
  end if;
  if not exists (select from public.chat_conversations c where c.id = get_conversation_messages_at.conversation_id) then
    return '[]'::jsonb;  -- no such conversation, or not the caller's
  end if;

  -- The first chunk to read: the newest one starting before `at` (it may hold `at`), else
  -- the oldest. One probe of the position index, reading no messages.
  select a.first_message_at, a.first_message_id, a.last_message_at into v_chunk
    from public.chat_conversation_archives a
   where a.conversation_id = get_conversation_messages_at.conversation_id
     and a.first_message_at < v_from
   order by a.first_message_at desc, a.first_message_id collate "C" desc
   limit 1;
  if not found or v_chunk.last_message_at < v_from then
    -- it ends before `at`: the next chunk is the first one holding anything at or after it
    select a.first_message_at, a.first_message_id, a.last_message_at into v_chunk
      from public.chat_conversation_archives a
     where a.conversation_id = get_conversation_messages_at.conversation_id
       and a.first_message_at >= v_from
     order by a.first_message_at, a.first_message_id collate "C"
     limit 1;
  end if;

  -- oldest first from that chunk on, then the hot row, until the page is full
  while v_need > 0 and v_chunk.first_message_at is not null loop
    v_page := v_page || (
      select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord), '[]'::jsonb)
        from (select e.m, e.ord
                from public.chat_conversation_archives a,
                     pg_catalog.jsonb_array_elements(a.messages) with ordinality e(m, ord)
               where a.conversation_id = get_conversation_messages_at.conversation_id
                 and a.first_message_at = v_chunk.first_message_at
                 and a.first_message_id collate "C" = v_chunk.first_message_id collate "C"
                 and (e.m ->> 'sent_at')::timestamptz >= v_from
               order by e.ord
               limit v_need) p);
    v_need := max_count - pg_catalog.jsonb_array_length(v_page);
    exit when v_need <= 0;
    select a.first_message_at, a.first_message_id, a.last_message_at into v_chunk
      from public.chat_conversation_archives a
     where a.conversation_id = get_conversation_messages_at.conversation_id
       and (a.first_message_at > v_chunk.first_message_at
            or (a.first_message_at = v_chunk.first_message_at
                and a.first_message_id collate "C" > v_chunk.first_message_id collate "C"))
     order by a.first_message_at, a.first_message_id collate "C"
     limit 1;
    exit when not found;
  end loop;

  if v_need > 0 then
    v_page := v_page || (
      select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord), '[]'::jsonb)
        from (select h.m, h.ord
                from public.chat_conversations c,
                     pg_catalog.jsonb_array_elements(c.messages) with ordinality h(m, ord)
               where c.id = get_conversation_messages_at.conversation_id
                 and (h.m ->> 'sent_at')::timestamptz >= v_from
               order by h.ord
               limit v_need) p);
    v_need := max_count - pg_catalog.jsonb_array_length(v_page);
  end if;
  -- near the end of the thread: the page is filled with the messages just before, so a
  -- jump always shows a full page (and a time after the newest message, the newest page)
  if v_need > 0 then
    v_oldest := v_page -> 0;
    v_page := (select coalesce(pg_catalog.jsonb_agg(o.m order by o.ord desc), '[]'::jsonb)
                 from pg_catalog.jsonb_array_elements(public.get_conversation_messages(
                        get_conversation_messages_at.conversation_id, (v_oldest ->> 'sent_at')::timestamptz,
                        v_oldest ->> 'id', v_need)) with ordinality o(m, ord)) || v_page;
  end if;
  return v_page;
end;
$$;
comment on function public.get_conversation_messages_at(uuid, timestamptz, integer) is
  'A page of a conversation''s messages, oldest first, from the first message sent at or after `at` (null: from the first message of the thread), across the archive and the hot row, reading only the chunks the page needs. Filled with the messages just before when fewer follow `at`. Empty for a conversation the caller cannot see.';
revoke all on function public.get_conversation_messages_at(uuid, timestamptz, integer) from public, anon;
grant execute on function public.get_conversation_messages_at(uuid, timestamptz, integer)
  to authenticated, service_role;

create or replace function public.messaging_connection_conversations()
returns table (connection_id uuid, conversation_count bigint, message_count bigint, last_message_at timestamptz)
language sql
stable
security invoker
set search_path = ''
as $$
  select c.connection_id, pg_catalog.count(*), pg_catalog.sum(c.message_count)::bigint, pg_catalog.max(c.last_message_at)
    from public.chat_conversations c
   where c.connection_id is not null
   group by c.connection_id;
$$;
comment on function public.messaging_connection_conversations() is
  'For each of the caller''s connections with conversations: how many conversations came in on it, their messages and the newest message''s time. The conversations themselves are chat_conversation_list rows with that connection_id.';
revoke all on function public.messaging_connection_conversations() from public, anon;
grant execute on function public.messaging_connection_conversations() to authenticated;
