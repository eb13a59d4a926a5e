-- =============================================================================
-- Search: search_messages over the search segments (its steps: the file before)
-- =============================================================================

create or replace function messaging_private.search_messages(
  query text,
  person_id uuid default null,
  max_count integer default 50,
  platform text default null,
  sent_after timestamptz default null,
  sent_before timestamptz default null,
  direction text default null,
  user_id uuid default null
)
returns setof jsonb
language plpgsql
stable
-- definer: it filters by the owner itself, so row-level security does not wrap the index
-- conditions (@@ and LIKE are not leakproof) into a filter over every row of the user
security definer
set search_path = ''
-- (its steps' plans are cached per session like any function's: with the words stored per
-- segment no plan ever rebuilds a tsvector, and planning these queries each time costs
-- more than a rare-code search)
as $$
declare
  v_req record;    -- owner, norm, tsq, tsq_words, words, pattern
  v_lines record;  -- the first matching lines: line_convs, line_mids, line_sents, lines
begin
  v_req := messaging_private.search_request(query, max_count, search_messages.user_id);
  if v_req.norm = '' then
    return;
  end if;
  v_lines := messaging_private.search_newest_first(v_req.owner, v_req.tsq, v_req.tsq_words,
    v_req.pattern, v_req.words, person_id, platform, sent_after, sent_before, direction, max_count);
  if not v_lines.complete then
    v_lines := messaging_private.search_indexed_lines(v_req.owner, v_req.tsq, v_req.tsq_words,
      v_req.pattern, v_req.words, person_id, platform, sent_after, sent_before, direction, max_count);
  end if;
  if pg_catalog.cardinality(v_lines.line_mids) = 0 then
    return;  -- no line matched: no hit
  end if;
  return query select h.hit from messaging_private.search_hits(v_lines.line_convs, v_lines.line_mids,
    v_lines.line_sents, v_lines.lines, v_req.norm, v_req.tsq, v_req.pattern, v_req.words, sent_after,
    sent_before, direction, max_count) h(hit);
end;
$$;
comment on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid) is
  'The privileged body of public.search_messages: searches the caller''s own messages (a signed-in user''s auth.uid(), or the user_id service_role names) through the search indexes.';
revoke all on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  from public, anon;
grant execute on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  to authenticated, service_role;

create or replace function public.search_messages(
  query text,
  person_id uuid default null,
  max_count integer default 50,
  platform text default null,
  sent_after timestamptz default null,
  sent_before timestamptz default null,
  direction text default null,
  user_id uuid default null
)
returns setof jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select s.hit
    from messaging_private.search_messages(query, person_id, max_count, platform, sent_after,
                                           sent_before, direction, user_id) s(hit);
$$;
comment on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid) is
  'Messages of the caller''s conversations (hot rows and archive) matching words, phrases or substrings, best first among the first 5 x max_count matches found (newest conversations and chunks first), with a highlighted snippet. Optional filters: person, platform, sent_at range, direction; service_role must name user_id.';
revoke all on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  from public, anon;
grant execute on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  to authenticated, service_role;
