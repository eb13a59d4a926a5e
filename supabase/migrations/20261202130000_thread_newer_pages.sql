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
  if max_count is null or max_count < 1 or max_count > 1000 then
    raise exception using errcode = '22023', hint = 'max_count_out_of_range',
      message = pg_catalog.format('max_count: must be between 1 and 1000, got %s', max_count);
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
