-- =============================================================================
-- ingest_messages(payload jsonb): the one write path for messages
--
-- Validates the whole batch first (all-or-nothing, SQLSTATE 22023 naming every
-- bad field by path), derives the owner from the caller, groups by conversation,
-- locks the conversations in a fixed order, drops ids the conversation already
-- holds (hot row, or an archive chunk found through its id_hashes GIN index),
-- replaces messages re-sent with a newer edited_at, merges the rest in
-- (sent_at, id) order, spills the oldest into archive chunks past the cap, and
-- refreshes the conversation's counters and person link.
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
      when pg_catalog.btrim(coalesce(m ->> 'content', '')) <> '' then
        pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace(m ->> 'content', '\s+', ' ', 'g')), 100)
      else '[' || coalesce(m ->> 'type', 'message') || ']'
    end
  );
end;
$$;
comment on function messaging_private.preview(jsonb) is 'The inbox preview of a stored message: its text, or [type] for media.';

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

-- -----------------------------------------------------------------------------
-- Validation of a whole payload
-- -----------------------------------------------------------------------------

create or replace function messaging_private.payload_errors(payload jsonb)
returns text[]
language plpgsql
stable
set search_path = ''
as $$
declare
  v_errors text[];
  v_earliest timestamptz;
  v_future interval;
  v_depth bigint;
begin
  -- the contract's limits, in one read
  select pg_catalog.to_timestamp(pg_catalog.max(l.value) filter (where l.name = 'earliest_epoch_seconds')),
         pg_catalog.justify_interval(pg_catalog.make_interval(
           secs => pg_catalog.max(l.value) filter (where l.name = 'future_seconds'))),
         pg_catalog.max(l.value) filter (where l.name = 'metadata_max_depth')
    into v_earliest, v_future, v_depth
    from messaging_private.contract_limits l;
  v_errors := (
    -- One set-based pass over a table of rules: every field of the top level and of every
    -- message is checked by the same CASE, with no function call per message (a function
    -- with its own search_path cannot be inlined and would cost a call per field).
    -- The rules are the rows of messaging_private.payload_fields (migration
    -- messaging_contract, published by messaging_contract()), read once per call.
    with rules (scope, n, field, kind, max_length, required, allowed) as (
      select f.scope, f.position, f.field, f.kind, f.max_length, f.required, v.labels
        from messaging_private.payload_fields f
        left join (select e.enumtypid, pg_catalog.array_agg(e.enumlabel::text order by e.enumsortorder) as labels
                     from pg_catalog.pg_enum e group by e.enumtypid) v on v.enumtypid = f.vocabulary
    ),
    items as (
      select 'payload' as scope, -1 as i, '' as path, payload as obj
      union all
      select 'message', (e.ord - 1)::integer, pg_catalog.format('messages[%s].', e.ord - 1), e.m
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    top_platform as (
      select coalesce(payload -> 'platform', 'null'::jsonb) <> 'null'::jsonb as given
    ),
    errs as (
      -- messages that are not objects
      select it.i, 0 as n,
             pg_catalog.format('messages[%s]: must be an object, got %s', it.i, pg_catalog.jsonb_typeof(it.obj)) as err
      from items it
      where it.scope = 'message' and pg_catalog.jsonb_typeof(it.obj) <> 'object'
      union all
      -- unknown keys
      select it.i, 1,
             case when it.scope = 'payload'
               then pg_catalog.format('%s: unknown field (expected %s)', k,
                      (select pg_catalog.string_agg(r.field, ', ' order by r.n) from rules r where r.scope = 'payload'))
               else pg_catalog.format('%s%s: unknown field', it.path, k)
             end
      from items it
      cross join lateral pg_catalog.jsonb_object_keys(it.obj) k
      where pg_catalog.jsonb_typeof(it.obj) = 'object'
        and not exists (select 1 from rules r where r.scope = it.scope and r.field = k)
      union all
      -- every rule
      select it.i, r.n, it.path || r.field || ': ' || (
        case
          when f.v is null or f.v = 'null'::jsonb then
            case
              when r.field = 'platform' and r.scope = 'message' and tp.given then null
              when r.field = 'platform' and r.scope = 'message' then 'required (here or at the top level)'
              when r.required then 'required'
            end
          -- (the payload's messages array is checked before the fields are)
          when r.kind = 'array' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'array' then 'must be an array, got ' || pg_catalog.jsonb_typeof(f.v) end
          when r.kind = 'enum' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'string' or not (f.s = any (r.allowed)) then
              pg_catalog.format('must be one of %s, got %s',
                pg_catalog.array_to_string(r.allowed, ', '), pg_catalog.left(f.v::text, 60))
            end
          when r.kind = 'object' then
            case
              when pg_catalog.jsonb_typeof(f.v) <> 'object' then 'must be an object, got ' || pg_catalog.jsonb_typeof(f.v)
              when pg_catalog.length(f.v::text) > r.max_length then
                pg_catalog.format('longer than %s characters as JSON', r.max_length)
            end
          when r.kind = 'uuid' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'string'
                   or f.s !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
              pg_catalog.format('must be a UUID, got %s', pg_catalog.left(f.v::text, 60))
            end
          when pg_catalog.jsonb_typeof(f.v) <> 'string' then
            pg_catalog.format('must be a%s string, got %s',
              case when r.kind = 'timestamp' then 'n ISO 8601' else '' end, pg_catalog.jsonb_typeof(f.v))
          when r.kind = 'text' then
            case
              when pg_catalog.length(f.s) > r.max_length then
                pg_catalog.format('longer than %s characters (%s)', r.max_length, pg_catalog.length(f.s))
              when r.required and pg_catalog.btrim(f.s) = '' then 'must not be empty'
            end
          -- timestamps: ISO 8601 with an offset, a real date and time, from the earliest
          -- time to future_seconds past now (contract_limits). The
          -- format is fixed-width up to the minutes, so the parts are read by position
          -- (a boolean regex match is cheap, one with captures is not: bench/HISTORY.md).
          when f.s !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$' then
            pg_catalog.format('%s is not an ISO 8601 timestamp with an offset, like 2026-02-01T10:30:00Z',
              pg_catalog.left(f.v::text, 60))
          when not (
            case
              when pg_catalog.substr(f.s, 1, 4)::integer < 1
                or pg_catalog.substr(f.s, 6, 2)::integer not between 1 and 12 then false
              else pg_catalog.substr(f.s, 9, 2)::integer between 1 and pg_catalog.date_part('day',
                     pg_catalog.make_date(pg_catalog.substr(f.s, 1, 4)::integer, pg_catalog.substr(f.s, 6, 2)::integer, 1)
                     + interval '1 month' - interval '1 day')::integer
                and pg_catalog.substr(f.s, 12, 2)::integer <= 23
                and pg_catalog.substr(f.s, 15, 2)::integer <= 59
                and (pg_catalog.substr(f.s, 17, 1) <> ':' or pg_catalog.substr(f.s, 18, 2)::integer <= 59)
                and f.s ~ '([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)$'
            end) then
            pg_catalog.format('%s is not a real date and time', f.v::text)
          when f.s::timestamptz < v_earliest or f.s::timestamptz > pg_catalog.now() + v_future then
            pg_catalog.format('%s is out of range (%s to %s from now)', f.v::text,
              pg_catalog.to_char(v_earliest at time zone 'UTC', 'YYYY-MM-DD'), v_future)
        end)
      from items it
      cross join top_platform tp
      join rules r on r.scope = it.scope
      cross join lateral (select it.obj -> r.field as v, it.obj ->> r.field as s) f
      where pg_catalog.jsonb_typeof(it.obj) = 'object'
    )
    select coalesce(pg_catalog.array_agg(errs.err order by errs.i, errs.n), '{}')
    from errs
    where errs.err is not null
  );
  if pg_catalog.cardinality(v_errors) > 0 then
    return v_errors;
  end if;
  -- Rules across fields, once every field is valid on its own (the timestamps parse):
  -- an edit is not older than its message, and metadata nests at most metadata_max_depth
  -- levels (the bracket count is a cheap bound that spares walking flat metadata).
  return (
    select coalesce(pg_catalog.array_agg(x.err order by x.i, x.n), '{}')
    from (
      select e.ord - 1 as i, 10 as n,
             pg_catalog.format('messages[%s].edited_at: %s is earlier than sent_at %s',
               e.ord - 1, e.m -> 'edited_at', e.m -> 'sent_at') as err
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
       where pg_catalog.jsonb_typeof(e.m -> 'edited_at') = 'string'
         and (e.m ->> 'edited_at')::timestamptz < (e.m ->> 'sent_at')::timestamptz
      union all
      select e.ord - 1, 18,
             pg_catalog.format('messages[%s].metadata: nested deeper than %s levels', e.ord - 1, v_depth)
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
       where pg_catalog.jsonb_typeof(e.m -> 'metadata') = 'object'
         and pg_catalog.length(pg_catalog.regexp_replace((e.m -> 'metadata')::text, '[^\[{]', '', 'g')) > v_depth
         and pg_catalog.jsonb_path_exists(e.m -> 'metadata', pg_catalog.format(
               'strict $.**{%s to last} ? (@.type() == "object" || @.type() == "array")', v_depth)::jsonpath)
    ) x
  );
end;
$$;
comment on function messaging_private.payload_errors(jsonb) is
  'Every problem of an ingest payload, each naming its field by path (messages[4].sent_at: ...); empty when valid.';

-- -----------------------------------------------------------------------------
-- The ingest, in parts with one job each. They run inside the definer
-- messaging_private.ingest_messages (as its owner); no API role may call them.
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_owner(payload jsonb)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
-- The CRM user who owns what is ingested: a signed-in caller's own id, or the user_id
-- service_role names. Anyone else is refused.
declare
  v_role text := auth.jwt() ->> 'role';
  v_owner uuid;
begin
  if v_role is null then
    -- no JWT: a direct database session (migrations, psql, benchmarks) is trusted like
    -- service_role; a PostgREST session without claims never is.
    v_role := case when session_user = 'authenticator' then 'anon' else 'service_role' end;
  end if;
  if v_role = 'authenticated' then
    v_owner := (select auth.uid());
    if v_owner is null then
      raise exception using errcode = '42501', message = 'ingest_messages: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    if payload -> 'user_id' is not null and payload -> 'user_id' <> 'null'::jsonb
       and pg_catalog.lower(payload ->> 'user_id') is distinct from v_owner::text then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only ingest their own messages',
        hint = 'user_id_not_own';
    end if;
  elsif v_role = 'service_role' then
    if coalesce(payload ->> 'user_id', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
       or pg_catalog.jsonb_typeof(payload -> 'user_id') <> 'string' then
      raise exception using errcode = '22023',
        message = 'user_id: ' || case when payload -> 'user_id' is null or payload -> 'user_id' = 'null'::jsonb
                                      then 'required'
                                      else 'must be a UUID, got ' || pg_catalog.left((payload -> 'user_id')::text, 60) end
          || ' (the service role must name the owning CRM user)',
        hint = 'user_id_required';
    end if;
    v_owner := (payload ->> 'user_id')::uuid;
    if not exists (select 1 from auth.users u where u.id = v_owner) then
      raise exception using errcode = '22023',
        message = pg_catalog.format('user_id: no user %s in auth.users', v_owner),
        hint = 'user_unknown';
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('ingest_messages: role %s may not ingest messages', v_role),
      hint = 'role_not_allowed';
  end if;
  return v_owner;
end;
$$;
comment on function messaging_private.ingest_owner(jsonb) is
  'Ingest, part 1: the owning CRM user (the signed-in caller, or the user_id service_role names); 42501 / 22023 otherwise.';

create or replace function messaging_private.ingest_references(payload jsonb, owner uuid)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
-- The payload's connection (or null); a connection or person that is not the owner's is 42501.
declare
  v_connection uuid;
  v_person uuid;
begin
  if payload ->> 'connection_id' is not null then
    v_connection := (payload ->> 'connection_id')::uuid;
    if not exists (select 1 from public.messaging_connections mc
                    where mc.id = v_connection and mc.user_id = owner) then
      raise exception using errcode = '42501',
        message = pg_catalog.format('connection_id: %s is not a connection of this user', v_connection),
        hint = 'connection_not_own';
    end if;
  end if;
  select p.pid into v_person
    from (select distinct (e.m ->> 'person_id')::uuid as pid
            from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
           where e.m ->> 'person_id' is not null) p
   where not exists (select 1 from public.people pp where pp.id = p.pid and pp.user_id = owner)
   limit 1;
  if v_person is not null then
    raise exception using errcode = '42501',
      message = pg_catalog.format('person_id: %s is not a person of this user', v_person),
      hint = 'person_not_own';
  end if;
  return v_connection;
end;
$$;
comment on function messaging_private.ingest_references(jsonb, uuid) is
  'Ingest, part 2: checks that the connection and people a payload names are the owner''s; returns the connection id.';

create or replace function messaging_private.ingest_groups(payload jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The messages of a valid payload as stored objects, grouped by conversation (sorted by
-- platform, id), repeats inside the batch collapsed (the newest edited_at wins) and
-- counted, with the conversation fields the newest message gives. (One statement, but
-- plpgsql: its plan is kept for the session instead of planned again on every call.)
begin
  return (
    with src as (
      select
        e.ord,
        coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
        e.m ->> 'external_conversation_id' as ext_id,
        e.m ->> 'id' as msg_id,
        (e.m ->> 'sent_at')::timestamptz as sent_at,
        (e.m ->> 'edited_at')::timestamptz as edited_at,
        e.m
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    ranked as (
      select s.*,
        pg_catalog.row_number() over (
          partition by s.platform, s.ext_id, s.msg_id
          order by s.edited_at desc nulls last, s.ord desc) as rn
      from src s
    ),
    stored as (
      select r.*,
        pg_catalog.jsonb_build_object(
          'id', r.msg_id,
          'direction', r.m ->> 'direction',
          'type', coalesce(r.m ->> 'type', 'text'),
          'content', r.m ->> 'content',
          'media_url', r.m ->> 'media_url',
          -- ISO 8601 UTC, the fraction only when there is one: 2026-02-01T10:30:00Z
          'sent_at', (pg_catalog.to_jsonb(r.sent_at at time zone 'UTC') #>> '{}') || 'Z')
        || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
          'sender_identifier', r.m ->> 'sender_identifier',
          'sender_name', r.m ->> 'sender_name',
          'reply_to_id', r.m ->> 'reply_to_id',
          'edited_at', (pg_catalog.to_jsonb(r.edited_at at time zone 'UTC') #>> '{}') || 'Z',
          'metadata', case when r.m -> 'metadata' <> 'null'::jsonb then r.m -> 'metadata' end)) as obj
      from ranked r
    ),
    grouped as (
      select
        s.platform, s.ext_id,
        pg_catalog.count(*) filter (where s.rn > 1) as batch_dups,
        pg_catalog.jsonb_agg(s.obj order by s.sent_at, s.msg_id collate "C") filter (where s.rn = 1) as msgs,
        (pg_catalog.array_agg(s.m ->> 'participant_identifier' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'participant_identifier' is not null))[1] as participant_identifier,
        (pg_catalog.array_agg(s.m ->> 'participant_name' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'participant_name' is not null))[1] as participant_name,
        (pg_catalog.array_agg(s.m ->> 'conversation_type' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'conversation_type' is not null))[1] as conversation_type,
        (pg_catalog.array_agg(s.m ->> 'person_id' order by s.sent_at desc, s.ord desc)
           filter (where s.m ->> 'person_id' is not null))[1] as person_id
      from stored s
      group by s.platform, s.ext_id
    )
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'platform', gr.platform,
        'external_conversation_id', gr.ext_id,
        'batch_duplicates', gr.batch_dups,
        'messages', gr.msgs,
        'participant_identifier', messaging_private.normalize_identifier('any', gr.participant_identifier),
        'participant_name', gr.participant_name,
        'conversation_type', gr.conversation_type,
        'person_id', gr.person_id)
      order by gr.platform, gr.ext_id), '[]'::jsonb)
    from grouped gr
  );
end;
$$;
comment on function messaging_private.ingest_groups(jsonb) is
  'Ingest, part 3: a valid payload''s messages as stored objects grouped by conversation, repeats collapsed (newest edited_at wins) and counted.';

-- The stored copy of a message, by id: the one lookup ingest_dedupe, apply_message_updates
-- and stored_message share (hot row first, then the archive chunks its id hash points to).
create or replace function messaging_private.stored_copies(
  conversation uuid, hot jsonb, has_archive boolean, msgs jsonb
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
  if pg_catalog.jsonb_array_length(msgs) > 20
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
comment on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb) is
  'The stored copies (chunk, m; chunk null: the hot row) of messages named by id in one conversation: the hot row first, then archive chunks found through id_hashes.';
revoke all on function messaging_private.stored_copies(uuid, jsonb, boolean, jsonb)
  from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_dedupe(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb,
  out fresh jsonb, out hot_edits jsonb, out archive_edits jsonb, out duplicates integer,
  out matched integer, out replaced jsonb
)
language plpgsql
stable
set search_path = ''
-- (as in stored_copies; kept here so the chunk reads of ingest_match, which runs under
-- this setting, are planned as index reads too)
set enable_seqscan = off
as $$
-- Each incoming message against its stored copy, if any (stored_copies: in the hot row,
-- or in an archive chunk found through the id_hashes index). A stored copy is replaced
-- only by one with a newer edited_at (a missing edited_at counts as older); else the
-- message is a duplicate.
-- fresh: not stored yet; hot_edits: replace a hot-row copy; archive_edits: {chunk, m}.
-- What no id matched then meets its export or live copy, if stored (ingest_match):
-- matched pairs, and replaced: stored export copies a platform copy takes the place of.
declare
  v_few jsonb;  -- the stored copies of a few incoming messages, [{chunk, m}]
begin
  -- the live case first: a few messages none of whose ids is stored are all fresh
  if pg_catalog.jsonb_array_length(incoming) <= 20 then
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', s.chunk, 'm', s.m)) into v_few
      from messaging_private.stored_copies(conversation, hot, has_archive, incoming) s;
  end if;
  if pg_catalog.jsonb_array_length(incoming) <= 20 and v_few is null then
    fresh := incoming;
    hot_edits := '[]'::jsonb;
    archive_edits := '[]'::jsonb;
    duplicates := 0;
    matched := 0;
    replaced := '[]'::jsonb;
    -- a live message meets an export copy only where one is stored in its minutes (the
    -- hot row asked in one path query: stored times are UTC text, so a minute's prefix
    -- bounds them)
    if exists (select 1 from pg_catalog.jsonb_array_elements(incoming) n(m)
                where n.m #>> '{metadata,id_source}' = 'export')
       or (hot @> '[{"metadata": {"id_source": "export"}}]'::jsonb
           and pg_catalog.jsonb_path_exists(hot,
                 '$[*] ? (@.metadata.id_source == "export" && @.sent_at >= $lo && @.sent_at < $hi)',
                 pg_catalog.jsonb_build_object(
                   'lo', pg_catalog.to_char((incoming -> 0 ->> 'sent_at')::timestamptz at time zone 'UTC',
                                            'YYYY-MM-DD"T"HH24:MI'),
                   'hi', pg_catalog.to_char((incoming -> -1 ->> 'sent_at')::timestamptz at time zone 'UTC'
                                            + interval '1 minute', 'YYYY-MM-DD"T"HH24:MI'))))
       or (has_archive and (pg_catalog.jsonb_array_length(hot) = 0
           or (incoming -> 0 ->> 'sent_at')::timestamptz < (hot -> 0 ->> 'sent_at')::timestamptz + interval '1 minute'))
    then
      select x.fresh, x.hot_edits, x.archive_edits, x.duplicates, x.matched, x.replaced
        into fresh, hot_edits, archive_edits, duplicates, matched, replaced
        from messaging_private.ingest_match(conversation, hot, has_archive, incoming) x;
    end if;
    return;
  end if;
  with stored as (
    -- looked up once: the few copies already found, or those of a large batch
    select (s.x ->> 'chunk')::uuid as chunk, s.x -> 'm' as m
      from pg_catalog.jsonb_array_elements(v_few) s(x)
     where v_few is not null
    union all
    select s.chunk, s.m
      from messaging_private.stored_copies(conversation, hot, has_archive, incoming) s
     where v_few is null
  ),
  matched as (
    select n.m as nm, n.ord, s.chunk, s.m as sm,
           coalesce(n.m ->> 'edited_at' is not null
             and (s.m ->> 'edited_at' is null
                  or (n.m ->> 'edited_at')::timestamptz > (s.m ->> 'edited_at')::timestamptz), false) as newer
      from pg_catalog.jsonb_array_elements(incoming) with ordinality n(m, ord)
      left join stored s on (s.m ->> 'id') = (n.m ->> 'id')
  )
  select
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord) filter (where x.sm is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(x.nm order by x.ord)
      filter (where x.sm is not null and x.newer and x.chunk is null), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', x.chunk, 'm', x.nm))
      filter (where x.sm is not null and x.newer and x.chunk is not null), '[]'::jsonb),
    pg_catalog.count(*) filter (where x.sm is not null and not x.newer)
    into fresh, hot_edits, archive_edits, duplicates
    from matched x;
  select x.fresh, ingest_dedupe.hot_edits || x.hot_edits, ingest_dedupe.archive_edits || x.archive_edits,
         ingest_dedupe.duplicates + x.duplicates, x.matched, x.replaced
    into fresh, hot_edits, archive_edits, duplicates, matched, replaced
    from messaging_private.ingest_match(conversation, hot, has_archive, fresh) x;
end;
$$;
comment on function messaging_private.ingest_dedupe(uuid, jsonb, boolean, jsonb) is
  'Ingest, part 4: splits incoming messages into fresh ones, edits of hot-row or archived copies, and duplicates.';

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

create or replace function messaging_private.ingest_merge(
  conversation uuid, owner uuid, hot jsonb, incoming jsonb,
  hot_max integer default null, hot_bytes integer default null
)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- Merges sorted incoming messages into the conversation: those older than the hot row go
-- to the archive chunk whose range holds them, the rest join the hot row; past the hot
-- row's caps (count, bytes of searchable text) the oldest spill into the archive in bulk.
-- Returns the new hot row. hot_max / hot_bytes: the caps, when the caller has read them
-- (each read of a setting is a query: a live append would otherwise make four).
declare
  v_hot jsonb := hot;
  v_incoming jsonb := incoming;
  v_old jsonb;
  v_spill jsonb;
  v_n integer;
  v_keep integer;
  v_bound_at timestamptz;
  v_bound_id text;
  v_newest record;
  v_target record;
  v_has_archive boolean;
  v_hot_max integer := coalesce(hot_max, messaging_private.setting('hot_max_messages'));
  v_hot_bytes integer := coalesce(hot_bytes, messaging_private.setting('hot_max_bytes'));
begin
  if pg_catalog.jsonb_array_length(v_incoming) = 0 then
    return v_hot;
  end if;
  -- the common case first: newer than everything the hot row holds (the archive is older)
  if pg_catalog.jsonb_array_length(v_hot) > 0
     and ((v_incoming -> 0 ->> 'sent_at')::timestamptz, (v_incoming -> 0 ->> 'id') collate "C")
         > ((v_hot -> -1 ->> 'sent_at')::timestamptz, (v_hot -> -1 ->> 'id') collate "C") then
    v_hot := v_hot || v_incoming;
  else
    v_has_archive := exists (select 1 from public.chat_conversation_archives a where a.conversation_id = conversation);
    if v_has_archive then
      if pg_catalog.jsonb_array_length(v_hot) > 0 then
        v_bound_at := (v_hot -> 0 ->> 'sent_at')::timestamptz;
        v_bound_id := v_hot -> 0 ->> 'id';
      else
        select a.last_message_at, a.last_message_id into v_bound_at, v_bound_id
          from public.chat_conversation_archives a
         where a.conversation_id = conversation
         order by a.first_message_at desc, a.first_message_id collate "C" desc
         limit 1;
      end if;
      select
        coalesce(pg_catalog.jsonb_agg(i.m order by i.ord) filter (
          where ((i.m ->> 'sent_at')::timestamptz, (i.m ->> 'id') collate "C") < (v_bound_at, v_bound_id collate "C")),
          '[]'::jsonb),
        coalesce(pg_catalog.jsonb_agg(i.m order by i.ord) filter (
          where ((i.m ->> 'sent_at')::timestamptz, (i.m ->> 'id') collate "C") >= (v_bound_at, v_bound_id collate "C")),
          '[]'::jsonb)
        into v_old, v_incoming
        from pg_catalog.jsonb_array_elements(v_incoming) with ordinality i(m, ord);

      -- each old message goes to the chunk whose range starts at or before it (or the oldest)
      for v_target in
        with o as (
          select x.m, (x.m ->> 'sent_at')::timestamptz as ts, x.m ->> 'id' as mid
            from pg_catalog.jsonb_array_elements(v_old) x(m)
        )
        select t.chunk, pg_catalog.jsonb_agg(t.m) as msgs
          from (
            select o.m, coalesce(
              (select a.id from public.chat_conversation_archives a
                where a.conversation_id = conversation
                  and (a.first_message_at, a.first_message_id collate "C") <= (o.ts, o.mid collate "C")
                order by a.first_message_at desc, a.first_message_id collate "C" desc
                limit 1),
              (select a.id from public.chat_conversation_archives a
                where a.conversation_id = conversation
                order by a.first_message_at, a.first_message_id collate "C"
                limit 1)) as chunk
            from o) t
         group by t.chunk
      loop
        perform messaging_private.store_chunks(conversation, owner, v_target.chunk,
          messaging_private.sort_messages(
            (select a.messages from public.chat_conversation_archives a where a.id = v_target.chunk)
            || v_target.msgs));
      end loop;
    end if;
    if pg_catalog.jsonb_array_length(v_incoming) > 0 then
      v_hot := messaging_private.sort_messages(v_hot || v_incoming);
    end if;
  end if;

  -- past the cap (or the byte budget of searchable text: the jsonb size is a cheap upper
  -- bound, the lines are sized only when it is passed) the oldest spill, in bulk
  v_n := pg_catalog.jsonb_array_length(v_hot);
  -- (v_hot was just built, so its size is its uncompressed jsonb size: at least the bytes of
  -- its strings)
  if v_n > v_hot_max
     or (pg_catalog.pg_column_size(v_hot) > v_hot_bytes
         and (select pg_catalog.sum(x) from pg_catalog.unnest(messaging_private.line_sizes(v_hot)) x) > v_hot_bytes)
  then
    v_keep := least(v_n - 1, messaging_private.newest_fitting(v_hot,
      messaging_private.setting('hot_keep_messages'), messaging_private.setting('hot_keep_bytes')));
    select
      pg_catalog.jsonb_agg(h.m order by h.ord) filter (where h.ord <= v_n - v_keep),
      pg_catalog.jsonb_agg(h.m order by h.ord) filter (where h.ord > v_n - v_keep)
      into v_spill, v_hot
      from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord);
    select a.id, a.message_count, a.messages into v_newest
      from public.chat_conversation_archives a
     where a.conversation_id = conversation
     order by a.first_message_at desc, a.first_message_id collate "C" desc
     limit 1;
    if v_newest.id is not null
       and v_newest.message_count + pg_catalog.jsonb_array_length(v_spill)
           <= messaging_private.setting('archive_chunk_messages') then
      perform messaging_private.store_chunks(conversation, owner, v_newest.id, v_newest.messages || v_spill);
    else
      perform messaging_private.store_chunks(conversation, owner, null, v_spill);
    end if;
  end if;
  return v_hot;
end;
$$;
comment on function messaging_private.ingest_merge(uuid, uuid, jsonb, jsonb, integer, integer) is
  'Ingest, part 6: merges sorted new messages into the archive (older than the hot row) and the hot row, spilling past its caps; returns the hot row.';

create or replace function messaging_private.ingest_summary(
  conversation uuid, hot jsonb, first_message_at timestamptz, edited boolean,
  out first_at timestamptz, out last_message jsonb
)
language plpgsql
stable
set search_path = ''
as $$
-- The conversation's oldest time and newest message after a merge. Appends only move
-- them forward (first_message_at: the older of the stored one and the oldest new one);
-- edits can move a message either way, even out of the hot row, so then the archive's
-- first and newest chunks say.
begin
  first_at := first_message_at;
  last_message := hot -> -1;
  if edited then
    select a.first_message_at into first_at
      from public.chat_conversation_archives a
     where a.conversation_id = conversation
     order by a.first_message_at, a.first_message_id collate "C"
     limit 1;
    if not found then
      first_at := (hot -> 0 ->> 'sent_at')::timestamptz;
    end if;
    if last_message is null then
      select a.messages -> -1 into last_message
        from public.chat_conversation_archives a
       where a.conversation_id = conversation
       order by a.first_message_at desc, a.first_message_id collate "C" desc
       limit 1;
    end if;
  end if;
end;
$$;
comment on function messaging_private.ingest_summary(uuid, jsonb, timestamptz, boolean) is
  'Ingest, part 7: the oldest time and the newest message of a conversation after a merge (edits included).';

-- -----------------------------------------------------------------------------
-- Export and live copies of one message. An export gives some messages ids of its
-- own making (a hash: WhatsApp .txt) and times cut to a minute or a second; a live
-- webhook gives the platform's id and the exact time. The importer marks such a copy
-- with metadata.id_source = 'export' and metadata.time_precision = 'minute' | 'second'
-- (anything else is a second). A fresh message meets a stored copy of the other kind
-- in the same conversation when direction, type, content (whitespace aside) and sender
-- agree and both times fall in the same minute (or second) of the export's precision;
-- pairs are made one to one, in (sent_at, id) order, so two `ok` of one minute stay
-- two. The copy with the platform id (exact time, status) is the one kept; the other
-- counts as a duplicate, and what it said differently is kept on the stored message as
-- metadata.matched {id, sent_at, and each field that differed}. ingest_dedupe calls
-- ingest_match with what is fresh after the id dedupe; ingest_messages takes the
-- replaced export copies out (match_take_out) before the edits are applied.
-- -----------------------------------------------------------------------------

create or replace function messaging_private.match_candidates(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored messages ({chunk, m}; chunk null for the hot row) that could be the other
-- copy of an incoming one: of the other kind (export vs platform id) and within the
-- minutes the incoming messages span. Chunks are read only where their range overlaps.
declare
  v_lo timestamptz;
  v_hi timestamptz;
  v_export boolean;
  v_live boolean;
begin
  select pg_catalog.min(pg_catalog.date_trunc('minute', (n.m ->> 'sent_at')::timestamptz, 'UTC')),
         pg_catalog.max(pg_catalog.date_trunc('minute', (n.m ->> 'sent_at')::timestamptz, 'UTC'))
           + interval '1 minute',
         pg_catalog.bool_or(n.m #>> '{metadata,id_source}' = 'export'),
         pg_catalog.bool_or(n.m #>> '{metadata,id_source}' is distinct from 'export')
    into v_lo, v_hi, v_export, v_live
    from pg_catalog.jsonb_array_elements(incoming) n(m);
  if v_lo is null then
    return '[]'::jsonb;
  end if;
  return (
    with stored as (
      select null::uuid as chunk, h.m
        from pg_catalog.jsonb_array_elements(hot) h(m)
      union all
      select a.id, e.m
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
       where has_archive
         and a.conversation_id = conversation
         and a.first_message_at < v_hi
         and a.last_message_at >= v_lo
    )
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', s.chunk, 'm', s.m)
                      order by (s.m ->> 'sent_at')::timestamptz, (s.m ->> 'id') collate "C"), '[]'::jsonb)
      from stored s
     where (s.m ->> 'sent_at')::timestamptz >= v_lo
       and (s.m ->> 'sent_at')::timestamptz < v_hi
       and case when s.m #>> '{metadata,id_source}' = 'export' then v_live else v_export end
  );
end;
$$;
comment on function messaging_private.match_candidates(uuid, jsonb, boolean, jsonb) is
  'Export/live matching: stored messages ({chunk, m}) of the other kind within the minutes incoming messages span, sorted by (sent_at, id).';

create or replace function messaging_private.match_pairs(incoming jsonb, stored jsonb, direct boolean)
returns jsonb
language plpgsql
stable  -- (text to timestamptz)
set search_path = ''
as $$
-- One-to-one pairs [{i, s}] (0-based positions in incoming and in stored, a {chunk, m}
-- array) of an export copy and a platform copy of the same message: same direction (in a
-- group, or the same sender identifier: a bot sees the account's own messages as a
-- member's), type (an export's omitted media, type other, meets any media type), content with
-- whitespace runs collapsed, sender (outbound, or a direct chat, or the same identifier
-- or name; Telegram's `user123` is 123), and the same minute or second (UTC) at the
-- export copy's precision. Greedy in order: each incoming message, in array order, takes
-- the first stored copy (in array order) not taken yet.
declare
  v_pair record;
  v_last_i integer := -1;                  -- pairs come ordered by i: the last one paired
  v_taken_s boolean[] := '{}'::boolean[];  -- by position (an expanded array: O(1) a look-up)
  v_out jsonb[] := '{}'::jsonb[];
begin
  for v_pair in
    -- joined on (text, minute): an export copy's precision is a minute or a second, so
    -- the two copies always share their UTC minute; the rest is checked per pair. Where
    -- one minute repeats one text very often (over 64 copies on a side: every pair would
    -- be tried), the k-th copy is tried only against the k-th of the other side: a pair
    -- missed that way leaves both copies stored, never one dropped.
    with n0 as (
      select (x.ord - 1)::integer as i, x.m, coalesce(x.m #>> '{metadata,id_source}' = 'export', false) as export,
             pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(x.m ->> 'content', '')), '\s+', ' ', 'g') as words,
             pg_catalog.date_trunc('minute', (x.m ->> 'sent_at')::timestamptz, 'UTC') as minute
        from pg_catalog.jsonb_array_elements(incoming) with ordinality x(m, ord)
    ),
    n as (
      select n0.*, pg_catalog.count(*) over w as copies, pg_catalog.row_number() over (w order by n0.i) as k
        from n0 window w as (partition by n0.words, n0.minute, n0.export)
    ),
    s0 as (
      select (x.ord - 1)::integer as s, x.v -> 'm' as m,
             coalesce(x.v #>> '{m,metadata,id_source}' = 'export', false) as export,
             pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(x.v #>> '{m,content}', '')), '\s+', ' ', 'g') as words,
             pg_catalog.date_trunc('minute', (x.v #>> '{m,sent_at}')::timestamptz, 'UTC') as minute
        from pg_catalog.jsonb_array_elements(stored) with ordinality x(v, ord)
    ),
    s as (
      select s0.*, pg_catalog.count(*) over w as copies, pg_catalog.row_number() over (w order by s0.s) as k
        from s0 window w as (partition by s0.words, s0.minute, s0.export)
    ),
    joined as (
      select n.i, s.s, n.export, n.m as nm, s.m as sm
        from n join s on n.words = s.words and n.minute = s.minute and n.export <> s.export
       where n.copies <= 64 and s.copies <= 64
      union all
      select n.i, s.s, n.export, n.m, s.m
        from n join s on n.words = s.words and n.minute = s.minute and n.k = s.k and n.export <> s.export
       where n.copies > 64 or s.copies > 64
    ),
    pairs as (
      select j.i, j.s, j.nm, j.sm,
             case when j.export then j.nm else j.sm end as e,   -- the export copy
             case when j.export then j.sm else j.nm end as l    -- the platform copy
        from joined j
    )
    select p.i, p.s
      from pairs p
     where (p.e ->> 'type' = p.l ->> 'type'
            or (p.e ->> 'type' = 'other' and p.e #>> '{metadata,media_omitted}' = 'true'
                and p.l ->> 'type' in ('image', 'video', 'audio', 'voice', 'document', 'sticker')))
       and pg_catalog.date_trunc(
             case when p.e #>> '{metadata,time_precision}' = 'minute' then 'minute' else 'second' end,
             (p.e ->> 'sent_at')::timestamptz, 'UTC')
         = pg_catalog.date_trunc(
             case when p.e #>> '{metadata,time_precision}' = 'minute' then 'minute' else 'second' end,
             (p.l ->> 'sent_at')::timestamptz, 'UTC')
       and ((p.nm ->> 'direction' = p.sm ->> 'direction'
             and (p.nm ->> 'direction' = 'outbound' or direct
                  or pg_catalog.regexp_replace(p.nm ->> 'sender_identifier', '^user(\d+)$', '\1')
                     = pg_catalog.regexp_replace(p.sm ->> 'sender_identifier', '^user(\d+)$', '\1')
                  or pg_catalog.lower(pg_catalog.btrim(p.nm ->> 'sender_name'))
                     = pg_catalog.lower(pg_catalog.btrim(p.sm ->> 'sender_name'))))
            -- a bot in a group cannot tell the account's own messages from the others': there
            -- the same sender id is the same sender whatever the direction says
            or (not direct
                and pg_catalog.regexp_replace(p.nm ->> 'sender_identifier', '^user(\d+)$', '\1')
                    = pg_catalog.regexp_replace(p.sm ->> 'sender_identifier', '^user(\d+)$', '\1')))
     order by p.i, p.s
  loop
    if v_pair.i <> v_last_i and v_taken_s[v_pair.s] is null then
      v_last_i := v_pair.i;
      v_taken_s[v_pair.s] := true;
      v_out := v_out || pg_catalog.jsonb_build_object('i', v_pair.i, 's', v_pair.s);
    end if;
  end loop;
  return pg_catalog.to_jsonb(v_out);
end;
$$;
comment on function messaging_private.match_pairs(jsonb, jsonb, boolean) is
  'Export/live matching: one-to-one, in-order pairs [{i, s}] of incoming messages and stored {chunk, m} copies of the other kind that are the same message.';

create or replace function messaging_private.match_copy(keep jsonb, other jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- The copy kept of a matched pair (the one with the platform id): its own fields, the
-- sender name, identifier and media the other had where it has none, and
-- metadata.matched = {id, sent_at} of the other copy plus each field the other said
-- differently (its metadata without the export marks), so nothing the two disagree on
-- is lost.
declare
  v_diff jsonb;
  v_other_meta jsonb := coalesce(other -> 'metadata', '{}'::jsonb) - 'id_source' - 'time_precision' - 'matched';
begin
  select coalesce(pg_catalog.jsonb_object_agg(f.k, other -> f.k), '{}'::jsonb) into v_diff
    from pg_catalog.unnest(array['content', 'type', 'media_url', 'sender_identifier', 'sender_name',
                                 'reply_to_id', 'edited_at']) f(k)
   where other -> f.k is not null and other -> f.k <> 'null'::jsonb
     and other -> f.k is distinct from keep -> f.k;
  if v_other_meta <> '{}'::jsonb and not (coalesce(keep -> 'metadata', '{}'::jsonb) @> v_other_meta) then
    v_diff := v_diff || pg_catalog.jsonb_build_object('metadata', v_other_meta);
  end if;
  return keep
    || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
         'sender_identifier', case when keep ->> 'sender_identifier' is null then other -> 'sender_identifier' end,
         'sender_name', case when keep ->> 'sender_name' is null then other -> 'sender_name' end,
         'media_url', case when keep ->> 'media_url' is null then other -> 'media_url' end))
    || pg_catalog.jsonb_build_object('metadata', coalesce(keep -> 'metadata', '{}'::jsonb)
         || pg_catalog.jsonb_build_object('matched',
              pg_catalog.jsonb_build_object('id', other -> 'id', 'sent_at', other -> 'sent_at') || v_diff));
end;
$$;
comment on function messaging_private.match_copy(jsonb, jsonb) is
  'Export/live matching: the kept copy of a pair, with what only the other copy had and metadata.matched = {id, sent_at, fields that differed} of the other.';

create or replace function messaging_private.ingest_match(
  conversation uuid, hot jsonb, has_archive boolean, incoming jsonb,
  out fresh jsonb, out hot_edits jsonb, out archive_edits jsonb, out duplicates integer,
  out matched integer, out replaced jsonb
)
language plpgsql
stable
set search_path = ''
as $$
-- Called by ingest_dedupe with the messages no stored id matched. An incoming export copy
-- of a stored platform message is a duplicate; the stored message learns metadata.matched
-- (once: an edit of it, in hot_edits or archive_edits). An incoming platform copy of a
-- stored export message replaces it: the new message (with metadata.matched) goes to
-- hot_edits (ingest_merge files it by time), the stored copy to replaced ({chunk, m}),
-- which ingest_messages takes out; the export copy counts as the duplicate.
declare
  v_stored jsonb;
  v_pairs jsonb;
  v_direct boolean;
begin
  fresh := incoming;
  hot_edits := '[]'::jsonb;
  archive_edits := '[]'::jsonb;
  duplicates := 0;
  matched := 0;
  replaced := '[]'::jsonb;
  if pg_catalog.jsonb_array_length(incoming) = 0 then
    return;
  end if;
  v_stored := messaging_private.match_candidates(conversation, hot, has_archive, incoming);
  if pg_catalog.jsonb_array_length(v_stored) = 0 then
    return;
  end if;
  select c.conversation_type = 'direct' into v_direct from public.chat_conversations c where c.id = conversation;
  v_pairs := messaging_private.match_pairs(incoming, v_stored, coalesce(v_direct, false));
  if pg_catalog.jsonb_array_length(v_pairs) = 0 then
    return;
  end if;
  with p as (
    select (x ->> 'i')::integer + 1 as i, (x ->> 's')::integer + 1 as s
      from pg_catalog.jsonb_array_elements(v_pairs) x
  ),
  n as (
    select x.ord as i, x.m, x.m #>> '{metadata,id_source}' = 'export' as export
      from pg_catalog.jsonb_array_elements(incoming) with ordinality x(m, ord)
  ),
  st as (
    select x.ord as s, x.v -> 'm' as m, (x.v ->> 'chunk')::uuid as chunk
      from pg_catalog.jsonb_array_elements(v_stored) with ordinality x(v, ord)
  ),
  j as (
    select n.i, coalesce(n.export, false) as export, n.m as nm, st.m as sm, st.chunk
      from p join n on n.i = p.i join st on st.s = p.s
  )
  select
    (select coalesce(pg_catalog.jsonb_agg(n.m order by n.i), '[]'::jsonb)
       from n where n.i not in (select p.i from p)),
    coalesce(pg_catalog.jsonb_agg(
        case when j.export then messaging_private.match_copy(j.sm, j.nm)
             else messaging_private.match_copy(j.nm, j.sm) end order by j.i)
      filter (where not j.export or (j.chunk is null and j.sm #> '{metadata,matched}' is null)), '[]'::jsonb),
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', j.chunk,
        'm', messaging_private.match_copy(j.sm, j.nm)) order by j.i)
      filter (where j.export and j.chunk is not null and j.sm #> '{metadata,matched}' is null), '[]'::jsonb),
    pg_catalog.count(*)::integer,
    pg_catalog.count(*)::integer,
    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', j.chunk, 'm', j.sm) order by j.i)
      filter (where not j.export), '[]'::jsonb)
    into fresh, hot_edits, archive_edits, duplicates, matched, replaced
    from j;
end;
$$;
comment on function messaging_private.ingest_match(uuid, jsonb, boolean, jsonb) is
  'Export/live matching, called by ingest_dedupe: splits messages no stored id matched into fresh ones, duplicates of a stored platform copy (which learns metadata.matched) and platform copies replacing a stored export copy (replaced).';

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

do $$
declare
  f regprocedure;
begin
  -- like the ingest parts: only inside ingest_messages, as its owner
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'messaging_private'
       and p.proname in ('match_candidates', 'match_pairs', 'match_copy', 'ingest_match', 'match_take_out')
  loop
    execute pg_catalog.format('revoke all on function %s from public, anon, authenticated, service_role', f);
  end loop;
end;
$$;

-- -----------------------------------------------------------------------------
-- The three strategies of the ingest over the conversations of a batch: create the new
-- ones (with their messages, when they fit), count the ones it only repeats, and the
-- per-conversation work of the parts above for the rest
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_new_conversations(
  owner uuid, connection uuid, groups jsonb, hot_max integer, hot_bytes integer,
  out marked_groups jsonb, out results jsonb[], out index jsonb[], out inserted integer,
  out duplicates integer, out existing integer
)
language plpgsql
set search_path = ''
as $$
-- Creates the conversations of groups (from ingest_groups) that do not exist yet, all in
-- one insert. marked_groups: the groups, each with created (this call made its
-- conversation) and fresh (and stored its messages: nothing more to do for it); results,
-- index, inserted, duplicates: what the fresh ones give ingest_messages' answer and the
-- search index; existing: how many groups are left for the other strategies. hot_max / hot_bytes: the
-- hot row's caps, read once by the caller.
begin
  -- A group whose messages fit the hot row (sorted and unique already; the jsonb size
  -- bounds the searchable text, as in ingest_merge) is created with them in the same
  -- insert: it needs no dedupe, merge or spill. A statement per conversation would cost
  -- seconds on 10,000 new conversations.
  with src as (
    select g.ord, g.x,
           pg_catalog.jsonb_array_length(g.x -> 'messages') <= hot_max
             and pg_catalog.pg_column_size(g.x -> 'messages') <= hot_bytes as fits
      from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
  ),
  ins as (
    insert into public.chat_conversations (
      user_id, platform, external_conversation_id, connection_id, conversation_type,
      participant_identifier, participant_name, person_id,
      messages, message_count, first_message_at, last_message_at, last_message_preview)
    select owner, x ->> 'platform', x ->> 'external_conversation_id', connection,
      coalesce(x ->> 'conversation_type', 'direct'),
      x ->> 'participant_identifier', x ->> 'participant_name',
      coalesce((x ->> 'person_id')::uuid,
               case when x ->> 'participant_identifier' is not null then
                 messaging_private.match_person(owner, x ->> 'platform', x ->> 'participant_identifier') end),
      case when fits then x -> 'messages' else '[]'::jsonb end,
      case when fits then pg_catalog.jsonb_array_length(x -> 'messages') else 0 end,
      case when fits then (x -> 'messages' -> 0 ->> 'sent_at')::timestamptz end,
      case when fits then (x -> 'messages' -> -1 ->> 'sent_at')::timestamptz end,
      case when fits then messaging_private.preview(x -> 'messages' -> -1) end
    from src
    order by x ->> 'platform', x ->> 'external_conversation_id'
    on conflict (user_id, platform, external_conversation_id) do nothing
    returning id, platform, external_conversation_id, person_id, message_count
  ),
  marked as (
    -- each group learns whether this call created its conversation, and stored it
    -- (one join, not a search of a list per conversation)
    select src.ord, src.x, ins.id, ins.person_id, ins.message_count,
           ins.id is not null as created, ins.id is not null and src.fits as fresh
      from src
      left join ins on ins.platform = src.x ->> 'platform'
                   and ins.external_conversation_id = src.x ->> 'external_conversation_id'
  )
  select
    pg_catalog.jsonb_agg(m.x || pg_catalog.jsonb_build_object('created', m.created, 'fresh', m.fresh)
      order by m.ord),
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object(
      'id', m.id,
      'platform', m.x ->> 'platform',
      'external_conversation_id', m.x ->> 'external_conversation_id',
      'created', true,
      'inserted', m.message_count,
      'duplicates', (m.x ->> 'batch_duplicates')::integer,
      'updated', 0,
      'matched', 0,
      'person_id', m.person_id,
      'message_count', m.message_count)) filter (where m.fresh), '{}'),
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object('conversation', m.id, 'messages', m.x -> 'messages'))
      filter (where m.fresh), '{}'),
    coalesce(pg_catalog.sum(m.message_count) filter (where m.fresh), 0),
    coalesce(pg_catalog.sum((m.x ->> 'batch_duplicates')::integer) filter (where m.fresh), 0),
    pg_catalog.count(*) filter (where not m.fresh)
    into marked_groups, results, index, inserted, duplicates, existing
    from marked m;
end;
$$;
comment on function messaging_private.ingest_new_conversations(uuid, uuid, jsonb, integer, integer) is
  'Ingest, new conversations: creates the missing conversations of a batch in one insert, with their messages where they fit the hot row; marks each group created / fresh.';

create or replace function messaging_private.ingest_unchanged(payload jsonb, owner uuid, connection uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- A valid batch that changes nothing (an export sent again), proved on the payload as it
-- came, before any stored object is built: every conversation exists and keeps its fields,
-- and every message id is stored, in the hot row or in an archive chunk whose time range
-- holds its sent_at, with an edited_at at least as new as the one sent (none sent counts as
-- oldest). Then the answer (every message a duplicate) comes from the rows, and nothing is
-- written or locked; it is the answer of the usual way as of the statement's snapshot.
-- Anything not proved (an id stored elsewhere, a newer edit, a new message, a field) gives
-- null, and ingest_messages goes the usual way (groups, dedupe, merge).
declare
  -- (#> reads one element; payload -> 'messages' would copy the whole array each time)
  v_first jsonb := payload #> '{messages,0}';
  v_last jsonb := payload #> '{messages,-1}';
  v_total integer;
begin
  -- two index probes first, so that a batch of new messages costs next to nothing here: the
  -- first message's conversation exists, and the last message is not newer than its own's
  if not exists (
       select 1 from public.chat_conversations c
        where c.user_id = owner
          and c.platform = coalesce(v_first ->> 'platform', payload ->> 'platform')
          and c.external_conversation_id = v_first ->> 'external_conversation_id')
     or not exists (
       select 1 from public.chat_conversations c
        where c.user_id = owner
          and c.platform = coalesce(v_last ->> 'platform', payload ->> 'platform')
          and c.external_conversation_id = v_last ->> 'external_conversation_id'
          and c.last_message_at >= (v_last ->> 'sent_at')::timestamptz)
  then
    return null;
  end if;
  v_total := pg_catalog.jsonb_array_length(payload -> 'messages');
  return (
    with src as (
      select e.ord, coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
             e.m ->> 'external_conversation_id' as ext_id, e.m
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    given as (
      -- the conversation fields the batch gives (as ingest_groups reads them: the newest
      -- message's), from the few messages that carry any
      select s.platform, s.ext_id,
        messaging_private.normalize_identifier('any',
          (pg_catalog.array_agg(s.m ->> 'participant_identifier' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
             filter (where s.m ->> 'participant_identifier' is not null))[1]) as participant_identifier,
        (pg_catalog.array_agg(s.m ->> 'participant_name' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
           filter (where s.m ->> 'participant_name' is not null))[1] as participant_name,
        (pg_catalog.array_agg(s.m ->> 'conversation_type' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
           filter (where s.m ->> 'conversation_type' is not null))[1] as conversation_type,
        (pg_catalog.array_agg(s.m ->> 'person_id' order by (s.m ->> 'sent_at')::timestamptz desc, s.ord desc)
           filter (where s.m ->> 'person_id' is not null))[1]::uuid as person_id
        from src s
       where s.m ?| array['participant_identifier', 'participant_name', 'conversation_type', 'person_id']
       group by s.platform, s.ext_id
    ),
    conv as (
      select g.platform, g.ext_id, g.n, c.id, c.person_id, c.message_count, c.messages,
             c.message_count > pg_catalog.jsonb_array_length(c.messages) as has_archive,
             c.id is not null
               and (coalesce(f.participant_identifier, c.participant_identifier),
                    coalesce(f.participant_name, c.participant_name),
                    coalesce(f.conversation_type, c.conversation_type),
                    coalesce(connection, c.connection_id),
                    coalesce(f.person_id, c.person_id))
                   is not distinct from
                   (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id)
               as kept
        from (select s.platform, s.ext_id, pg_catalog.count(*) as n from src s group by s.platform, s.ext_id) g
        left join given f on f.platform = g.platform and f.ext_id = g.ext_id
        left join public.chat_conversations c
          on c.user_id = owner and c.platform = g.platform and c.external_conversation_id = g.ext_id
    ),
    incoming as (
      select s.ord, s.m ->> 'id' as msg_id, s.m ->> 'edited_at' as edited_at, s.m ->> 'sent_at' as sent_at,
             c.id as conversation_id, c.has_archive
        from src s
        join conv c on c.platform = s.platform and c.ext_id = s.ext_id
       where c.kept
    ),
    hot as (
      select c.id as conversation_id, h.m ->> 'id' as msg_id, h.m ->> 'edited_at' as edited_at
        from conv c
       cross join lateral pg_catalog.jsonb_array_elements(c.messages) h(m)
       where c.kept
    ),
    in_hot as (
      select i.*, h.msg_id is not null as found,
             i.edited_at is null
               or (h.edited_at is not null and h.edited_at::timestamptz >= i.edited_at::timestamptz) as not_newer
        from incoming i
        left join hot h on h.conversation_id = i.conversation_id and h.msg_id = i.msg_id
    ),
    ranges as (
      -- per conversation, the times of the messages its hot row lacks
      select x.conversation_id, pg_catalog.min(x.sent_at::timestamptz) as lo, pg_catalog.max(x.sent_at::timestamptz) as hi
        from in_hot x
       where not x.found and x.has_archive
       group by x.conversation_id
    ),
    archived as (
      -- the chunks whose time ranges meet those times (chunks never overlap: the one
      -- starting at or before lo, up to the last starting at or before hi), chosen in a
      -- subquery of their own so that only they are expanded, whatever the join order
      select r.conversation_id, e.m ->> 'id' as msg_id, e.m ->> 'edited_at' as edited_at
        from ranges r
       cross join lateral (
         select a.messages
           from public.chat_conversation_archives a
          where a.conversation_id = r.conversation_id
            and a.first_message_at <= r.hi
            and a.last_message_at >= r.lo
            and a.first_message_at >= coalesce(
                  (select b.first_message_at from public.chat_conversation_archives b
                    where b.conversation_id = r.conversation_id and b.first_message_at <= r.lo
                    order by b.first_message_at desc limit 1), '-infinity')
         offset 0) a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
    ),
    in_archive as (
      select x.ord,
             x.edited_at is null
               or (s.edited_at is not null and s.edited_at::timestamptz >= x.edited_at::timestamptz) as not_newer
        from in_hot x
        join archived s on s.conversation_id = x.conversation_id and s.msg_id = x.msg_id
       where not x.found
    )
    select case
      when (select pg_catalog.bool_and(c.kept) from conv c)
       and (select pg_catalog.count(*) from in_hot x where x.found and x.not_newer)
           + (select pg_catalog.count(distinct y.ord) from in_archive y where y.not_newer)
           = v_total
      then pg_catalog.jsonb_build_object(
        'inserted', 0,
        'duplicates', v_total,
        'updated', 0,
        'matched', 0,
        'conversations', (
          select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
              'id', c.id,
              'platform', c.platform,
              'external_conversation_id', c.ext_id,
              'created', false,
              'inserted', 0,
              'duplicates', c.n,
              'updated', 0,
              'matched', 0,
              'person_id', c.person_id,
              'message_count', c.message_count)
            order by c.platform, c.ext_id)
            from conv c))
    end
  );
end;
$$;
comment on function messaging_private.ingest_unchanged(jsonb, uuid, uuid) is
  'Ingest, unchanged batches: the answer to a valid batch every message of which is stored (no newer edit, no field changed), proved from the payload and the rows without writing; null otherwise.';

create or replace function messaging_private.ingest_repeats(
  owner uuid, connection uuid, groups jsonb,
  out results jsonb[], out duplicates integer, out positions bigint[]
)
language plpgsql
stable
set search_path = ''
as $$
-- The existing conversations a batch only repeats, all at once: every message already in
-- the hot row and none with a newer edited_at, no conversation field changed (a re-sent
-- batch over 10,000 conversations would otherwise cost a dedupe per conversation).
-- results, duplicates: their part of ingest_messages' answer; positions: theirs in
-- groups (1-based), which ingest_existing then skips. The caller has locked them.
begin
  with repeated as (
    select g.ord, c.id, c.platform, c.external_conversation_id, c.person_id, c.message_count,
           (g.x ->> 'batch_duplicates')::integer + pg_catalog.jsonb_array_length(g.x -> 'messages') as dups
      from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
      join public.chat_conversations c
        on c.user_id = owner
       and c.platform = g.x ->> 'platform'
       and c.external_conversation_id = g.x ->> 'external_conversation_id'
     where not (g.x -> 'fresh')::boolean
       and (coalesce(g.x ->> 'participant_identifier', c.participant_identifier),
            coalesce(g.x ->> 'participant_name', c.participant_name),
            coalesce(g.x ->> 'conversation_type', c.conversation_type),
            coalesce(connection, c.connection_id),
            coalesce((g.x ->> 'person_id')::uuid, c.person_id))
           is not distinct from
           (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id)
       and not exists (
         select 1
           from pg_catalog.jsonb_array_elements(g.x -> 'messages') n(m)
          where not (c.messages @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', n.m -> 'id')))
             or (n.m ->> 'edited_at' is not null
                 and not (c.messages @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                            'id', n.m -> 'id', 'edited_at', n.m -> 'edited_at')))
                 and exists (select 1 from pg_catalog.jsonb_array_elements(c.messages) h(m)
                              where h.m ->> 'id' = n.m ->> 'id'
                                and (h.m ->> 'edited_at' is null
                                     or (h.m ->> 'edited_at')::timestamptz < (n.m ->> 'edited_at')::timestamptz))))
  )
  select
    coalesce(pg_catalog.array_agg(pg_catalog.jsonb_build_object(
      'id', r.id,
      'platform', r.platform,
      'external_conversation_id', r.external_conversation_id,
      'created', false,
      'inserted', 0,
      'duplicates', r.dups,
      'updated', 0,
      'matched', 0,
      'person_id', r.person_id,
      'message_count', r.message_count)), '{}'),
    coalesce(pg_catalog.sum(r.dups), 0),
    coalesce(pg_catalog.array_agg(r.ord), '{}')
    into results, duplicates, positions
    from repeated r;
end;
$$;
comment on function messaging_private.ingest_repeats(uuid, uuid, jsonb) is
  'Ingest, repeats: the existing conversations a batch only repeats (every message in the hot row, nothing newer, no field changed), counted at once without a dedupe each.';

create or replace function messaging_private.ingest_existing(
  owner uuid, connection uuid, groups jsonb, repeated bigint[], lock_each boolean,
  hot_max integer, hot_bytes integer,
  out results jsonb[], out index jsonb[], out inserted integer, out duplicates integer,
  out updated integer, out matched integer
)
language plpgsql
set search_path = ''
as $$
-- Each existing conversation of groups that is not fresh (ingest_new_conversations) nor
-- repeated (ingest_repeats, positions given): dedupe, export/live matching, edits, merge,
-- summary, then its row. lock_each: lock each conversation as it is read (the caller
-- locks several at once in a fixed order, one as it is read here). hot_max / hot_bytes:
-- the hot row's caps, read once by the caller. Returns each conversation's part of the
-- answer, the search index's batches and the counts.
declare
  g jsonb;
  conv public.chat_conversations%rowtype;
  v_row public.chat_conversations%rowtype;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append)
  v_results jsonb[] := '{}'::jsonb[];
  v_index jsonb[] := '{}'::jsonb[];
  v_inserted_all integer := 0;
  v_dups_all integer := 0;
  v_updated_all integer := 0;
  v_matched_all integer := 0;
  v_hot jsonb;
  v_dedupe record;
  v_incoming jsonb;
  v_inserted integer;
  v_updated integer;
  v_dups integer;
  v_first_at timestamptz;
  v_last jsonb;
begin
  for g in
    select x from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
     where not (x -> 'fresh')::boolean
       and g.ord not in (select pg_catalog.unnest(repeated))  -- (a hashed set)
  loop
    if lock_each then
      select * into strict conv
        from public.chat_conversations c
       where c.user_id = owner
         and c.platform = g ->> 'platform'
         and c.external_conversation_id = g ->> 'external_conversation_id'
         for update;
    else
      select * into strict conv
        from public.chat_conversations c
       where c.user_id = owner
         and c.platform = g ->> 'platform'
         and c.external_conversation_id = g ->> 'external_conversation_id';
    end if;

    v_dedupe := messaging_private.ingest_dedupe(conv.id, conv.messages,
      conv.message_count > pg_catalog.jsonb_array_length(conv.messages), g -> 'messages');
    v_inserted := pg_catalog.jsonb_array_length(v_dedupe.fresh);
    v_updated := pg_catalog.jsonb_array_length(v_dedupe.hot_edits)
      + pg_catalog.jsonb_array_length(v_dedupe.archive_edits);
    v_dups := v_dedupe.duplicates + (g ->> 'batch_duplicates')::integer;

    v_hot := conv.messages;
    if pg_catalog.jsonb_array_length(v_dedupe.replaced) > 0 then
      -- export copies that live copies (in hot_edits) replace
      v_hot := messaging_private.match_take_out(conv.id, owner, v_hot, v_dedupe.replaced);
    end if;
    if v_inserted + v_updated > 0 then
      if v_updated > 0 then
        v_hot := messaging_private.ingest_apply_edits(conv.id, owner, v_hot,
          v_dedupe.hot_edits, v_dedupe.archive_edits);
        v_incoming := messaging_private.sort_messages(v_dedupe.fresh || v_dedupe.hot_edits
          || coalesce((select pg_catalog.jsonb_agg(u.x -> 'm')
                         from pg_catalog.jsonb_array_elements(v_dedupe.archive_edits) u(x)), '[]'::jsonb));
      else
        v_incoming := v_dedupe.fresh;  -- already sorted by ingest_groups
      end if;
      v_hot := messaging_private.ingest_merge(conv.id, owner, v_hot, v_incoming, hot_max, hot_bytes);
      v_index := pg_catalog.array_append(v_index,
        pg_catalog.jsonb_build_object('conversation', conv.id, 'messages', v_incoming));
      select s.first_at, s.last_message into v_first_at, v_last
        from messaging_private.ingest_summary(conv.id, v_hot,
               least(conv.first_message_at, (v_incoming -> 0 ->> 'sent_at')::timestamptz), v_updated > 0) s;
    end if;

    -- ---- the conversation row -------------------------------------------------
    -- With nothing new (a re-import), messages are left as stored, so the row is not
    -- rewritten and its indexes not touched; it is not updated at all unless one of the
    -- conversation's own fields changes.
    update public.chat_conversations c
       set messages = case when v_inserted + v_updated > 0 then v_hot else c.messages end,
           message_count = c.message_count + v_inserted,
           first_message_at = case when v_inserted + v_updated > 0 then v_first_at else c.first_message_at end,
           last_message_at = case when v_inserted + v_updated > 0
                                  then (v_last ->> 'sent_at')::timestamptz else c.last_message_at end,
           last_message_preview = case when v_inserted + v_updated > 0
                                       then messaging_private.preview(v_last)
                                       else c.last_message_preview end,
           participant_identifier = coalesce(g ->> 'participant_identifier', c.participant_identifier),
           participant_name = coalesce(g ->> 'participant_name', c.participant_name),
           conversation_type = coalesce(g ->> 'conversation_type', c.conversation_type),
           connection_id = coalesce(connection, c.connection_id),
           -- (match_person is a query: asked only when there is an identifier to match)
           person_id = coalesce(
             (g ->> 'person_id')::uuid,
             c.person_id,
             case when coalesce(g ->> 'participant_identifier', c.participant_identifier) is not null then
               messaging_private.match_person(owner, c.platform,
                 coalesce(g ->> 'participant_identifier', c.participant_identifier)) end)
     where c.id = conv.id
       and (v_inserted + v_updated > 0
            or (coalesce(g ->> 'participant_identifier', c.participant_identifier),
                coalesce(g ->> 'participant_name', c.participant_name),
                coalesce(g ->> 'conversation_type', c.conversation_type),
                coalesce(connection, c.connection_id),
                coalesce((g ->> 'person_id')::uuid, c.person_id))
               is distinct from
               (c.participant_identifier, c.participant_name, c.conversation_type, c.connection_id, c.person_id))
     returning * into v_row;
    if found then
      conv := v_row;
    end if;

    v_inserted_all := v_inserted_all + v_inserted;
    v_dups_all := v_dups_all + v_dups;
    v_updated_all := v_updated_all + v_updated;
    v_matched_all := v_matched_all + v_dedupe.matched;
    v_results := pg_catalog.array_append(v_results, pg_catalog.jsonb_build_object(
      'id', conv.id,
      'platform', conv.platform,
      'external_conversation_id', conv.external_conversation_id,
      'created', (g -> 'created')::boolean,
      'inserted', v_inserted,
      'duplicates', v_dups,
      'updated', v_updated,
      'matched', v_dedupe.matched,
      'person_id', conv.person_id,
      'message_count', conv.message_count));
  end loop;

  results := v_results;
  index := v_index;
  inserted := v_inserted_all;
  duplicates := v_dups_all;
  updated := v_updated_all;
  matched := v_matched_all;
end;
$$;
comment on function messaging_private.ingest_existing(uuid, uuid, jsonb, bigint[], boolean, integer, integer) is
  'Ingest, existing conversations: per conversation a batch brings something to, dedupe, matching, edits, merge, summary and the row; returns the answer''s parts and counts.';

-- -----------------------------------------------------------------------------
-- The ingest itself: the parts above, in order, per conversation
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  v_connection uuid;
  v_errors text[];
  v_total integer;
  v_groups jsonb;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append, quadratic over 10,000 conversations)
  v_results jsonb[] := '{}'::jsonb[];
  v_index jsonb[] := '{}'::jsonb[];
  v_repeated bigint[] := '{}'::bigint[];
  v_existing integer;
  v_hot_max integer;
  v_hot_bytes integer;
  v_inserted_all integer := 0;
  v_dups_all integer := 0;
  v_updated_all integer := 0;
  v_matched_all integer := 0;
  v_unchanged jsonb;
  v_platform text;   -- the one conversation of a call into one conversation
  v_external text;
  v_new record;      -- what each strategy returns
  v_repeats record;
  v_each record;
begin
  -- ---- shape of the payload ---------------------------------------------------
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023',
      message = 'payload: must be a JSON object like {"messages": [...]}, got '
        || coalesce(pg_catalog.jsonb_typeof(payload), 'nothing'),
      hint = 'payload_not_object';
  end if;
  if pg_catalog.jsonb_typeof(payload -> 'messages') is distinct from 'array' then
    raise exception using errcode = '22023',
      message = 'messages: required, must be an array of message objects, got '
        || coalesce(pg_catalog.jsonb_typeof(payload -> 'messages'), 'nothing'),
      hint = 'messages_not_array';
  end if;
  v_total := pg_catalog.jsonb_array_length(payload -> 'messages');
  if v_total > messaging_private.contract_limit('messages_per_call') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('messages: %s messages in one call; at most %s', v_total,
        messaging_private.contract_limit('messages_per_call')),
      hint = 'too_many_messages';
  end if;

  v_owner := messaging_private.ingest_owner(payload);
  -- both caps in one query (a setting() call each would be two)
  select pg_catalog.max(s.value) filter (where s.key = 'hot_max_messages'),
         pg_catalog.max(s.value) filter (where s.key = 'hot_max_bytes')
    into v_hot_max, v_hot_bytes
    from messaging_private.settings s
   where s.key in ('hot_max_messages', 'hot_max_bytes');

  -- ---- every field of every message -----------------------------------------
  v_errors := messaging_private.payload_errors(payload);
  if pg_catalog.cardinality(v_errors) > 0 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('invalid payload, %s problem%s: %s', pg_catalog.cardinality(v_errors),
        case when pg_catalog.cardinality(v_errors) > 1 then 's' else '' end,
        pg_catalog.array_to_string(v_errors[1:50], '; ')
          || case when pg_catalog.cardinality(v_errors) > 50
                  then pg_catalog.format('; and %s more (see details)', pg_catalog.cardinality(v_errors) - 50)
                  else '' end),
      detail = pg_catalog.array_to_string(v_errors[1:2000], E'\n'),
      hint = 'payload_invalid';
  end if;

  v_connection := messaging_private.ingest_references(payload, v_owner);
  if v_total = 0 then
    return pg_catalog.jsonb_build_object('inserted', 0, 'duplicates', 0, 'updated', 0, 'matched', 0,
      'conversations', '[]'::jsonb);
  end if;

  -- ---- a batch that changes nothing (an export sent again): its answer, no write -----
  -- (not for a few messages, the live case: new ones, which the proof would only delay)
  if v_total > 20 then
    v_unchanged := messaging_private.ingest_unchanged(payload, v_owner, v_connection);
    if v_unchanged is not null then
      if v_connection is not null then
        update public.messaging_connections mc
           set last_synced_at = pg_catalog.now()
         where mc.id = v_connection;
      end if;
      return v_unchanged;
    end if;
  end if;
  v_groups := messaging_private.ingest_groups(payload);

  -- ---- the conversations this call creates, with their messages where they fit ----
  -- (each strategy's answer taken as a record: a call in a plain expression, not a query)
  -- (one conversation that exists, the live case: nothing to create, and no speculative
  -- insert, person match and preview of a row that is not written)
  -- (the key read into variables first: the group holds its messages, and a plan that
  -- evaluated the path per row scanned would walk them again for each row)
  if pg_catalog.jsonb_array_length(v_groups) = 1 then
    v_platform := v_groups -> 0 ->> 'platform';
    v_external := v_groups -> 0 ->> 'external_conversation_id';
  end if;
  if v_external is not null
     and exists (select 1 from public.chat_conversations c
                  where c.user_id = v_owner and c.platform = v_platform
                    and c.external_conversation_id = v_external) then
    v_groups := pg_catalog.jsonb_build_array(v_groups -> 0 || '{"created": false, "fresh": false}'::jsonb);
    v_existing := 1;
  else
    v_new := messaging_private.ingest_new_conversations(v_owner, v_connection, v_groups, v_hot_max, v_hot_bytes);
    v_groups := v_new.marked_groups;
    v_results := v_new.results;
    v_index := v_new.index;
    v_inserted_all := v_new.inserted;
    v_dups_all := v_new.duplicates;
    v_existing := v_new.existing;
  end if;

  -- ---- the existing ones locked in one fixed order ----------------------------
  -- (one existing conversation, the live case, is locked as the loop below reads it)
  if v_existing > 1 then
  perform 1
     from public.chat_conversations c
    where c.user_id = v_owner
      and (c.platform, c.external_conversation_id) in (
        select x ->> 'platform', x ->> 'external_conversation_id'
        from pg_catalog.jsonb_array_elements(v_groups) x
       where not (x -> 'fresh')::boolean)
    order by c.platform, c.external_conversation_id
    for update;
  end if;

  -- ---- conversations a batch only repeats, all at once. Only for batches over many
  -- existing conversations: for a few (live traffic, one message a call) the check reads
  -- every hot row once more than ingest_existing does, and it made a one-message call
  -- much dearer (figures in bench/HISTORY.md).
  if v_existing > 16 then
    v_repeats := messaging_private.ingest_repeats(v_owner, v_connection, v_groups);
    v_results := v_results || v_repeats.results;
    v_dups_all := v_dups_all + v_repeats.duplicates;
    v_repeated := v_repeats.positions;
  end if;

  -- ---- each other conversation: dedupe, edits, merge, summary ---------------------
  if v_existing > pg_catalog.cardinality(v_repeated) then
    v_each := messaging_private.ingest_existing(v_owner, v_connection, v_groups, v_repeated, v_existing = 1,
      v_hot_max, v_hot_bytes);
    v_results := v_results || v_each.results;
    v_index := v_index || v_each.index;
    v_inserted_all := v_inserted_all + v_each.inserted;
    v_dups_all := v_dups_all + v_each.duplicates;
    v_updated_all := v_each.updated;
    v_matched_all := v_each.matched;
  end if;

  -- the search segments of every conversation at once
  if pg_catalog.cardinality(v_index) > 0 then
    perform messaging_private.index_batches(v_owner, pg_catalog.to_jsonb(v_index));
  end if;

  if v_connection is not null then
    update public.messaging_connections mc
       set last_synced_at = pg_catalog.now()
     where mc.id = v_connection;
  end if;

  return pg_catalog.jsonb_build_object(
    'inserted', v_inserted_all,
    'duplicates', v_dups_all,
    'updated', v_updated_all,
    'matched', v_matched_all,
    'conversations', (select coalesce(pg_catalog.jsonb_agg(r.x order by r.x ->> 'platform', r.x ->> 'external_conversation_id'),
                                      '[]'::jsonb)
                        from pg_catalog.unnest(v_results) r(x)));
end;
$$;
comment on function messaging_private.ingest_messages(jsonb) is
  'The privileged body of public.ingest_messages: validates, then owner, references, groups, and per conversation dedupe, edits, merge and summary (the ingest_* parts).';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;

do $$
declare
  f regprocedure;
begin
  -- the parts run only inside ingest_messages, as its owner
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'messaging_private'
       and p.proname in ('ingest_owner', 'ingest_references', 'ingest_groups', 'ingest_dedupe',
                         'ingest_apply_edits', 'ingest_merge', 'ingest_summary',
                         'ingest_new_conversations', 'ingest_unchanged', 'ingest_repeats', 'ingest_existing')
  loop
    execute pg_catalog.format('revoke all on function %s from public, anon, authenticated, service_role', f);
  end loop;
end;
$$;

-- -----------------------------------------------------------------------------
-- The public RPC: supabase.rpc("ingest_messages", {"payload": {...}})
-- -----------------------------------------------------------------------------

create or replace function public.ingest_messages(payload jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.ingest_messages(payload);
$$;
comment on function public.ingest_messages(jsonb) is
  'Ingests a batch of chat messages (docs/contract.md): all-or-nothing, idempotent, returns {inserted, duplicates, updated, conversations}.';
revoke all on function public.ingest_messages(jsonb) from public, anon;
grant execute on function public.ingest_messages(jsonb) to authenticated, service_role;
