-- =============================================================================
-- Stored copies: finding a message by id, taking out edited versions (and export copies
-- a platform copy replaces), what an edit keeps of the stored copy
-- =============================================================================

-- The stored copy of a message, by id: the one lookup ingest_dedupe, apply_message_updates
-- and stored_message share (hot row first, then the archive chunks its id hash points to).
create or replace function messaging_private.stored_copies(
  conversation uuid, hot jsonb, has_archive boolean, msgs jsonb, few integer default null
)
returns table (chunk uuid, m jsonb)
language plpgsql
stable
set search_path = ''
-- the chunks holding an id are found through the GIN index of id_hashes only:
-- array overlap as a filter compares every pair of hashes (1,000 x 1,000 per chunk read)
set enable_seqscan = off
as $$
-- The stored copies (chunk null for the hot row) of the messages msgs names by id (whole
-- messages or {id} objects) in one conversation: in its hot row (given, as the caller read
-- it) first and then, when has_archive and the hot row lacks some of them, in the archive
-- chunks whose id_hashes hold an id's hash. A few ids the hot row does not contain cost a
-- containment test each (the hot row is expanded only when one is there), and a message
-- found in the hot row costs no index probe. (Rows, not a jsonb array: building one cost
-- a re-imported 10,000-message batch a quarter more time in its dedupe.)
declare
  v_chunks uuid[];
  v_hashes bigint[];
  v_hot integer := 0;
begin
  -- (few: the setting ingest_few_messages, passed by the ingest, read here for the webhooks)
  if pg_catalog.jsonb_array_length(msgs) > coalesce(few, messaging_private.setting('ingest_few_messages'))
     or exists (select 1 from pg_catalog.jsonb_array_elements(msgs) n(m)
                 where hot @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', n.m -> 'id')))
  then
    return query
      select null::uuid, h.m
        from pg_catalog.jsonb_array_elements(hot) h(m)
       where (h.m ->> 'id') in (select n.m ->> 'id' from pg_catalog.jsonb_array_elements(msgs) n(m));
    get diagnostics v_hot = row_count;
  end if;
  if not has_archive or v_hot >= pg_catalog.jsonb_array_length(msgs) then
    return;
  end if;
  v_hashes := messaging_private.id_hashes(msgs);
  -- computed once (inside a query's condition it would be recomputed for every row), and
  -- asked of the index alone (offset 0 keeps the conversation out of the index scan)
  select pg_catalog.array_agg(h.id) into v_chunks
    from (select a.id, a.conversation_id
            from public.chat_conversation_archives a
           where a.id_hashes && v_hashes
          offset 0) h
   where h.conversation_id = conversation;
  if v_chunks is not null then
    return query
      select a.id, e.m
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
       where a.id = any (v_chunks)
         and (e.m ->> 'id') in (select n.m ->> 'id' from pg_catalog.jsonb_array_elements(msgs) n(m));
  end if;
end;
$$;
comment on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb, integer) is
  'The stored copies (chunk, m; chunk null: the hot row) of messages named by id in one conversation: the hot row first, then archive chunks found through id_hashes. Past few ids (ingest_few_messages) the hot row is read whole instead of probed per id.';
revoke all on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb, integer)
  from public, anon, authenticated, service_role;


create or replace function messaging_private.ingest_apply_edits(
  conversation uuid, owner uuid, hot jsonb, hot_edits jsonb, archive_edits jsonb
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- Takes the old versions of edited messages out (of the hot row, returned, and of their
-- archive chunks, rewritten or deleted when emptied); the new versions are merged after.
declare
  v_hot jsonb := hot;
  v_target record;
  v_left jsonb;
begin
  if pg_catalog.jsonb_array_length(hot_edits) > 0 then
    select coalesce(pg_catalog.jsonb_agg(h.m order by h.ord), '[]'::jsonb) into v_hot
      from pg_catalog.jsonb_array_elements(hot) with ordinality h(m, ord)
     where not exists (select 1 from pg_catalog.jsonb_array_elements(hot_edits) u(m)
                        where (u.m ->> 'id') = (h.m ->> 'id'));
  end if;
  for v_target in
    select (u.x ->> 'chunk')::uuid as chunk, pg_catalog.array_agg(u.x -> 'm' ->> 'id') as ids
      from pg_catalog.jsonb_array_elements(archive_edits) u(x)
     group by 1
  loop
    select coalesce(pg_catalog.jsonb_agg(e.m order by e.ord), '[]'::jsonb) into v_left
      from public.chat_conversation_archives a
     cross join lateral pg_catalog.jsonb_array_elements(a.messages) with ordinality e(m, ord)
     where a.id = v_target.chunk and not ((e.m ->> 'id') = any (v_target.ids));
    if pg_catalog.jsonb_array_length(v_left) = 0 then
      delete from public.chat_conversation_archives a where a.id = v_target.chunk;
    else
      perform messaging_private.store_chunks(conversation, owner, v_target.chunk, v_left);
    end if;
  end loop;
  return v_hot;
end;
$$;
comment on function messaging_private.ingest_apply_edits(uuid, uuid, jsonb, jsonb, jsonb) is
  'Ingest, part 5: removes the old versions of edited messages from the hot row (returned) and from their archive chunks.';

create or replace function messaging_private.match_take_out(
  conversation uuid, owner uuid, hot jsonb, replaced jsonb
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- Takes the export copies that a platform copy replaces out of the hot row (returned) and
-- their archive chunks, through the same removal an edit's old version gets.
begin
  return messaging_private.ingest_apply_edits(conversation, owner, hot,
    coalesce((select pg_catalog.jsonb_agg(r.x -> 'm') from pg_catalog.jsonb_array_elements(replaced) r(x)
               where r.x ->> 'chunk' is null), '[]'::jsonb),
    coalesce((select pg_catalog.jsonb_agg(r.x) from pg_catalog.jsonb_array_elements(replaced) r(x)
               where r.x ->> 'chunk' is not null), '[]'::jsonb));
end;
$$;
comment on function messaging_private.match_take_out(uuid, uuid, jsonb, jsonb) is
  'Export/live matching: removes the stored export copies ({chunk, m}) that platform copies replace from the hot row (returned) and their chunks.';
revoke all on function messaging_private.match_take_out(uuid, uuid, jsonb, jsonb)
  from public, anon, authenticated, service_role;

create or replace function messaging_private.edit_keeps_match(edit jsonb, stored jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- The new version of an edited message, keeping of the stored version:
-- * the record of the export copy it met (metadata.matched): an edit changes what the
--   message says, not which export copy it is, so a re-import of that copy stays a duplicate;
-- * its earlier versions (metadata.versions, oldest first), with the stored text added as
--   one {content, at} when the edit changes it (at: when that text was written, its
--   edited_at or sent_at). The newest message_versions_max are kept; versions_dropped
--   counts those dropped past the cap.
-- The stored record wins over one the new version brings.
declare
  v_keep jsonb := '{}'::jsonb;
  v_versions jsonb;
  v_dropped bigint;
  v_cap constant integer := 20;  -- message_versions_max (docs/contract.md)
begin
  if stored #> '{metadata,matched}' is not null then
    v_keep := pg_catalog.jsonb_build_object('matched', stored #> '{metadata,matched}');
  end if;
  v_versions := case when pg_catalog.jsonb_typeof(stored #> '{metadata,versions}') = 'array'
                     then stored #> '{metadata,versions}' else '[]'::jsonb end;
  v_dropped := case when pg_catalog.jsonb_typeof(stored #> '{metadata,versions_dropped}') = 'number'
                    then (stored #>> '{metadata,versions_dropped}')::numeric::bigint else 0 end;
  if (stored -> 'content') is distinct from (edit -> 'content')
     and (stored #> '{metadata,deleted}') is distinct from 'true'::jsonb then
    v_versions := v_versions || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'content', coalesce(stored -> 'content', 'null'::jsonb),
      'at', coalesce(stored -> 'edited_at', stored -> 'sent_at')));
  end if;
  if pg_catalog.jsonb_array_length(v_versions) > v_cap then
    v_dropped := v_dropped + pg_catalog.jsonb_array_length(v_versions) - v_cap;
    v_versions := (select pg_catalog.jsonb_agg(v.x order by v.ord)
                     from pg_catalog.jsonb_array_elements(v_versions) with ordinality v(x, ord)
                    where v.ord > pg_catalog.jsonb_array_length(v_versions) - v_cap);
  end if;
  if pg_catalog.jsonb_array_length(v_versions) > 0 then
    v_keep := v_keep || pg_catalog.jsonb_build_object('versions', v_versions);
  end if;
  if v_dropped > 0 then
    v_keep := v_keep || pg_catalog.jsonb_build_object('versions_dropped', v_dropped);
  end if;
  if v_keep = '{}'::jsonb then
    return edit;
  end if;
  return edit || pg_catalog.jsonb_build_object('metadata',
    case when pg_catalog.jsonb_typeof(edit -> 'metadata') = 'object' then edit -> 'metadata' else '{}'::jsonb end
    || v_keep);
end;
$$;
comment on function messaging_private.edit_keeps_match(jsonb, jsonb) is
  'The new version of an edited message with the stored version''s metadata.matched (the export copy it met) and its earlier versions (metadata.versions [{content, at}], oldest first, the newest 20; versions_dropped counts older ones), so every edit path keeps both.';
revoke all on function messaging_private.edit_keeps_match(jsonb, jsonb)
  from public, anon, authenticated, service_role;

create or replace function messaging_private.media_sha256(m jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  -- metadata.sha256 of a message's media as 64 lowercase hex digits: WhatsApp's webhooks send
  -- base64 (standard or URL-safe), an export's importer hex; anything else is no hash
  select case
           when x.v ~ '^[0-9A-Fa-f]{64}$' then pg_catalog.lower(x.v)
           when x.v ~ '^[A-Za-z0-9+/_-]{43}=?$' then pg_catalog.encode(pg_catalog.decode(
             pg_catalog.rpad(pg_catalog.translate(x.v, '-_', '+/'), 44, '='), 'base64'), 'hex')
         end
    from (select m #>> '{metadata,sha256}' as v) x;
$$;
comment on function messaging_private.media_sha256(jsonb) is
  'Export/live matching: the SHA-256 of a message''s media file (metadata.sha256, hex or base64) as lowercase hex; null when the message carries none.';
revoke all on function messaging_private.media_sha256(jsonb)
  from public, anon, authenticated, service_role;
