-- =============================================================================
-- Coverage, read: conversation_coverage(conversation_id)
--
-- Where a conversation's history comes from: its sources (chat_conversation_sources, kept
-- by ingest_messages, 15_coverage_record.sql) with the spans they cover and their counts,
-- and the gaps no source covers. docs/contract.md "Coverage".
-- =============================================================================

create or replace function public.conversation_coverage(conversation_id uuid)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
-- Under the caller's row-level security: a conversation that is not theirs is not found.
-- A source covers [first_message_at, last_message_at], but a live webhook covers from its
-- first message onwards (covers_until null: ongoing). The gaps are the spans of at least a
-- minute (an export's times are to the minute) between the conversation's first and last
-- message that no source covers. A conversation stored before coverage was recorded, with
-- no source row, answers one source of kind unknown spanning its stored messages. matched:
-- the copies paired between sources, counted in the stored messages (metadata.matched).
declare
  v_conv record;
begin
  select c.id, c.platform, c.external_conversation_id, c.first_message_at, c.last_message_at,
         c.message_count, c.created_at, c.updated_at
    into v_conv
    from public.chat_conversations c
   where c.id = conversation_coverage.conversation_id;
  if not found then
    perform messaging_private.conversation_not_found(conversation_id);
  end if;
  return (
    with src as (
      select s.kind, s.name, s.phase, s.connection_id, s.first_message_at, s.last_message_at,
             s.inserted, s.duplicates, s.updated, s.matched, s.batches, s.first_seen_at, s.last_seen_at
        from public.chat_conversation_sources s
       where s.conversation_id = v_conv.id
      union all
      select 'unknown', '', '', null::uuid, v_conv.first_message_at, v_conv.last_message_at,
             v_conv.message_count::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, v_conv.created_at, v_conv.updated_at
       where v_conv.first_message_at is not null
         and not exists (select 1 from public.chat_conversation_sources s where s.conversation_id = v_conv.id)
    ),
    spans as (
      select x.first_message_at as s_from,
             case when x.kind = 'webhook' then greatest(x.last_message_at, v_conv.last_message_at)
                  else x.last_message_at end as s_to
        from src x
      union all
      -- the conversation's own ends, so a span before the first source or after the last shows
      select v_conv.first_message_at, v_conv.first_message_at where v_conv.first_message_at is not null
      union all
      select v_conv.last_message_at, v_conv.last_message_at where v_conv.last_message_at is not null
    ),
    running as (
      select p.s_from, pg_catalog.max(p.s_to) over (order by p.s_from, p.s_to
               rows between unbounded preceding and 1 preceding) as covered_to
        from spans p
    ),
    gaps as (
      select r.covered_to as g_from, r.s_from as g_to
        from running r
       where r.s_from - r.covered_to >= interval '1 minute'
    )
    select pg_catalog.jsonb_build_object(
      'conversation_id', v_conv.id,
      'platform', v_conv.platform,
      'external_conversation_id', v_conv.external_conversation_id,
      'first_message_at', v_conv.first_message_at,
      'last_message_at', v_conv.last_message_at,
      'message_count', v_conv.message_count,
      -- the pairs as stored: each kept copy that met another source's copy says so
      'matched', (select coalesce(pg_catalog.sum(pg_catalog.jsonb_array_length(pg_catalog.jsonb_path_query_array(
                     x.messages, '$[*] ? (exists(@.metadata.matched))'))), 0)
                    from (select c.messages from public.chat_conversations c where c.id = v_conv.id
                          union all
                          select a.messages from public.chat_conversation_archives a
                           where a.conversation_id = v_conv.id) x),
      'sources', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                     'kind', x.kind, 'name', nullif(x.name, ''), 'phase', nullif(x.phase, ''),
                     'connection_id', x.connection_id,
                     'first_message_at', x.first_message_at, 'last_message_at', x.last_message_at,
                     'covers_from', x.first_message_at,
                     'covers_until', case when x.kind = 'webhook' then null else x.last_message_at end,
                     'inserted', x.inserted, 'duplicates', x.duplicates, 'updated', x.updated,
                     'matched', x.matched, 'batches', x.batches,
                     'first_seen_at', x.first_seen_at, 'last_seen_at', x.last_seen_at)
                   order by x.first_message_at, x.kind, x.name, x.phase), '[]'::jsonb)
                    from src x),
      'gaps', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('from', g.g_from, 'to', g.g_to)
                 order by g.g_from), '[]'::jsonb)
                 from gaps g))
  );
end;
$$;
comment on function public.conversation_coverage(uuid) is
  'Where a conversation''s history comes from (docs/contract.md "Coverage"): {conversation_id, platform, external_conversation_id, first_message_at, last_message_at, message_count, matched, sources: [{kind, name, phase, connection_id, first_message_at, last_message_at, covers_from, covers_until (null: live, ongoing), inserted, duplicates, updated, matched, batches, first_seen_at, last_seen_at}], gaps: [{from, to}]}; the caller''s own conversations only (P0002 conversation_not_found, HTTP 404).';
revoke all on function public.conversation_coverage(uuid) from public, anon;
grant execute on function public.conversation_coverage(uuid) to authenticated, service_role;
