-- =============================================================================
-- Search: search_messages over the search segments
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Snippets: the match wrapped in [[ ]] within about 120 characters of context
-- -----------------------------------------------------------------------------

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

-- -----------------------------------------------------------------------------
-- search_messages: one JSON object per hit
-- {conversation_id, platform, participant_name, person_id, message, snippet, rank}
-- -----------------------------------------------------------------------------

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
-- (its plans are cached per session like any function's: with the words stored per
-- segment no plan ever rebuilds a tsvector, and planning this query each time costs more
-- than a rare-code search)
as $$
declare
  -- long queries are cut, not refused: the first 200 characters say enough
  v_text text := pg_catalog.btrim(pg_catalog.left(coalesce(query, ''), 200));
  v_norm text := messaging_private.search_normalize(v_text);
  v_tsq tsquery;
  v_tsq_words tsquery;
  v_like text;
  v_words text[] := '{}'::text[];
  v_platform text := search_messages.platform;
  v_person uuid := search_messages.person_id;
  v_direction text := search_messages.direction;
  v_owner uuid;
  v_role text := auth.jwt() ->> 'role';
  -- the newest-first read of a common word: its matching lines, and whether it is the answer
  v_lazy boolean := false;
  v_seen integer := 0;
  v_segment bigint;
  v_m_conv uuid[] := '{}'::uuid[];
  v_m_mid text[] := '{}'::text[];
  v_m_sent timestamptz[] := '{}'::timestamptz[];
  v_m_line text[] := '{}'::text[];
begin
  -- ---- whose messages: the signed-in user's own, or the user service_role names ----
  if v_role is null then
    -- no JWT: a direct database session is trusted like service_role; a PostgREST
    -- session without claims never is
    v_role := case when session_user = 'authenticator' then 'anon' else 'service_role' end;
  end if;
  if v_role = 'authenticated' then
    v_owner := (select auth.uid());
    if v_owner is null then
      raise exception using errcode = '42501', message = 'search_messages: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if search_messages.user_id is not null and search_messages.user_id <> v_owner then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only search their own messages',
        hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    v_owner := search_messages.user_id;
    if v_owner is null then
      raise exception using errcode = '22023',
        message = 'user_id: required (the service role must name the CRM user whose messages it searches)',
        hint = 'user_id_required';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('search_messages: role %s may not search messages', v_role),
      hint = 'role_not_allowed';
  end if;

  if max_count is null or max_count < 1 or max_count > 500 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and 500, got %s', max_count),
      hint = 'max_count_out_of_range';
  end if;
  if v_norm = '' then
    return;
  end if;
  v_tsq := pg_catalog.websearch_to_tsquery('pg_catalog.simple'::regconfig, v_norm);
  if pg_catalog.numnode(v_tsq) = 0 then
    v_tsq := null;  -- only punctuation: substring matching alone
  end if;
  -- the same query with phrases as plain "and": what a segment's positionless words can say
  v_tsq_words := pg_catalog.regexp_replace(v_tsq::text, '<(\d+|-)>', '&', 'g')::tsquery;
  -- every word of a plain query (no "or", no -exclusion) must occur in a matching
  -- message: a cheap substring test that spares building most messages' tsvectors
  if v_tsq is not null and v_norm !~ '(^|\s)(or(\s|$)|-\S)' then
    select coalesce(pg_catalog.array_agg('%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
             w, '\', '\\'), '%', '\%'), '_', '\_') || '%'), '{}')
      into v_words
      from pg_catalog.unnest(pg_catalog.tsvector_to_array(
             pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, v_norm))) w;
  end if;
  -- the whole query as a substring; LIKE's wildcards in it are taken literally
  v_like := '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    v_norm, '\', '\\'), '%', '\%'), '_', '\_') || '%';

  -- ---- a common word: the newest segments first, each read as it comes ---------------
  -- The path below asks both indexes for every segment of the owner holding a match, and a
  -- word in most segments makes that a re-check of nearly every segment. When the word is
  -- in at least 8 (the setting search_dense_segments) of the owner's 32 newest segments,
  -- the segments are read newest first instead, until max_count x 5 lines matched: the
  -- very lines the path below ranks (it takes the first matching lines of the newest
  -- segments too). When the owner's 64 newest segments did not give that many, the path
  -- below runs after all.
  if v_tsq is not null then
    select pg_catalog.count(*) filter (where r.lexemes @@ v_tsq_words)
             >= coalesce(messaging_private.setting('search_dense_segments'), 8)
      into v_lazy
      from (select s.lexemes from messaging_private.search_segments s
             where s.user_id = v_owner
             order by s.last_sent_at desc
             limit 32) r;
  end if;
  if v_lazy then
    v_lazy := false;
    for v_segment in
      select s.id from messaging_private.search_segments s
       where s.user_id = v_owner
         and (sent_after is null or s.last_sent_at >= sent_after)
         and (sent_before is null or s.first_sent_at < sent_before)
       order by s.last_sent_at desc
       limit 64
    loop
      v_seen := v_seen + 1;
      select v_m_conv || coalesce(pg_catalog.array_agg(x.conv_id), '{}'),
             v_m_mid || coalesce(pg_catalog.array_agg(x.mid), '{}'),
             v_m_sent || coalesce(pg_catalog.array_agg(x.sent), '{}'),
             v_m_line || coalesce(pg_catalog.array_agg(x.line), '{}')
        into v_m_conv, v_m_mid, v_m_sent, v_m_line
        from (
          select s.conversation_id as conv_id, l.mid, l.sent, l.line
            from messaging_private.search_segments s
           cross join lateral unnest(pg_catalog.string_to_array(s.document, E'\n'), s.message_ids, s.sent_ats,
                                     s.outbound) l(line, mid, sent, outbound)
           where s.id = v_segment
             and (s.lexemes @@ v_tsq_words or s.document like v_like)
             and ((v_person is null and v_platform is null)
                  or exists (select 1 from public.chat_conversations c
                              where c.id = s.conversation_id
                                and (v_person is null or c.person_id = v_person)
                                and (v_platform is null or c.platform = v_platform)))
             and (sent_after is null or l.sent >= sent_after)
             and (sent_before is null or l.sent < sent_before)
             and (v_direction is null or l.outbound = (v_direction = 'outbound'))
             and (l.line like v_like
                  or (l.line like all (v_words)
                      and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, l.line) @@ v_tsq))
           limit max_count * 5 - pg_catalog.cardinality(v_m_mid)
        ) x;
      if pg_catalog.cardinality(v_m_mid) >= max_count * 5 then
        v_lazy := true;
        exit;
      end if;
    end loop;
    -- fewer than 64 segments, all read: every matching line is in hand
    v_lazy := v_lazy or v_seen < 64;
  end if;

  return query
  with hits as (
    -- segments holding a match, the owner's only, through the two GIN indexes, asked
    -- separately (one index's re-check never evaluates the other's condition); the words
    -- of a phrase must all be in the segment, the phrase itself in a line
    select s.id
      from messaging_private.search_segments s
     where not v_lazy
       and s.user_id = v_owner
       and s.lexemes @@ v_tsq_words
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
    union
    select s.id
      from messaging_private.search_segments s
     where not v_lazy
       and s.user_id = v_owner
       and s.document like v_like
       and (sent_after is null or s.last_sent_at >= sent_after)
       and (sent_before is null or s.first_sent_at < sent_before)
  ),
  candidates as (
    select s.conversation_id, s.message_ids, s.sent_ats, s.outbound, s.document, s.last_sent_at
      from messaging_private.search_segments s
     where s.id in (select h.id from hits h)
  ),
  matched as (
    -- Newest segments first, and no more than 5 x max_count matching lines are ranked: a
    -- common word matches in most segments, and opening all of them would cost seconds.
    -- The query's words must all occur in a line before its tsvector is built.
    -- (the lines and their ids, times and directions unnested side by side: a subscript
    -- of the text[] of ids walks it from its start, so message_ids[n] per line made a
    -- segment of 1,000 lines cost half a million steps)
    select k.conversation_id as conv_id, l.mid, l.sent, l.line
      from (
        select cd.* from candidates cd
         where (v_person is null and v_platform is null)
            or exists (select 1 from public.chat_conversations c
                        where c.id = cd.conversation_id
                          and (v_person is null or c.person_id = v_person)
                          and (v_platform is null or c.platform = v_platform))
         order by cd.last_sent_at desc
      ) k
     cross join lateral unnest(pg_catalog.string_to_array(k.document, E'\n'), k.message_ids, k.sent_ats, k.outbound)
                          l(line, mid, sent, outbound)
     -- (unnest of several arrays is syntax, written without its schema)
     where (sent_after is null or l.sent >= sent_after)
       and (sent_before is null or l.sent < sent_before)
       and (v_direction is null or l.outbound = (v_direction = 'outbound'))
       and (l.line like v_like
            or (l.line like all (v_words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, l.line) @@ v_tsq))
     limit max_count * 5
  ),
  read_newest_first as (
    -- the lines of a common word, found above
    select z.conv_id, z.mid, z.sent, z.line
      from unnest(v_m_conv, v_m_mid, v_m_sent, v_m_line) z(conv_id, mid, sent, line)
     where v_lazy
  ),
  wanted as (
    -- the best lines (ranked as the messages are ranked below), a few spare for lines of
    -- messages edited since: only these messages are opened
    select b.conv_id, b.mid
      from (
        select distinct on (h.conv_id, h.mid) h.conv_id, h.mid, h.sent,
               coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.line), v_tsq), 0)
                 + case when h.line like v_like then 0.5 else 0 end as score
          from (select * from matched union all select * from read_newest_first) h
         order by h.conv_id, h.mid
      ) b
     order by b.score desc, b.sent desc, b.mid
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
    select st.conv_id, st.m, x.doc
      from stored st
     cross join lateral (
       select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary,
                pg_catalog.left(concat_ws(' ', st.m ->> 'content', st.m ->> 'sender_name',
                                          pg_catalog.split_part(st.m ->> 'media_url', '?', 1)), 2000))) as doc
     ) x
     where (sent_after is null or (st.m ->> 'sent_at')::timestamptz >= sent_after)
       and (sent_before is null or (st.m ->> 'sent_at')::timestamptz < sent_before)
       and (v_direction is null or st.m ->> 'direction' = v_direction)
       and (x.doc like v_like
            or (x.doc like all (v_words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, x.doc) @@ v_tsq))
  ),
  ranked as (
    select h.*,
           (coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.doc), v_tsq), 0)
            + case when h.doc like v_like then 0.5 else 0 end)::real as score
      from checked h
  )
  select pg_catalog.jsonb_build_object(
           'conversation_id', r.conv_id,
           'platform', c.platform,
           'participant_name', c.participant_name,
           'person_id', c.person_id,
           'message', r.m,
           'snippet', messaging_private.search_snippet(r.m ->> 'content', v_norm, v_tsq),
           'rank', r.score)
    from ranked r
    join public.chat_conversations c on c.id = r.conv_id
   order by r.score desc, (r.m ->> 'sent_at')::timestamptz desc, r.m ->> 'id'
   limit max_count;
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
