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
  v_hot jsonb;
  v_page jsonb := '[]'::jsonb;
  v_more jsonb;
  v_need integer;
  v_chunk record;
  v_cursor_at timestamptz := coalesce(before_sent_at, 'infinity'::timestamptz);
  v_cursor_id text := before_id;
begin
  if max_count is null or max_count < 1 or max_count > 1000 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and 1000, got %s', max_count),
      hint = 'max_count_out_of_range';
  end if;
  if before_id is not null and before_sent_at is null then
    raise exception using errcode = '22023', message = 'before_id: needs before_sent_at', hint = 'cursor_incomplete';
  end if;

  select c.messages into v_hot
    from public.chat_conversations c
   where c.id = get_conversation_messages.conversation_id;
  if not found then
    return '[]'::jsonb;  -- no such conversation, or not the caller's
  end if;

  -- newest first, strictly older than the (sent_at, id) cursor
  select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord desc), '[]'::jsonb) into v_page
    from (
      select h.m, h.ord
        from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord)
       where ((h.m ->> 'sent_at')::timestamptz, (h.m ->> 'id') collate "C")
             < (v_cursor_at, coalesce(v_cursor_id, '') collate "C")
          or (v_cursor_id is null and (h.m ->> 'sent_at')::timestamptz < v_cursor_at)
       order by h.ord desc
       limit max_count
    ) p;

  v_need := max_count - pg_catalog.jsonb_array_length(v_page);
  if v_need > 0 then
    for v_chunk in
      select a.messages
        from public.chat_conversation_archives a
       where a.conversation_id = get_conversation_messages.conversation_id
         and (a.first_message_at < v_cursor_at
              or (a.first_message_at = v_cursor_at and v_cursor_id is not null
                  and a.first_message_id collate "C" < v_cursor_id collate "C"))
       order by a.first_message_at desc, a.first_message_id collate "C" desc
    loop
      select coalesce(pg_catalog.jsonb_agg(p.m order by p.ord desc), '[]'::jsonb) into v_more
        from (
          select e.m, e.ord
            from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord)
           where (v_cursor_id is not null
                  and ((e.m ->> 'sent_at')::timestamptz, (e.m ->> 'id') collate "C")
                      < (v_cursor_at, v_cursor_id collate "C"))
              or (v_cursor_id is null and (e.m ->> 'sent_at')::timestamptz < v_cursor_at)
           order by e.ord desc
           limit v_need
        ) p;
      v_page := v_page || v_more;
      v_need := max_count - pg_catalog.jsonb_array_length(v_page);
      exit when v_need <= 0;
    end loop;
  end if;
  return v_page;
end;
$$;
comment on function public.get_conversation_messages(uuid, timestamptz, text, integer) is
  'A page of a conversation''s messages, newest first, strictly older than the (before_sent_at, before_id) cursor, across the hot row and the archive. Empty for a conversation the caller cannot see.';
revoke all on function public.get_conversation_messages(uuid, timestamptz, text, integer) from public, anon;
grant execute on function public.get_conversation_messages(uuid, timestamptz, text, integer)
  to authenticated, service_role;
