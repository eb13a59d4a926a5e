-- =============================================================================
-- Store pieces: sorting, sizing and cutting message arrays, archive chunks
--
-- The small helpers every ingest path uses to keep hot rows and chunks bounded.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Small helpers
-- -----------------------------------------------------------------------------

create or replace function messaging_private.preview(m jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select case
      -- a deleted message: its text is gone (or kept for the CRM user only: not a preview);
      -- an export's tombstone (no deleted_at) keeps its words
      when (m #> '{metadata,deleted}') = 'true'::jsonb
           and (m #> '{metadata,deleted_at}' is not null or pg_catalog.btrim(coalesce(m ->> 'content', '')) = '')
        then '[deleted]'
      when pg_catalog.btrim(coalesce(m ->> 'content', '')) <> '' then
        pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace(m ->> 'content', '\s+', ' ', 'g')), 100)
      -- an other names the platform's kind (a call line reads [call], not [other])
      when m ->> 'type' = 'other' and pg_catalog.btrim(coalesce(m -> 'metadata' ->> 'platform_kind', '')) <> '' then
        '[' || pg_catalog.left(pg_catalog.replace(pg_catalog.btrim(m -> 'metadata' ->> 'platform_kind'), '_', ' '), 60) || ']'
      else '[' || coalesce(m ->> 'type', 'message') || ']'
    end
  );
end;
$$;
comment on function messaging_private.preview(jsonb) is 'The inbox preview of a stored message: [deleted] for a deleted one (its text erased, or kept for the CRM user only); its text; for an other without text the platform''s kind ([call], [request welcome]); else [type] for media.';

create or replace function messaging_private.id_hashes(msgs jsonb)
returns bigint[]
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select pg_catalog.array_agg(pg_catalog.hashtextextended(x ->> 'id', 0) order by x.ord)
    from pg_catalog.jsonb_array_elements(msgs) with ordinality x(x, ord)
  );
end;
$$;
comment on function messaging_private.id_hashes(jsonb) is
  'hashtextextended(id, 0) of each message, in order: what chat_conversation_archives.id_hashes holds.';

create or replace function messaging_private.sort_messages(msgs jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select coalesce(
      pg_catalog.jsonb_agg(e.m order by (e.m ->> 'sent_at')::timestamptz, (e.m ->> 'id') collate "C"),
      '[]'::jsonb)
    from pg_catalog.jsonb_array_elements(msgs) e(m)
  );
end;
$$;
comment on function messaging_private.sort_messages(jsonb) is 'A message array sorted by (sent_at, id).';

-- The searchable line of a message is written out in three places (search_document,
-- the sizes below, search_messages' re-check): its first 2,000 characters of content,
-- sender name and media URL without its query string (a signed URL's signature is noise).
-- Whole lines then bound every search document by construction: a hot row or a chunk
-- holds at most hot_max_bytes / archive_chunk_bytes of them (256 kB), and even the URL
-- and hyphenated-word tokens the parser adds keep its tsvector far below the 1 MB limit.

create or replace function messaging_private.line_sizes(msgs jsonb)
returns integer[]
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select coalesce(pg_catalog.array_agg(pg_catalog.octet_length(pg_catalog.left(
             concat_ws(' ', e.m ->> 'content', e.m ->> 'sender_name',
                       pg_catalog.split_part(e.m ->> 'media_url', '?', 1)), 2000)) + 1
             order by e.ord), '{}')
    from pg_catalog.jsonb_array_elements(msgs) with ordinality e(m, ord)
  );
end;
$$;
comment on function messaging_private.line_sizes(jsonb) is
  'Bytes of each message''s searchable line (what search_document indexes), in array order.';

create or replace function messaging_private.cut_pieces(msgs jsonb, max_count integer, max_bytes integer)
returns jsonb[]
language plpgsql
immutable
set search_path = ''
as $$
-- Cuts a sorted message array, oldest first, into pieces of at most max_count messages and
-- max_bytes of searchable text (a single message is never cut: its line is at most 2,000
-- characters). A cheap upper bound (the array's JSON text) skips the sizing when it fits.
declare
  v_sizes integer[];
  v_keys integer[] := '{}'::integer[];
  v_piece integer := 0;
  v_count integer := 0;
  v_bytes bigint := 0;
  v_size integer;
begin
  if pg_catalog.jsonb_array_length(msgs) = 0 then
    return '{}'::jsonb[];
  end if;
  if pg_catalog.jsonb_array_length(msgs) <= max_count and pg_catalog.octet_length(msgs::text) <= max_bytes then
    return array[msgs];
  end if;
  v_sizes := messaging_private.line_sizes(msgs);
  foreach v_size in array v_sizes loop
    if v_count > 0 and (v_count >= max_count or v_bytes + v_size > max_bytes) then
      v_piece := v_piece + 1;
      v_count := 0;
      v_bytes := 0;
    end if;
    v_count := v_count + 1;
    v_bytes := v_bytes + v_size;
    v_keys := v_keys || v_piece;
  end loop;
  return (
    select pg_catalog.array_agg(p.piece order by p.k)
    from (
      select k.k, pg_catalog.jsonb_agg(e.m order by e.ord) as piece
      from pg_catalog.jsonb_array_elements(msgs) with ordinality e(m, ord)
      join pg_catalog.unnest(v_keys) with ordinality k(k, ord) on k.ord = e.ord
      group by k.k
    ) p
  );
end;
$$;
comment on function messaging_private.cut_pieces(jsonb, integer, integer) is
  'A sorted message array cut, oldest first, into pieces bounded by count and by bytes of searchable text.';

create or replace function messaging_private.newest_fitting(msgs jsonb, max_count integer, max_bytes integer)
returns integer
language plpgsql
immutable
set search_path = ''
as $$
-- How many of the newest messages (the end of a sorted array) fit in max_count messages
-- and max_bytes of searchable text; at least one.
begin
  return (
    select greatest(1, pg_catalog.count(*))::integer
    from (
      select s.ord, pg_catalog.sum(s.size) over (order by s.ord desc) as total
      from pg_catalog.unnest(messaging_private.line_sizes(msgs)) with ordinality s(size, ord)
    ) t
    where t.total <= max_bytes
      and t.ord > pg_catalog.jsonb_array_length(msgs) - max_count
  );
end;
$$;
comment on function messaging_private.newest_fitting(jsonb, integer, integer) is
  'How many of the newest messages of a sorted array fit in a count and a byte budget of searchable text (at least one).';

create or replace function messaging_private.store_chunks(
  conversation uuid, owner uuid, chunk uuid, msgs jsonb
)
returns void
language plpgsql
set search_path = ''
as $$
-- Writes msgs (sorted, non-empty) as archive chunks bounded by archive_chunk_messages and
-- archive_chunk_bytes: the first piece replaces chunk (or is inserted when chunk is null),
-- the rest are new.
declare
  v_pieces jsonb[] := messaging_private.cut_pieces(msgs,
    messaging_private.setting('archive_chunk_messages'), messaging_private.setting('archive_chunk_bytes'));
  v_piece jsonb;
begin
  for i in 1 .. pg_catalog.cardinality(v_pieces) loop
    v_piece := v_pieces[i];
    if i = 1 and chunk is not null then
      update public.chat_conversation_archives a
         set messages = v_piece,
             message_count = pg_catalog.jsonb_array_length(v_piece),
             first_message_at = (v_piece -> 0 ->> 'sent_at')::timestamptz,
             last_message_at = (v_piece -> -1 ->> 'sent_at')::timestamptz,
             first_message_id = v_piece -> 0 ->> 'id',
             last_message_id = v_piece -> -1 ->> 'id',
             id_hashes = messaging_private.id_hashes(v_piece),
             updated_at = pg_catalog.now()
       where a.id = chunk;
    else
      insert into public.chat_conversation_archives (
        conversation_id, user_id, messages, message_count, first_message_at, last_message_at,
        first_message_id, last_message_id, id_hashes)
      values (
        conversation, owner, v_piece, pg_catalog.jsonb_array_length(v_piece),
        (v_piece -> 0 ->> 'sent_at')::timestamptz, (v_piece -> -1 ->> 'sent_at')::timestamptz,
        v_piece -> 0 ->> 'id', v_piece -> -1 ->> 'id', messaging_private.id_hashes(v_piece));
    end if;
  end loop;
end;
$$;
comment on function messaging_private.store_chunks(uuid, uuid, uuid, jsonb) is
  'Writes sorted messages as archive chunks bounded by count and bytes, replacing the given chunk with the first piece.';
