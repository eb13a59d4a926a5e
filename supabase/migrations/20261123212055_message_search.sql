-- =============================================================================
-- Message search across the conversation store
--
-- search_messages(query, person_id, max_count, ...) finds messages in the hot
-- rows and the archive chunks alike, best first, under the caller's RLS.
--
-- The searchable text is a generated column of each row, indexed twice, so every
-- write of ingest_messages (appends, spills, edits) keeps it current with no job
-- to forget:
--   * full text with the language-neutral 'simple' configuration over
--     unaccented, lower-cased text (cafe finds café; Portuguese, German and
--     English alike), and
--   * trigrams over the same text for what full text misses: codes such as
--     INV-2024-0042, phone numbers, URLs, and Chinese or Japanese text without
--     spaces.
-- A row that matches is then opened and its matching messages ranked.
-- =============================================================================

create extension if not exists unaccent with schema extensions;
create extension if not exists pg_trgm with schema extensions;

-- -----------------------------------------------------------------------------
-- The text that is indexed
-- -----------------------------------------------------------------------------

create or replace function messaging_private.search_normalize(value text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return (
    -- unaccent() is only stable because its dictionary could change; the dictionary is
    -- fixed here, which is what lets the expression indexes below use it.
    select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, coalesce(value, '')))
  );
end;
$$;
comment on function messaging_private.search_normalize(text) is
  'Search form of a text: unaccented and lower-cased (café -> cafe).';

create or replace function messaging_private.search_document(messages jsonb)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return (
    -- one line per message: the first 2,000 characters of content, sender name and media
    -- URL without its query string (messaging_private.line_sizes measures the same line);
    -- normalised in one call for the whole text (a call per message would dominate index
    -- maintenance)
    select messaging_private.search_normalize(pg_catalog.string_agg(pg_catalog.left(
      concat_ws(' ', m ->> 'content', m ->> 'sender_name', pg_catalog.split_part(m ->> 'media_url', '?', 1)),
      2000), E'\n'))
    from pg_catalog.jsonb_array_elements(messages) m
  );
end;
$$;
comment on function messaging_private.search_document(jsonb) is
  'The searchable text of a message array, one normalised line per message: what the search indexes cover.';

create or replace function messaging_private.search_tsvector(document text)
returns tsvector
language plpgsql
immutable
parallel safe
-- a document holds up to a chunk of messages: tell the planner that building its tsvector
-- is expensive, so it reads the index rather than a sequential scan on a small table
cost 10000
set search_path = ''
as $$
begin
  return pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, document);
end;
$$;
comment on function messaging_private.search_tsvector(text) is
  'The full-text vector of a search document (the language-neutral simple configuration).';

-- The document is stored, computed once per write: the two indexes read the column, and a
-- search re-checking a candidate row reads it instead of rebuilding it from the messages.
alter table public.chat_conversations
  add column search_document text generated always as (messaging_private.search_document(messages)) stored;
alter table public.chat_conversation_archives
  add column search_document text generated always as (messaging_private.search_document(messages)) stored;
comment on column public.chat_conversations.search_document is
  'The messages'' searchable text (normalised, one line per message), kept by PostgreSQL; for search_messages.';
comment on column public.chat_conversation_archives.search_document is
  'The chunk''s searchable text (normalised, one line per message), kept by PostgreSQL; for search_messages.';

create index chat_conversations_search_fts_idx on public.chat_conversations
  using gin (messaging_private.search_tsvector(search_document));
create index chat_conversations_search_trgm_idx on public.chat_conversations
  using gin (search_document extensions.gin_trgm_ops);
create index chat_conversation_archives_search_fts_idx on public.chat_conversation_archives
  using gin (messaging_private.search_tsvector(search_document));
create index chat_conversation_archives_search_trgm_idx on public.chat_conversation_archives
  using gin (search_document extensions.gin_trgm_ops);

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
-- plan each search for its own query: a generic plan cannot tell a rare code from a common
-- word, and picking a sequential scan would rebuild every row's tsvector
set plan_cache_mode = force_custom_plan
as $$
declare
  -- long queries are cut, not refused: the first 200 characters say enough
  v_text text := pg_catalog.btrim(pg_catalog.left(coalesce(query, ''), 200));
  v_norm text := messaging_private.search_normalize(v_text);
  v_tsq tsquery;
  v_like text;
  v_words text[] := '{}'::text[];
  v_platform text := search_messages.platform;
  v_person uuid := search_messages.person_id;
  v_direction text := search_messages.direction;
  v_owner uuid;
  v_role text := auth.jwt() ->> 'role';
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
      raise exception using errcode = '42501', message = 'search_messages: the token has no user (sub)';
    end if;
    if search_messages.user_id is not null and search_messages.user_id <> v_owner then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only search their own messages',
        hint = 'Leave user_id out; it is taken from the token.';
    end if;
  elsif v_role = 'service_role' then
    v_owner := search_messages.user_id;
    if v_owner is null then
      raise exception using errcode = '22023',
        message = 'user_id: required (the service role must name the CRM user whose messages it searches)';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('search_messages: role %s may not search messages', v_role);
  end if;

  if max_count is null or max_count < 1 or max_count > 500 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('max_count: must be between 1 and 500, got %s', max_count);
  end if;
  if v_norm = '' then
    return;
  end if;
  v_tsq := pg_catalog.websearch_to_tsquery('pg_catalog.simple'::regconfig, v_norm);
  if pg_catalog.numnode(v_tsq) = 0 then
    v_tsq := null;  -- only punctuation: substring matching alone
  end if;
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

  return query
  with candidates as (
    select c.id as conv_id, c.platform as conv_platform, c.participant_name as conv_name,
           c.person_id as conv_person, c.messages as msgs, c.last_message_at as recency
      from public.chat_conversations c
     where (messaging_private.search_tsvector(c.search_document) @@ v_tsq
            or c.search_document like v_like)
       and (v_person is null or c.person_id = v_person)
       and (v_platform is null or c.platform = v_platform)
       and c.user_id = v_owner
    union all
    select c.id, c.platform, c.participant_name, c.person_id, a.messages, a.last_message_at
      from public.chat_conversation_archives a
      join public.chat_conversations c on c.id = a.conversation_id
     where (messaging_private.search_tsvector(a.search_document) @@ v_tsq
            or a.search_document like v_like)
       and (v_person is null or c.person_id = v_person)
       and (v_platform is null or c.platform = v_platform)
       and a.user_id = v_owner
       and c.user_id = v_owner
       and (sent_after is null or a.last_message_at >= sent_after)
       and (sent_before is null or a.first_message_at < sent_before)
  ),
  matched as (
    -- Newest rows first, and no more than 5 x max_count matches are ranked: a common word
    -- matches in most rows, and opening all of them would cost seconds.
    -- The normalisation is search_normalize() written out (a call per message would cost
    -- more than the search), and the query's words must all occur in a message before its
    -- tsvector is built.
    select k.conv_id, k.conv_platform, k.conv_name, k.conv_person, e.m, x.doc
      from (select * from candidates order by recency desc nulls last) k
     cross join lateral pg_catalog.jsonb_array_elements(k.msgs) e(m)
     cross join lateral (
       select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary,
                pg_catalog.left(concat_ws(' ', e.m ->> 'content', e.m ->> 'sender_name',
                                          pg_catalog.split_part(e.m ->> 'media_url', '?', 1)), 2000))) as doc
     ) x
     where (sent_after is null or (e.m ->> 'sent_at')::timestamptz >= sent_after)
       and (sent_before is null or (e.m ->> 'sent_at')::timestamptz < sent_before)
       and (v_direction is null or e.m ->> 'direction' = v_direction)
       and (x.doc like v_like
            or (x.doc like all (v_words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, x.doc) @@ v_tsq))
     limit max_count * 5
  ),
  ranked as (
    select h.*,
           (coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.doc), v_tsq), 0)
            + case when h.doc like v_like then 0.5 else 0 end)::real as score
      from matched h
  )
  select pg_catalog.jsonb_build_object(
           'conversation_id', r.conv_id,
           'platform', r.conv_platform,
           'participant_name', r.conv_name,
           'person_id', r.conv_person,
           'message', r.m,
           'snippet', messaging_private.search_snippet(r.m ->> 'content', v_norm, v_tsq),
           'rank', r.score)
    from ranked r
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
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return query
  select messaging_private.search_messages(query, person_id, max_count, platform, sent_after,
                                           sent_before, direction, user_id);
end;
$$;
comment on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid) is
  'Messages of the caller''s conversations (hot rows and archive) matching words, phrases or substrings, best first among the first 5 x max_count matches found (newest conversations and chunks first), with a highlighted snippet. Optional filters: person, platform, sent_at range, direction; service_role must name user_id.';
revoke all on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  from public, anon;
grant execute on function public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid)
  to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- Internal columns are not part of the API
--
-- search_document and id_hashes exist for the indexes. API roles get no column
-- grant on them, so nobody can read them or filter on them (a regular expression
-- over a user's search documents could hold a connection until the statement
-- timeout). The tables are therefore readable by naming columns: select=* (and a
-- write returning *) is refused with 42501; chat_conversation_list and the read
-- functions are what the frontend uses.
-- -----------------------------------------------------------------------------

revoke select on public.chat_conversations from authenticated, service_role;
grant select (
  id, user_id, connection_id, platform, external_conversation_id, conversation_type, person_id,
  entity_table, entity_id, participant_identifier, participant_name, messages, message_count,
  first_message_at, last_message_at, last_message_preview, created_at, updated_at
) on public.chat_conversations to authenticated, service_role;

revoke select on public.chat_conversation_archives from authenticated, service_role;
grant select (
  id, conversation_id, user_id, messages, message_count, first_message_at, last_message_at,
  first_message_id, last_message_id, created_at, updated_at
) on public.chat_conversation_archives to authenticated, service_role;
