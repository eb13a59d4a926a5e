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
  user_id uuid default null,
  linked boolean default null
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
    v_req.pattern, v_req.words, person_id, platform, linked, sent_after, sent_before, direction, max_count);
  if not v_lines.complete then
    v_lines := messaging_private.search_indexed_lines(v_req.owner, v_req.tsq, v_req.tsq_words,
      v_req.pattern, v_req.words, person_id, platform, linked, sent_after, sent_before, direction, max_count);
  end if;
  if pg_catalog.cardinality(v_lines.line_mids) = 0 then
    return;  -- no line matched: no hit
  end if;
  return query select h.hit from messaging_private.search_hits(v_lines.line_convs, v_lines.line_mids,
    v_lines.line_sents, v_lines.lines, v_req.norm, v_req.tsq, v_req.pattern, v_req.words, sent_after,
    sent_before, direction, max_count) h(hit);
end;
$$;
comment on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid, boolean) is
  'The privileged body of public.search_messages: searches the caller''s own messages (a signed-in user''s auth.uid(), or the user_id service_role names) through the search indexes.';
revoke all on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid, boolean)
  from public, anon;
grant execute on function messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid, boolean)
  to authenticated, service_role;

create or replace function public.search_messages(
  query text,
  person_id uuid default null,
  max_count integer default 50,
  platform text default null,
  sent_after timestamptz default null,
  sent_before timestamptz default null,
  direction text default null,
  user_id uuid default null,
  linked boolean default null
)
returns setof jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select s.hit
    from messaging_private.search_messages(query, person_id, max_count, platform, sent_after,
                                           sent_before, direction, user_id, linked) s(hit);
$$;
comment on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid, boolean) is
  'Messages of the caller''s conversations (hot rows and archive) matching words, phrases or substrings, best first among the first 5 x max_count matches found (newest conversations and chunks first), with a highlighted snippet. Optional filters: person, platform, linked to a person or not, sent_at range, direction; service_role must name user_id. A hit matching only through its sender''s name ranks below hits in the text.';
revoke all on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid, boolean)
  from public, anon;
grant execute on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid, boolean)
  to authenticated, service_role;

-- =============================================================================
-- search_conversations: the conversations whose contact matches, the exact name first
-- =============================================================================

create or replace function messaging_private.search_conversations(
  query text,
  max_count integer default 50,
  after_match text default null,
  after_last_message_at timestamptz default null,
  after_id uuid default null,
  platform text default null,
  linked boolean default null,
  person_id uuid default null,
  active_after timestamptz default null,
  active_before timestamptz default null,
  user_id uuid default null
)
returns setof jsonb
language plpgsql
stable
-- definer, like search_messages: it filters by the owner itself, so the trigram conditions
-- (LIKE is not leakproof) read the indexes instead of filtering every row of the user
security definer
set search_path = ''
as $$
declare
  v_req record;      -- owner, norm (and the message search's parts, unused here)
  v_exact text;      -- the query's words, single-spaced: a name equal to it is an exact match
  v_prefix text;     -- LIKE: a name starting with the query
  v_contains text;   -- LIKE: the query's words in order, anything between ("bulk 42")
  v_after integer;   -- the cursor's match tier
begin
  v_req := messaging_private.search_request(query, max_count, search_conversations.user_id);
  if (after_id is null) <> (after_match is null) then
    raise exception using errcode = '22023', message = 'after_id: give it with after_match (and after_last_message_at)',
      hint = 'cursor_incomplete';
  end if;
  v_after := pg_catalog.array_position(array['exact', 'prefix', 'contains'], after_match) - 1;
  if after_match is not null and v_after is null then
    raise exception using errcode = '22023',
      message = pg_catalog.format('after_match: must be exact, prefix or contains, got %s', after_match),
      hint = 'cursor_incomplete';
  end if;
  if v_req.norm = '' then
    return;
  end if;
  v_exact := pg_catalog.regexp_replace(pg_catalog.btrim(v_req.norm), '\s+', ' ', 'g');
  v_contains := pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(v_exact, '\', '\\'), '%', '\%'), '_', '\_');
  v_prefix := v_contains || '%';
  v_contains := '%' || pg_catalog.replace(v_contains, ' ', '%') || '%';
  return query
  with candidates as (
    select n.conversation_id as id
      from messaging_private.conversation_names n
     where n.user_id = v_req.owner and n.names like v_contains
    union
    select c.id
      from public.people p
      join public.chat_conversations c on c.person_id = p.id
     where p.user_id = v_req.owner and c.user_id = v_req.owner
       and messaging_private.search_normalize(p.full_name) like v_contains
  ),
  ranked as (
    select v, p.id as pid, p.full_name, coalesce(v.last_message_at, '-infinity') as at,
           case when v_exact in (x.n1, x.n2, x.n3, x.n4) then 0
                when x.n1 like v_prefix or x.n2 like v_prefix or x.n3 like v_prefix or x.n4 like v_prefix then 1
                when x.n1 like v_contains or x.n2 like v_contains or x.n3 like v_contains or x.n4 like v_contains then 2
           end as tier
      from candidates k
      join public.chat_conversation_list v on v.id = k.id
      left join public.people p on p.id = v.person_id
     cross join lateral (
       -- each name's search form (search_normalize written out: a call per name would cost
       -- more than the rest of the search)
       select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, v.participant_name)) as n1,
              pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, p.full_name)) as n2,
              pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, v.participant_identifier)) as n3,
              pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, v.external_conversation_id)) as n4
     ) x
     where (search_conversations.platform is null or v.platform = search_conversations.platform)
       and (linked is null or (v.person_id is not null) = linked)
       and (search_conversations.person_id is null or v.person_id = search_conversations.person_id)
       and (active_after is null or v.last_message_at >= active_after)
       and (active_before is null or v.first_message_at < active_before)
  )
  select pg_catalog.to_jsonb(r.v) || pg_catalog.jsonb_build_object(
           'person', case when r.pid is null then null
                          else pg_catalog.jsonb_build_object('id', r.pid, 'full_name', r.full_name) end,
           'read', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('last_read_at', m.last_read_at)), '[]')
                      from public.chat_conversation_read_markers m
                     where m.user_id = v_req.owner and m.conversation_id = (r.v).id),
           'match', (array['exact', 'prefix', 'contains'])[r.tier + 1])
    from ranked r
   where r.tier is not null  -- (words matched across two fields of the index's text: no name matches)
     and (v_after is null
          or r.tier > v_after
          or (r.tier = v_after and (r.at < coalesce(after_last_message_at, '-infinity')
              or (r.at = coalesce(after_last_message_at, '-infinity') and (r.v).id < after_id))))
   order by r.tier, r.at desc, (r.v).id desc
   limit max_count;
end;
$$;
comment on function messaging_private.search_conversations(text, integer, text, timestamptz, uuid, text, boolean, uuid, timestamptz, timestamptz, uuid) is
  'The privileged body of public.search_conversations: the caller''s conversations whose participant name, identifier, conversation id or linked person''s name holds the query''s words, exact names first, then names starting with the query, then the rest, newest first within each; keyset pages.';
revoke all on function messaging_private.search_conversations(text, integer, text, timestamptz, uuid, text, boolean, uuid, timestamptz, timestamptz, uuid)
  from public, anon;
grant execute on function messaging_private.search_conversations(text, integer, text, timestamptz, uuid, text, boolean, uuid, timestamptz, timestamptz, uuid)
  to authenticated, service_role;

create or replace function public.search_conversations(
  query text,
  max_count integer default 50,
  after_match text default null,
  after_last_message_at timestamptz default null,
  after_id uuid default null,
  platform text default null,
  linked boolean default null,
  person_id uuid default null,
  active_after timestamptz default null,
  active_before timestamptz default null,
  user_id uuid default null
)
returns setof jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select s.hit
    from messaging_private.search_conversations(query, max_count, after_match, after_last_message_at, after_id,
                                                platform, linked, person_id, active_after, active_before,
                                                user_id) s(hit);
$$;
comment on function public.search_conversations(text, integer, text, timestamptz, uuid, text, boolean, uuid, timestamptz, timestamptz, uuid) is
  'Conversations of the caller whose contact (participant name or identifier, conversation id, linked person''s name) matches the query: exact name first, then prefix, then contains, newest first within each, as chat_conversation_list rows with person, read and match; the next page after (after_match, after_last_message_at, after_id) of the last row. Filters: platform, linked, person, activity range; service_role must name user_id.';
revoke all on function public.search_conversations(text, integer, text, timestamptz, uuid, text, boolean, uuid, timestamptz, timestamptz, uuid)
  from public, anon;
grant execute on function public.search_conversations(text, integer, text, timestamptz, uuid, text, boolean, uuid, timestamptz, timestamptz, uuid)
  to authenticated, service_role;
