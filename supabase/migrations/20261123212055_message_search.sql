-- =============================================================================
-- Message search across the conversation store
--
-- search_messages(query, person_id, max_count, ...) finds messages in the hot
-- rows and the archive chunks alike, best first, among the caller's own.
--
-- The searchable text of every stored message is a line in a private search
-- segment, appended by ingest_messages (new messages and new versions of edited
-- ones), and indexed twice:
--   * full text with the language-neutral 'simple' configuration over
--     unaccented, lower-cased text (cafe finds café; Portuguese, German and
--     English alike), and
--   * trigrams over the same text for what full text misses: codes such as
--     INV-2024-0042, phone numbers, URLs, and Chinese or Japanese text without
--     spaces.
-- Matching lines are then checked against the stored messages and ranked.
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
-- a document holds up to ~16 kB of lines: tell the planner that building its tsvector is
-- expensive, so it reads the index rather than a sequential scan on a small table
cost 100000
set search_path = ''
as $$
begin
  return pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, document);
end;
$$;
comment on function messaging_private.search_tsvector(text) is
  'The full-text vector of a search document (the language-neutral simple configuration).';

-- -----------------------------------------------------------------------------
-- The search index: small, append-mostly segments of searchable lines
--
-- The searchable lines live in a private table of their own, not in the hot row or
-- the archive chunks: a GIN index re-enters every word and trigram of a row each
-- time the row is rewritten, so indexing the hot row (rewritten on every message)
-- cost the whole row per message. Here every ingest appends one small segment
-- with the lines of just the messages it stored (new ones and new versions of
-- edited ones); once a conversation has 16 small segments they are merged into
-- sealed ones of at most ~16 kB, so a message is indexed about twice, whatever
-- the conversation's size. Hot-row appends, spills and chunk rewrites touch no
-- search index at all. A segment line whose message was edited since is stale:
-- search_messages re-checks every hit against the stored message.
-- -----------------------------------------------------------------------------

create table messaging_private.search_segments (
  id bigint generated always as identity primary key,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  message_ids text[] not null,
  sent_ats timestamptz[] not null,
  outbound boolean[] not null,
  first_sent_at timestamptz not null,
  last_sent_at timestamptz not null,
  sealed boolean not null default false,
  -- one normalised line per message (newlines inside a message are spaces), in the
  -- order of message_ids
  document text not null,
  -- its words, without positions: computed once per write, so neither the full-text
  -- index's re-check nor a scan ever rebuilds a vector (phrases are checked per line)
  lexemes tsvector generated always as (pg_catalog.strip(messaging_private.search_tsvector(document))) stored,
  check (pg_catalog.cardinality(message_ids) = pg_catalog.cardinality(sent_ats)
         and pg_catalog.cardinality(message_ids) = pg_catalog.cardinality(outbound)
         and pg_catalog.cardinality(message_ids) > 0)
);
comment on table messaging_private.search_segments is
  'Searchable lines of stored messages in small append-mostly segments (merged and sealed 16 at a time); the search indexes live here.';
comment on column messaging_private.search_segments.document is
  'One normalised searchable line per message (see messaging_private.line_sizes), in message_ids order.';
comment on column messaging_private.search_segments.lexemes is
  'The document''s words without positions (strip of its simple tsvector): what the full-text index covers.';
comment on column messaging_private.search_segments.sealed is
  'False for the small segments single ingests append; merged into sealed ones once 16 exist.';

alter table messaging_private.search_segments alter column document set compression lz4;

create index search_segments_conversation_idx on messaging_private.search_segments (conversation_id);
create index search_segments_open_idx on messaging_private.search_segments (conversation_id) where not sealed;
create index search_segments_user_recent_idx on messaging_private.search_segments (user_id, last_sent_at desc);
create index search_segments_fts_idx on messaging_private.search_segments using gin (lexemes);
create index search_segments_trgm_idx on messaging_private.search_segments
  using gin (document extensions.gin_trgm_ops);

alter table messaging_private.search_segments enable row level security;
-- no policy and no grant: only the definer functions (ingest, search) read or write it
revoke all on messaging_private.search_segments from public, anon, authenticated, service_role;

create or replace function messaging_private.segment_pieces(lines jsonb)
returns jsonb[]
language plpgsql
immutable
set search_path = ''
as $$
-- Cuts [{id, sent_at, outbound, line}] into pieces of about 16 kB of lines at most
-- (a line is at most 2,000 characters, so a piece stays well below 24 kB).
begin
  return (
    select coalesce(pg_catalog.array_agg(p.piece order by p.k), '{}'::jsonb[])
    from (
      select t.k, pg_catalog.jsonb_agg(t.x order by t.ord) as piece
      from (
        select l.x, l.ord,
               (pg_catalog.sum(pg_catalog.octet_length(l.x ->> 'line') + 1) over (order by l.ord) - 1) / 16384 as k
        from pg_catalog.jsonb_array_elements(lines) with ordinality l(x, ord)
      ) t
      group by t.k
    ) p
  );
end;
$$;
comment on function messaging_private.segment_pieces(jsonb) is
  'Cuts a list of searchable lines into pieces of about 16 kB: the bound of one search segment''s document.';

create or replace function messaging_private.store_segments(conversation uuid, owner uuid, lines jsonb, seal boolean)
returns void
language plpgsql
set search_path = ''
as $$
-- Writes [{id, sent_at, outbound, line}] as search segments of bounded size.
declare
  v_piece jsonb;
begin
  foreach v_piece in array
    case when pg_catalog.octet_length(lines::text) <= 16384 then array[lines]  -- the usual case
         else messaging_private.segment_pieces(lines) end
  loop
    insert into messaging_private.search_segments (
      conversation_id, user_id, message_ids, sent_ats, outbound, first_sent_at, last_sent_at, sealed, document)
    select conversation, owner,
           pg_catalog.array_agg(l.x ->> 'id' order by l.ord),
           pg_catalog.array_agg((l.x ->> 'sent_at')::timestamptz order by l.ord),
           pg_catalog.array_agg((l.x ->> 'outbound')::boolean order by l.ord),
           pg_catalog.min((l.x ->> 'sent_at')::timestamptz),
           pg_catalog.max((l.x ->> 'sent_at')::timestamptz),
           seal or pg_catalog.count(*) >= 64,
           pg_catalog.string_agg(l.x ->> 'line', E'\n' order by l.ord)
      from pg_catalog.jsonb_array_elements(v_piece) with ordinality l(x, ord);
  end loop;
end;
$$;
comment on function messaging_private.store_segments(uuid, uuid, jsonb, boolean) is
  'Writes searchable lines as search segments of about 16 kB at most.';

insert into messaging_private.settings (key, value, description) values
  ('search_dense_segments', 8,
   'search_messages reads the newest segments first when its words are in at least this many of the owner''s 32 newest segments (a common word); 33 turns that off.');

create or replace function messaging_private.index_batches(owner uuid, batches jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- Appends the searchable lines of stored messages, [{conversation, messages}], to each
-- conversation's search segments, for every conversation of an ingest at once: the lines
-- are normalised in one call, and one insert writes a segment per conversation (a
-- statement per conversation would cost 10,000 of them on a batch of new conversations).
-- A conversation whose lines pass 16 kB is cut by store_segments; one reaching 16 small
-- segments has them merged into sealed ones.
declare
  v_big jsonb;
  v_piece jsonb;
  v_conversation uuid;
begin
  with src as (
    -- (sorted by the ordinals alone: a sort that carried the batch's jsonb along would
    -- spill a copy of it per message to disk)
    select (b.x ->> 'conversation')::uuid as conversation, b.bord, e.ord, e.m
      from pg_catalog.jsonb_array_elements(batches) with ordinality b(x, bord)
     cross join lateral pg_catalog.jsonb_array_elements(b.x -> 'messages') with ordinality e(m, ord)
  ),
  -- the line: the first 2,000 characters of content, sender name and media URL without its
  -- query string (as line_sizes measures it), normalised in one call for all the messages,
  -- then zipped back onto the messages by position (one pass; a join or a subscript per
  -- message would walk the 10,000 lines again for each)
  doc as (
    select pg_catalog.array_agg(s.conversation order by s.bord, s.ord) as conversations,
           pg_catalog.array_agg(s.m order by s.bord, s.ord) as msgs,
           pg_catalog.string_to_array(messaging_private.search_normalize(pg_catalog.string_agg(
             pg_catalog.translate(pg_catalog.left(concat_ws(' ', s.m ->> 'content', s.m ->> 'sender_name',
               pg_catalog.split_part(s.m ->> 'media_url', '?', 1)), 2000), E'\n\r\u2028\u2029', '    '),
             E'\n' order by s.bord, s.ord)), E'\n') as lines
      from src s
  ),
  lines as materialized (
    select z.conversation, z.ord, z.m ->> 'id' as id, (z.m ->> 'sent_at')::timestamptz as sent_at,
           z.m ->> 'direction' = 'outbound' as outbound, z.line,
           pg_catalog.sum(pg_catalog.octet_length(z.line) + 1) over (partition by z.conversation) as bytes
      from doc d
     cross join unnest(d.conversations, d.msgs, d.lines) with ordinality z(conversation, m, line, ord)
     where z.line <> ''  -- nothing searchable: media without a URL, empty texts
     -- (unnest of several arrays is syntax, written without its schema)
  ),
  -- the usual case: a conversation's new lines fit one segment
  ins as (
    insert into messaging_private.search_segments (
      conversation_id, user_id, message_ids, sent_ats, outbound, first_sent_at, last_sent_at, sealed, document)
    select l.conversation, owner,
           pg_catalog.array_agg(l.id order by l.ord),
           pg_catalog.array_agg(l.sent_at order by l.ord),
           pg_catalog.array_agg(l.outbound order by l.ord),
           pg_catalog.min(l.sent_at), pg_catalog.max(l.sent_at),
           pg_catalog.count(*) >= 64,
           pg_catalog.string_agg(l.line, E'\n' order by l.ord)
      from lines l
     where l.bytes <= 16384
     group by l.conversation
    returning 1
  )
  -- the rest are cut into pieces of about 16 kB below
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('conversation', g.conversation, 'lines', g.lines))
    into v_big
    from (select l.conversation,
                 pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'id', l.id, 'sent_at', l.sent_at, 'outbound', l.outbound, 'line', l.line) order by l.ord) as lines
            from lines l
           where l.bytes > 16384
           group by l.conversation) g;
  for v_piece in select x from pg_catalog.jsonb_array_elements(v_big) x loop
    perform messaging_private.store_segments((v_piece ->> 'conversation')::uuid, owner, v_piece -> 'lines', false);
  end loop;

  -- Which conversations reached 16 open segments. A few conversations (live traffic: one)
  -- are each counted through the partial index of open segments: a join with every open
  -- segment read all users' open segments on each call. A large batch is joined with the
  -- owner's open segments at once: 10,000 probes planned on statistics taken before the
  -- batch inserted its own segments could each become a scan of the table.
  for v_conversation in
    select b.conversation
      from (select distinct (b.x ->> 'conversation')::uuid as conversation
              from pg_catalog.jsonb_array_elements(batches) b(x)) b
     where pg_catalog.jsonb_array_length(batches) <= 64
       and (select pg_catalog.count(*) from messaging_private.search_segments s
             where s.conversation_id = b.conversation and not s.sealed) >= 16
    union all
    select s.conversation_id
      from messaging_private.search_segments s
     where pg_catalog.jsonb_array_length(batches) > 64
       and s.user_id = owner
       and not s.sealed
       and s.conversation_id in (select (b.x ->> 'conversation')::uuid
                                   from pg_catalog.jsonb_array_elements(batches) b(x))
     group by s.conversation_id
    having pg_catalog.count(*) >= 16
  loop
    perform messaging_private.merge_segments(v_conversation, owner);
  end loop;
end;
$$;
comment on function messaging_private.index_batches(uuid, jsonb) is
  'Appends the searchable lines of stored messages ([{conversation, messages}]) to the conversations'' search segments, all conversations at once; merges small ones 16 at a time.';

create or replace function messaging_private.merge_segments(conversation uuid, owner uuid)
returns void
language plpgsql
set search_path = ''
as $$
-- Replaces a conversation's small (unsealed) segments by sealed ones of about 16 kB.
declare
  v_lines jsonb;
begin
  with gone as (
    delete from messaging_private.search_segments s
     where s.conversation_id = conversation and not s.sealed
    returning s.id, s.message_ids, s.sent_ats, s.outbound, s.document
  )
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', g.message_ids[l.ord], 'sent_at', g.sent_ats[l.ord], 'outbound', g.outbound[l.ord],
           'line', l.line) order by g.id, l.ord)
    into v_lines
    from gone g
   cross join lateral pg_catalog.unnest(pg_catalog.string_to_array(g.document, E'\n')) with ordinality l(line, ord);
  if v_lines is not null then
    perform messaging_private.store_segments(conversation, owner, v_lines, true);
  end if;
end;
$$;
comment on function messaging_private.merge_segments(uuid, uuid) is
  'Merges a conversation''s small search segments into sealed ones of about 16 kB.';

create or replace function messaging_private.index_messages(conversation uuid, owner uuid, msgs jsonb)
returns void
language sql
set search_path = ''
as $$
  select messaging_private.index_batches(owner,
    pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('conversation', conversation, 'messages', msgs)));
$$;
comment on function messaging_private.index_messages(uuid, uuid, jsonb) is
  'Appends the searchable lines of one conversation''s stored messages to its search segments (index_batches for one).';

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

-- -----------------------------------------------------------------------------
-- Internal columns are not part of the API
--
-- chat_conversation_archives.id_hashes exists for its index. API roles get no
-- column grant on it, so nobody can read it or filter on it. The searchable
-- text is not in any API table at all (messaging_private.search_segments).
-- Select explicit columns from chat_conversation_archives (select=* is refused).
-- -----------------------------------------------------------------------------

revoke select on public.chat_conversation_archives from authenticated, service_role;
grant select (
  id, conversation_id, user_id, messages, message_count, first_message_at, last_message_at,
  first_message_id, last_message_id, created_at, updated_at
) on public.chat_conversation_archives to authenticated, service_role;

revoke all on function messaging_private.index_messages(uuid, uuid, jsonb) from public, anon, authenticated, service_role;
revoke all on function messaging_private.index_batches(uuid, jsonb) from public, anon, authenticated, service_role;
revoke all on function messaging_private.merge_segments(uuid, uuid) from public, anon, authenticated, service_role;
revoke all on function messaging_private.store_segments(uuid, uuid, jsonb, boolean) from public, anon, authenticated, service_role;
