-- =============================================================================
-- Search steps: the request, the matching lines, the ranked hits, their snippets
-- =============================================================================

-- -----------------------------------------------------------------------------
-- search_messages: one JSON object per hit
-- {conversation_id, platform, participant_name, person_id, message, snippet, rank, matched_in}
-- In steps, each run at most once per call as its owner (no role is granted them): the
-- request checked (search_request), the first matching lines (search_newest_first for a
-- common word, else search_indexed_lines), the best of them as stored now, ranked (search_hits).
-- -----------------------------------------------------------------------------

create or replace function messaging_private.search_request(
  query text, max_count integer, user_id uuid,
  out owner uuid, out norm text, out tsq tsquery, out tsq_words tsquery, out words text[], out pattern text)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_role text := auth.jwt() ->> 'role';
begin
  -- long queries are cut, not refused: the first 200 characters say enough
  norm := messaging_private.search_normalize(pg_catalog.btrim(pg_catalog.left(coalesce(query, ''), 200)));
  -- ---- whose messages: the signed-in user's own, or the user service_role names ----
  if v_role is null then
    -- no JWT: a direct database session is trusted like service_role; a PostgREST
    -- session without claims never is
    v_role := case when session_user = 'authenticator' then 'anon' else 'service_role' end;
  end if;
  if v_role = 'authenticated' then
    owner := (select auth.uid());
    if owner is null then
      raise exception using errcode = '42501', message = 'search_messages: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if search_request.user_id is not null and search_request.user_id <> owner then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only search their own messages',
        hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    owner := search_request.user_id;
    if owner is null then
      raise exception using errcode = '22023',
        message = 'user_id: required (the service role must name the CRM user whose messages it searches)',
        hint = 'user_id_required';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('search_messages: role %s may not search messages', v_role),
      hint = 'role_not_allowed';
  end if;
  if max_count is null or max_count < 1 or max_count > messaging_private.contract_limit('search_max_hits') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and %s, got %s',
        messaging_private.contract_limit('search_max_hits'), max_count),
      hint = 'max_count_out_of_range';
  end if;
  if norm = '' then
    return;
  end if;
  -- ---- what to look for ----
  tsq := pg_catalog.websearch_to_tsquery('pg_catalog.simple'::regconfig, norm);
  if pg_catalog.numnode(tsq) = 0 then
    tsq := null;  -- only punctuation: substring matching alone
  end if;
  -- the same query with phrases as plain "and": what a segment's positionless words can say
  tsq_words := pg_catalog.regexp_replace(tsq::text, '<(\d+|-)>', '&', 'g')::tsquery;
  -- every word of a plain query (no "or", no -exclusion) must occur in a matching
  -- message: a cheap substring test that spares building most messages' tsvectors
  words := '{}'::text[];
  if tsq is not null and norm !~ '(^|\s)(or(\s|$)|-\S)' then
    select coalesce(pg_catalog.array_agg('%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
             w, '\', '\\'), '%', '\%'), '_', '\_') || '%'), '{}')
      into words
      from pg_catalog.unnest(pg_catalog.tsvector_to_array(
             pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, norm))) w;
  end if;
  -- the whole query as a substring; LIKE's wildcards in it are taken literally
  pattern := '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    norm, '\', '\\'), '%', '\%'), '_', '\_') || '%';
end;
$$;
comment on function messaging_private.search_request(text, integer, uuid) is
  'search_messages'' request, checked: whose messages (owner) and what to look for (nothing when norm is empty): the full-text query (tsq; null for punctuation only), the same with phrases as "and" (tsq_words), a LIKE pattern per word every match holds (words) and the whole text''s (pattern).';
revoke all on function messaging_private.search_request(text, integer, uuid) from public, anon, authenticated, service_role;

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

-- A hit's snippet: the match wrapped in [[ ]] within about 120 characters of context
create or replace function messaging_private.search_snippet(content text, norm_query text, tsq tsquery)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_norm text := messaging_private.search_normalize(content);
  v_pos integer;
  v_len integer := pg_catalog.length(norm_query);
  v_from integer;
begin
  if content is null then
    return null;
  end if;
  v_pos := pg_catalog.strpos(v_norm, norm_query);
  -- unaccent keeps most lengths (é -> e); where it does not (ß -> ss) positions would
  -- drift, so fall back to PostgreSQL's own headline
  if v_pos > 0 and pg_catalog.length(v_norm) = pg_catalog.length(content) then
    v_from := greatest(1, v_pos - 50);
    return case when v_from > 1 then '…' else '' end
      || pg_catalog.substr(content, v_from, v_pos - v_from)
      || '[[' || pg_catalog.substr(content, v_pos, v_len) || ']]'
      || pg_catalog.substr(content, v_pos + v_len, 60)
      || case when pg_catalog.length(content) > v_pos + v_len + 59 then '…' else '' end;
  end if;
  if tsq is null then
    return pg_catalog.left(content, 120);
  end if;
  return pg_catalog.ts_headline('pg_catalog.simple'::regconfig, content, tsq,
    'StartSel=[[, StopSel=]], MaxWords=20, MinWords=8, MaxFragments=2');
end;
$$;
comment on function messaging_private.search_snippet(text, text, tsquery) is
  'A snippet of a message with the query match wrapped in [[ ]].';
