-- Written by `make migration` from supabase/schemas; finish the todo lines.

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

create or replace function messaging_private.search_hits(
  line_convs uuid[], line_mids text[], line_sents timestamptz[], lines text[], norm text, tsq tsquery,
  pattern text, words text[], sent_after timestamptz, sent_before timestamptz, direction text, max_count integer)
returns setof jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return query
  with wanted as (
    -- the best lines (ranked as the messages are ranked below), a few spare for lines of
    -- messages edited since: only these messages are opened
    -- a line that no longer matches without the contact's name most likely matched only
    -- through its sender's name: it comes after the others (checked exactly below)
    select b.conv_id, b.mid
      from (
        select distinct on (h.conv_id, h.mid) h.conv_id, h.mid, h.sent,
               coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.line), tsq), 0)
                 + case when h.line like pattern then 0.5 else 0 end as score,
               coalesce(n.name <> '' and not (pg_catalog.replace(h.line, n.name, '') like pattern
                 or pg_catalog.replace(h.line, n.name, '') like all (words)), false) as by_name
          from unnest(line_convs, line_mids, line_sents, lines) h(conv_id, mid, sent, line)
          left join (select c.id, pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary,
                              c.participant_name)) as name
                       from public.chat_conversations c where c.id = any (line_convs)) n on n.id = h.conv_id
         order by h.conv_id, h.mid
      ) b
     order by b.by_name, b.score desc, b.sent desc, b.mid
     limit max_count + 10
  ),
  stored as materialized (
    -- the messages as stored now: in the hot row (read in C by a path query), or in the
    -- archive chunks whose id_hashes hold their ids (each chunk opened once); a line of a
    -- message edited since no longer matches below
    select w.conv_id, f.m
      from wanted w
     cross join lateral (
       select pg_catalog.jsonb_path_query_first(c.messages, '$[*] ? (@.id == $id)',
                pg_catalog.jsonb_build_object('id', w.mid)) as m
         from public.chat_conversations c
        where c.id = w.conv_id
     ) f
     where f.m is not null
    union all
    select x.conversation_id, e.m
      from (
        select a.id, a.conversation_id, pg_catalog.array_agg(w.mid) as mids
          from wanted w
          join public.chat_conversation_archives a
            on a.conversation_id = w.conv_id
           and a.id_hashes @> array[pg_catalog.hashtextextended(w.mid, 0)]
         group by a.id, a.conversation_id
      ) x
      join public.chat_conversation_archives a on a.id = x.id
     cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
     where e.m ->> 'id' = any (x.mids)
  ),
  checked as (
    -- the normalisation is search_normalize() written out (a call per message would cost
    -- more than the search)
    select st.conv_id, st.m, x.doc,
           not (x.text like pattern or (x.text like all (words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, x.text) @@ tsq)) as by_name
      from stored st
     cross join lateral (  -- doc: the searchable line; text: the same without the sender's name
       select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, pg_catalog.left(concat_ws(' ',
                st.m ->> 'content', st.m ->> 'sender_name', pg_catalog.split_part(st.m ->> 'media_url', '?', 1)), 2000))) as doc,
              pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, pg_catalog.left(concat_ws(' ',
                st.m ->> 'content', pg_catalog.split_part(st.m ->> 'media_url', '?', 1)), 2000))) as text
     ) x
     where (sent_after is null or (st.m ->> 'sent_at')::timestamptz >= sent_after)
       and (sent_before is null or (st.m ->> 'sent_at')::timestamptz < sent_before)
       and (direction is null or st.m ->> 'direction' = direction)
       and (x.doc like pattern
            or (x.doc like all (words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, x.doc) @@ tsq))
  ),
  ranked as (
    select h.*,
           (coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.doc), tsq), 0)
            + case when h.doc like pattern then 0.5 else 0 end)::real as score
      from checked h
  )
  select pg_catalog.jsonb_build_object(
           'conversation_id', r.conv_id,
           'platform', c.platform,
           'participant_name', c.participant_name,
           'person_id', c.person_id,
           'message', r.m,
           'snippet', messaging_private.search_snippet(r.m ->> 'content', norm, tsq),
           'rank', r.score,
           'matched_in', case when r.by_name then 'sender_name' else 'text' end)
    from ranked r
    join public.chat_conversations c on c.id = r.conv_id
   order by r.by_name, r.score desc, (r.m ->> 'sent_at')::timestamptz desc, r.m ->> 'id'
   limit max_count;
end;
$$;
comment on function messaging_private.search_hits(uuid[], text[], timestamptz[], text[], text, tsquery, text, text[], timestamptz, timestamptz, text, integer) is
  'search_messages'' answer from the first matching lines: the messages of the best ones as stored now, those that still match, ranked (hits matching only through the sender''s name last), each with its conversation and a snippet.';
revoke all on function messaging_private.search_hits(uuid[], text[], timestamptz[], text[], text, tsquery, text, text[], timestamptz, timestamptz, text, integer) from public, anon, authenticated, service_role;

create or replace function messaging_private.search_indexed_lines(
  owner uuid, tsq tsquery, tsq_words tsquery, pattern text, words text[], person uuid, on_platform text, linked boolean,
  sent_after timestamptz, sent_before timestamptz, direction text, max_count integer,
  out line_convs uuid[], out line_mids text[], out line_sents timestamptz[], out lines text[])
language plpgsql
stable
set search_path = ''
as $$
begin
  with hits as (
    -- segments holding a match, the owner's only, through the two GIN indexes, asked
    -- separately (one index's re-check never evaluates the other's condition); the words
    -- of a phrase must all be in the segment, the phrase itself in a line
    select s.id
      from messaging_private.search_segments s
     where s.user_id = owner
       and s.lexemes @@ tsq_words
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
    union
    select s.id
      from messaging_private.search_segments s
     where s.user_id = owner
       and s.document like pattern
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
  )
  select coalesce(pg_catalog.array_agg(m.conv_id), '{}'), coalesce(pg_catalog.array_agg(m.mid), '{}'),
         coalesce(pg_catalog.array_agg(m.sent), '{}'), coalesce(pg_catalog.array_agg(m.line), '{}')
    into line_convs, line_mids, line_sents, lines
    from (
      -- Newest segments first, and no more than 5 x max_count matching lines are ranked: a
      -- common word matches in most segments, and opening all of them would cost seconds.
      -- The query's words must all occur in a line before its tsvector is built.
      -- (the lines and their ids, times and directions unnested side by side: a subscript
      -- of the text[] of ids walks it from its start, so message_ids[n] per line made a
      -- segment of 1,000 lines cost half a million steps)
      select k.conversation_id as conv_id, l.mid, l.sent, l.line
        from (
          select s.conversation_id, s.message_ids, s.sent_ats, s.outbound, s.document
            from messaging_private.search_segments s
           where s.id in (select h.id from hits h)
             and ((person is null and on_platform is null and linked is null)
                  or exists (select 1 from public.chat_conversations c
                              where c.id = s.conversation_id
                                and (person is null or c.person_id = person)
                                and (on_platform is null or c.platform = on_platform)
                                and (linked is null or (c.person_id is not null) = linked)))
           order by s.last_sent_at desc
        ) k
       cross join lateral unnest(pg_catalog.string_to_array(k.document, E'\n'), k.message_ids, k.sent_ats, k.outbound)
                            l(line, mid, sent, outbound)
       -- (unnest of several arrays is syntax, written without its schema)
       where (sent_after is null or l.sent >= sent_after)
         and (sent_before is null or l.sent < sent_before)
         and (direction is null or l.outbound = (direction = 'outbound'))
         and (l.line like pattern
              or (l.line like all (words)
                  and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, l.line) @@ tsq))
       limit max_count * 5
    ) m;
end;
$$;
comment on function messaging_private.search_indexed_lines(uuid, tsquery, tsquery, text, text[], uuid, text, boolean, timestamptz, timestamptz, text, integer) is
  'search_messages'' read: the first max_count x 5 matching lines (conversation, message id, sent_at, line side by side) of the owner''s segments the two search indexes find, newest segment first.';
revoke all on function messaging_private.search_indexed_lines(uuid, tsquery, tsquery, text, text[], uuid, text, boolean, timestamptz, timestamptz, text, integer) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.search_newest_first(
  owner uuid, tsq tsquery, tsq_words tsquery, pattern text, words text[], person uuid, on_platform text, linked boolean,
  sent_after timestamptz, sent_before timestamptz, direction text, max_count integer, out complete boolean,
  out line_convs uuid[], out line_mids text[], out line_sents timestamptz[], out lines text[])
language plpgsql
stable
set search_path = ''
as $$
-- A common word: the newest segments first, each read as it comes. search_indexed_lines
-- asks both indexes for every segment of the owner holding a match, and a word in most
-- segments makes that a re-check of nearly every segment. When the word is in at least 8
-- (the setting search_dense_segments) of the owner's 32 newest segments, they are read
-- newest first instead, until max_count x 5 lines matched: the very lines the other path
-- takes (the first matching lines of the newest segments). When the owner's 64 newest
-- segments did not give that many, or the word is rarer, complete is false: the caller
-- reads through the indexes after all (search_indexed_lines).
declare
  v_seen integer := 0;
  v_segment bigint;
begin
  select pg_catalog.count(*) filter (where r.lexemes @@ tsq_words)
           >= coalesce(messaging_private.setting('search_dense_segments'), 8)
    into complete
    from (select s.lexemes from messaging_private.search_segments s
           where s.user_id = owner and tsq is not null  -- (punctuation only: substrings alone)
           order by s.last_sent_at desc
           limit 32) r;
  if not complete then
    return;
  end if;
  line_convs := '{}'; line_mids := '{}'; line_sents := '{}'; lines := '{}';
  for v_segment in
    select s.id from messaging_private.search_segments s
     where s.user_id = owner
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
     order by s.last_sent_at desc
     limit 64
  loop
    v_seen := v_seen + 1;
    select line_convs || coalesce(pg_catalog.array_agg(x.conv_id), '{}'),
           line_mids || coalesce(pg_catalog.array_agg(x.mid), '{}'),
           line_sents || coalesce(pg_catalog.array_agg(x.sent), '{}'),
           lines || coalesce(pg_catalog.array_agg(x.line), '{}')
      into line_convs, line_mids, line_sents, lines
      from (
        select s.conversation_id as conv_id, l.mid, l.sent, l.line
          from messaging_private.search_segments s
         cross join lateral unnest(pg_catalog.string_to_array(s.document, E'\n'), s.message_ids, s.sent_ats,
                                   s.outbound) l(line, mid, sent, outbound)
         where s.id = v_segment
           and (s.lexemes @@ tsq_words or s.document like pattern)
           and ((person is null and on_platform is null and linked is null)
                or exists (select 1 from public.chat_conversations c
                            where c.id = s.conversation_id
                              and (person is null or c.person_id = person)
                              and (on_platform is null or c.platform = on_platform)
                              and (linked is null or (c.person_id is not null) = linked)))
           and (sent_after is null or l.sent >= sent_after)
           and (sent_before is null or l.sent < sent_before)
           and (direction is null or l.outbound = (direction = 'outbound'))
           and (l.line like pattern
                or (l.line like all (words)
                    and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, l.line) @@ tsq))
         limit max_count * 5 - pg_catalog.cardinality(line_mids)
      ) x;
    exit when pg_catalog.cardinality(line_mids) >= max_count * 5;
  end loop;
  -- that many lines, or fewer than 64 segments, all read: every matching line is in hand
  complete := pg_catalog.cardinality(line_mids) >= max_count * 5 or v_seen < 64;
end;
$$;
comment on function messaging_private.search_newest_first(uuid, tsquery, tsquery, text, text[], uuid, text, boolean, timestamptz, timestamptz, text, integer) is
  'search_messages'' read of a common word: the first max_count x 5 matching lines (conversation, message id, sent_at, line side by side), newest segment first; complete: whether they are the answer.';
revoke all on function messaging_private.search_newest_first(uuid, tsquery, tsquery, text, text[], uuid, text, boolean, timestamptz, timestamptz, text, integer) from public, anon, authenticated, service_role;

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
