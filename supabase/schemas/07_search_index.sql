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
-- The text that is indexed, and the snippet a hit shows of it
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

insert into messaging_private.settings (key, value, strategy, description) values
  ('search_dense_segments', 8, true,
   'search_messages reads the newest segments first when its words are in at least this many of the owner''s 32 newest segments (a common word); 33 turns that off.'),
  ('index_probe_max_conversations', 64, true,
   'An ingest call into at most this many conversations counts each one''s open search segments through their partial index; a larger one joins the owner''s open segments at once.');

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
-- segments has them merged into sealed ones (merge_batch_segments).
declare
  v_big jsonb;
  v_piece jsonb;
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

  perform messaging_private.merge_batch_segments(owner, batches);
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

create or replace function messaging_private.merge_batch_segments(owner uuid, batches jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- index_batches' last step: merges the small segments of each conversation of batches
-- ([{conversation, ...}]) that has 16 of them into sealed ones (merge_segments).
declare
  v_conversation uuid;
  v_probe_max integer;
begin
  -- One conversation (a live call): its open segments counted in one simple query (the
  -- general query below was planned again on every call, 0.1 ms of a one-message call).
  if pg_catalog.jsonb_array_length(batches) = 1 then
    v_conversation := (batches -> 0 ->> 'conversation')::uuid;
    if (select pg_catalog.count(*) from messaging_private.search_segments s
         where s.conversation_id = v_conversation and not s.sealed) >= 16 then
      perform messaging_private.merge_segments(v_conversation, owner);
    end if;
    return;
  end if;
  v_probe_max := messaging_private.setting('index_probe_max_conversations');
  -- Which conversations reached 16 open segments. A few conversations (live traffic: one;
  -- at most the setting index_probe_max_conversations)
  -- are each counted through the partial index of open segments: a join with every open
  -- segment read all users' open segments on each call. A large batch is joined with the
  -- owner's open segments at once: 10,000 probes planned on statistics taken before the
  -- batch inserted its own segments could each become a scan of the table.
  for v_conversation in
    select b.conversation
      from (select distinct (b.x ->> 'conversation')::uuid as conversation
              from pg_catalog.jsonb_array_elements(batches) b(x)) b
     where pg_catalog.jsonb_array_length(batches) <= v_probe_max
       and (select pg_catalog.count(*) from messaging_private.search_segments s
             where s.conversation_id = b.conversation and not s.sealed) >= 16
    union all
    select s.conversation_id
      from messaging_private.search_segments s
     where pg_catalog.jsonb_array_length(batches) > v_probe_max
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
comment on function messaging_private.merge_batch_segments(uuid, jsonb) is
  'Merges the small search segments of the batch''s conversations that reached 16 into sealed ones (index_batches'' last step).';
revoke all on function messaging_private.merge_batch_segments(uuid, jsonb) from public, anon, authenticated, service_role;

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
