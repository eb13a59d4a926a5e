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
-- Field checks: each returns null when the value is fine, else 'field: reason'
-- -----------------------------------------------------------------------------

create or replace function messaging_private.text_error(
  v jsonb, field text, max_length integer, required boolean
)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when v is null or v = 'null'::jsonb then
      case when required then field || ': required' end
    when pg_catalog.jsonb_typeof(v) <> 'string' then
      pg_catalog.format('%s: must be a string, got %s', field, pg_catalog.jsonb_typeof(v))
    when pg_catalog.length(v #>> '{}') > max_length then
      pg_catalog.format('%s: longer than %s characters (%s)', field, max_length, pg_catalog.length(v #>> '{}'))
    when required and pg_catalog.btrim(v #>> '{}') = '' then
      field || ': must not be empty'
  end
$$;
comment on function messaging_private.text_error(jsonb, text, integer, boolean) is
  'Validation: null if v is an acceptable string field, else a message naming the field.';

create or replace function messaging_private.enum_error(
  v jsonb, field text, allowed text[], required boolean
)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when v is null or v = 'null'::jsonb then
      case when required then field || ': required' end
    when pg_catalog.jsonb_typeof(v) <> 'string' or not ((v #>> '{}') = any (allowed)) then
      pg_catalog.format('%s: must be one of %s, got %s', field,
        pg_catalog.array_to_string(allowed, ', '), pg_catalog.left(v::text, 60))
  end
$$;
comment on function messaging_private.enum_error(jsonb, text, text[], boolean) is
  'Validation: null if v is one of the allowed strings, else a message naming the field.';

create or replace function messaging_private.uuid_error(v jsonb, field text, required boolean)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when v is null or v = 'null'::jsonb then
      case when required then field || ': required' end
    when pg_catalog.jsonb_typeof(v) <> 'string'
      or (v #>> '{}') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      pg_catalog.format('%s: must be a UUID, got %s', field, pg_catalog.left(v::text, 60))
  end
$$;
comment on function messaging_private.uuid_error(jsonb, text, boolean) is
  'Validation: null if v is a UUID string, else a message naming the field.';

create or replace function messaging_private.timestamp_error(v jsonb, field text, required boolean)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  s text;
  t timestamptz;
begin
  if v is null or v = 'null'::jsonb then
    return case when required then field || ': required' end;
  end if;
  if pg_catalog.jsonb_typeof(v) <> 'string' then
    return pg_catalog.format('%s: must be an ISO 8601 string, got %s', field, pg_catalog.jsonb_typeof(v));
  end if;
  s := v #>> '{}';
  if s !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$' then
    return pg_catalog.format(
      '%s: %s is not an ISO 8601 timestamp with an offset, like 2026-02-01T10:30:00Z',
      field, pg_catalog.left(v::text, 60));
  end if;
  begin
    t := s::timestamptz;
  exception when others then
    return pg_catalog.format('%s: %s is not a real date and time', field, v::text);
  end;
  if t < '1970-01-01T00:00:00Z'::timestamptz or t > pg_catalog.now() + interval '1 day' then
    return pg_catalog.format('%s: %s is out of range (1970 to now)', field, v::text);
  end if;
  return null;
end;
$$;
comment on function messaging_private.timestamp_error(jsonb, text, boolean) is
  'Validation: null if v is an ISO 8601 timestamp with an offset, real and between 1970 and now; else a message naming the field.';

-- -----------------------------------------------------------------------------
-- Small helpers
-- -----------------------------------------------------------------------------

create or replace function messaging_private.iso_utc(t timestamptz)
returns text
language sql
immutable
set search_path = ''
as $$
  -- 2026-02-01T10:30:00Z, with the fraction only when there is one
  select pg_catalog.to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || coalesce(nullif(pg_catalog.rtrim(pg_catalog.to_char(t at time zone 'UTC', '.US'), '0'), '.'), '')
    || 'Z'
$$;
comment on function messaging_private.iso_utc(timestamptz) is 'A timestamp as an ISO 8601 UTC string (2026-02-01T10:30:00Z).';

create or replace function messaging_private.preview(m jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when pg_catalog.btrim(coalesce(m ->> 'content', '')) <> '' then
      pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace(m ->> 'content', '\s+', ' ', 'g')), 100)
    else '[' || coalesce(m ->> 'type', 'message') || ']'
  end
$$;
comment on function messaging_private.preview(jsonb) is 'The inbox preview of a stored message: its text, or [type] for media.';

create or replace function messaging_private.is_newer_edit(incoming jsonb, stored jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  -- a re-sent message replaces the stored one only with a newer edited_at
  -- (a missing edited_at counts as older)
  select incoming ->> 'edited_at' is not null
     and (stored ->> 'edited_at' is null
          or (incoming ->> 'edited_at')::timestamptz > (stored ->> 'edited_at')::timestamptz)
$$;
comment on function messaging_private.is_newer_edit(jsonb, jsonb) is
  'True when the incoming copy of a message carries a newer edited_at than the stored one.';

create or replace function messaging_private.id_hashes(msgs jsonb)
returns bigint[]
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.array_agg(pg_catalog.hashtextextended(x ->> 'id', 0) order by x.ord)
  from pg_catalog.jsonb_array_elements(msgs) with ordinality x(x, ord)
$$;
comment on function messaging_private.id_hashes(jsonb) is
  'hashtextextended(id, 0) of each message, in order: what chat_conversation_archives.id_hashes holds.';

create or replace function messaging_private.sort_messages(msgs jsonb)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(
    pg_catalog.jsonb_agg(e.m order by (e.m ->> 'sent_at')::timestamptz, (e.m ->> 'id') collate "C"),
    '[]'::jsonb)
  from pg_catalog.jsonb_array_elements(msgs) e(m)
$$;
comment on function messaging_private.sort_messages(jsonb) is 'A message array sorted by (sent_at, id).';

create or replace function messaging_private.store_chunks(
  conversation uuid, owner uuid, chunk uuid, msgs jsonb
)
returns void
language plpgsql
set search_path = ''
as $$
-- Writes msgs (sorted, non-empty) as archive chunks of at most archive_chunk_messages:
-- the first piece replaces chunk (or is inserted when chunk is null), the rest are new.
declare
  v_n integer := pg_catalog.jsonb_array_length(msgs);
  v_pieces integer := greatest(1, ceil(v_n::numeric / messaging_private.setting('archive_chunk_messages'))::integer);
  v_size integer := ceil(v_n::numeric / v_pieces)::integer;
  v_piece jsonb;
begin
  for i in 0 .. v_pieces - 1 loop
    select pg_catalog.jsonb_agg(e.m order by e.ord)
      into v_piece
      from pg_catalog.jsonb_array_elements(msgs) with ordinality e(m, ord)
     where e.ord > i * v_size and e.ord <= (i + 1) * v_size;
    if v_piece is null then
      continue;
    end if;
    if i = 0 and chunk is not null then
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
  'Writes sorted messages as archive chunks of bounded size, replacing the given chunk with the first piece.';

-- -----------------------------------------------------------------------------
-- Validation of a whole payload
-- -----------------------------------------------------------------------------

create or replace function messaging_private.payload_errors(payload jsonb)
returns text[]
language sql
stable
set search_path = ''
as $$
  with consts as (
    select
      array['whatsapp', 'signal', 'telegram', 'wechat'] as platforms,
      array['text', 'image', 'video', 'audio', 'voice', 'document', 'sticker', 'location',
            'contact', 'system', 'other'] as types,
      array['platform', 'external_conversation_id', 'participant_identifier', 'participant_name',
            'conversation_type', 'person_id', 'id', 'direction', 'type', 'content', 'media_url',
            'sent_at', 'sender_identifier', 'sender_name', 'reply_to_id', 'edited_at',
            'metadata'] as message_keys
  ),
  msgs as (
    select (e.ord - 1)::integer as i, e.m
    from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
  ),
  errs as (
    -- top level
    select -1 as i, 0 as n, pg_catalog.format('%s: unknown field (expected user_id, connection_id, platform, messages)', k) as err
    from pg_catalog.jsonb_object_keys(payload) k
    where k not in ('user_id', 'connection_id', 'platform', 'messages')
    union all
    select -1, 1, messaging_private.enum_error(payload -> 'platform', 'platform', c.platforms, false) from consts c
    union all
    select -1, 2, messaging_private.uuid_error(payload -> 'connection_id', 'connection_id', false)
    union all
    -- messages that are not objects
    select m.i, 0, pg_catalog.format('messages[%s]: must be an object, got %s', m.i, pg_catalog.jsonb_typeof(m.m))
    from msgs m where pg_catalog.jsonb_typeof(m.m) <> 'object'
    union all
    -- unknown keys
    select m.i, 1, pg_catalog.format('messages[%s].%s: unknown field', m.i, k)
    from msgs m cross join consts c
    cross join lateral pg_catalog.jsonb_object_keys(m.m) k
    where pg_catalog.jsonb_typeof(m.m) = 'object' and not (k = any (c.message_keys))
    union all
    -- fields
    select m.i, f.n, pg_catalog.format('messages[%s].%s', m.i, f.err)
    from msgs m cross join consts c
    cross join lateral (values
      (2, case
            when m.m -> 'platform' is null or m.m -> 'platform' = 'null'::jsonb then
              case when payload -> 'platform' is null or payload -> 'platform' = 'null'::jsonb
                   then 'platform: required (here or at the top level)' end
            else messaging_private.enum_error(m.m -> 'platform', 'platform', c.platforms, true)
          end),
      (3, messaging_private.text_error(m.m -> 'external_conversation_id', 'external_conversation_id', 256, true)),
      (4, messaging_private.text_error(m.m -> 'id', 'id', 256, true)),
      (5, messaging_private.enum_error(m.m -> 'direction', 'direction', array['inbound', 'outbound'], true)),
      (6, messaging_private.enum_error(m.m -> 'type', 'type', c.types, false)),
      (7, messaging_private.text_error(m.m -> 'content', 'content', 65536, false)),
      (8, messaging_private.text_error(m.m -> 'media_url', 'media_url', 2048, false)),
      (9, messaging_private.timestamp_error(m.m -> 'sent_at', 'sent_at', true)),
      (10, messaging_private.timestamp_error(m.m -> 'edited_at', 'edited_at', false)),
      (11, messaging_private.text_error(m.m -> 'participant_identifier', 'participant_identifier', 256, false)),
      (12, messaging_private.text_error(m.m -> 'participant_name', 'participant_name', 256, false)),
      (13, messaging_private.enum_error(m.m -> 'conversation_type', 'conversation_type', array['direct', 'group'], false)),
      (14, messaging_private.uuid_error(m.m -> 'person_id', 'person_id', false)),
      (15, messaging_private.text_error(m.m -> 'sender_identifier', 'sender_identifier', 256, false)),
      (16, messaging_private.text_error(m.m -> 'sender_name', 'sender_name', 256, false)),
      (17, messaging_private.text_error(m.m -> 'reply_to_id', 'reply_to_id', 256, false)),
      (18, case
             when m.m -> 'metadata' is null or m.m -> 'metadata' = 'null'::jsonb then null
             when pg_catalog.jsonb_typeof(m.m -> 'metadata') <> 'object' then
               'metadata: must be an object, got ' || pg_catalog.jsonb_typeof(m.m -> 'metadata')
             when pg_catalog.length((m.m -> 'metadata')::text) > 16384 then
               'metadata: larger than 16384 bytes as JSON'
           end)
    ) f(n, err)
    where pg_catalog.jsonb_typeof(m.m) = 'object' and f.err is not null
  )
  select coalesce(pg_catalog.array_agg(errs.err order by errs.i, errs.n), '{}')
  from errs
  where errs.err is not null
$$;
comment on function messaging_private.payload_errors(jsonb) is
  'Every problem of an ingest payload, each naming its field by path (messages[4].sent_at: ...); empty when valid.';

-- -----------------------------------------------------------------------------
-- The ingest itself
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := auth.jwt() ->> 'role';
  v_owner uuid;
  v_connection uuid;
  v_errors text[];
  v_total integer;
  v_groups jsonb;
  g jsonb;
  conv public.chat_conversations%rowtype;
  v_created text[];
  v_results jsonb := '[]'::jsonb;
  v_inserted_all integer := 0;
  v_dups_all integer := 0;
  v_updated_all integer := 0;
  -- per conversation
  v_hot jsonb;
  v_new jsonb;
  v_rest jsonb;
  v_hot_updates jsonb;
  v_arch_updates jsonb;
  v_incoming jsonb;
  v_old jsonb;
  v_spill jsonb;
  v_dups integer;
  v_n integer;
  v_inserted integer;
  v_updated integer;
  v_has_archive boolean;
  v_bound_at timestamptz;
  v_bound_id text;
  v_newest record;
  v_target record;
  v_hot_max integer := messaging_private.setting('hot_max_messages');
  v_hot_keep integer := messaging_private.setting('hot_keep_messages');
  v_chunk_max integer := messaging_private.setting('archive_chunk_messages');
  v_person uuid;
  v_first_new timestamptz;
begin
  -- ---- shape of the payload ---------------------------------------------------
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023',
      message = 'payload: must be a JSON object like {"messages": [...]}, got '
        || coalesce(pg_catalog.jsonb_typeof(payload), 'nothing');
  end if;
  if pg_catalog.jsonb_typeof(payload -> 'messages') is distinct from 'array' then
    raise exception using errcode = '22023',
      message = 'messages: required, must be an array of message objects, got '
        || coalesce(pg_catalog.jsonb_typeof(payload -> 'messages'), 'nothing');
  end if;
  v_total := pg_catalog.jsonb_array_length(payload -> 'messages');
  if v_total > 10000 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('messages: %s messages in one call; at most 10000', v_total),
      hint = 'Split the import into batches (the Python client does this for you).';
  end if;

  -- ---- who owns what is ingested --------------------------------------------
  if v_role is null then
    -- no JWT: a direct database session (migrations, psql, benchmarks) is trusted like
    -- service_role; a PostgREST session without claims never is.
    v_role := case when session_user = 'authenticator' then 'anon' else 'service_role' end;
  end if;
  if v_role = 'authenticated' then
    v_owner := auth.uid();
    if v_owner is null then
      raise exception using errcode = '42501', message = 'ingest_messages: the token has no user (sub)';
    end if;
    if payload -> 'user_id' is not null and payload -> 'user_id' <> 'null'::jsonb
       and pg_catalog.lower(payload ->> 'user_id') is distinct from v_owner::text then
      raise exception using errcode = '42501',
        message = 'user_id: a signed-in user can only ingest their own messages',
        hint = 'Leave user_id out; it is taken from the token.';
    end if;
  elsif v_role = 'service_role' then
    if messaging_private.uuid_error(payload -> 'user_id', 'user_id', true) is not null then
      raise exception using errcode = '22023',
        message = messaging_private.uuid_error(payload -> 'user_id', 'user_id', true)
          || ' (the service role must name the owning CRM user)';
    end if;
    v_owner := (payload ->> 'user_id')::uuid;
    if not exists (select 1 from auth.users u where u.id = v_owner) then
      raise exception using errcode = '22023',
        message = pg_catalog.format('user_id: no user %s in auth.users', v_owner);
    end if;
  else
    raise exception using errcode = '42501',
      message = pg_catalog.format('ingest_messages: role %s may not ingest messages', v_role);
  end if;

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
      hint = 'Nothing was written. Fix the fields named and send the batch again.';
  end if;

  -- ---- references must be the owner's ---------------------------------------
  if payload ->> 'connection_id' is not null then
    v_connection := (payload ->> 'connection_id')::uuid;
    if not exists (select 1 from public.messaging_connections mc
                    where mc.id = v_connection and mc.user_id = v_owner) then
      raise exception using errcode = '42501',
        message = pg_catalog.format('connection_id: %s is not a connection of this user', v_connection);
    end if;
  end if;
  select p.pid into v_person
    from (select distinct (e.m ->> 'person_id')::uuid as pid
            from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
           where e.m ->> 'person_id' is not null) p
   where not exists (select 1 from public.people pp where pp.id = p.pid and pp.user_id = v_owner)
   limit 1;
  if v_person is not null then
    raise exception using errcode = '42501',
      message = pg_catalog.format('person_id: %s is not a person of this user', v_person);
  end if;

  if v_total = 0 then
    return pg_catalog.jsonb_build_object('inserted', 0, 'duplicates', 0, 'updated', 0, 'conversations', '[]'::jsonb);
  end if;

  -- ---- normalise, collapse repeats inside the batch, group by conversation ----
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
        'sent_at', messaging_private.iso_utc(r.sent_at))
      || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sender_identifier', r.m ->> 'sender_identifier',
        'sender_name', r.m ->> 'sender_name',
        'reply_to_id', r.m ->> 'reply_to_id',
        'edited_at', messaging_private.iso_utc(r.edited_at),
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
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'platform', gr.platform,
      'external_conversation_id', gr.ext_id,
      'batch_duplicates', gr.batch_dups,
      'messages', gr.msgs,
      'participant_identifier', messaging_private.normalize_identifier('any', gr.participant_identifier),
      'participant_name', gr.participant_name,
      'conversation_type', gr.conversation_type,
      'person_id', gr.person_id)
    order by gr.platform, gr.ext_id)
  into v_groups
  from grouped gr;

  -- ---- create missing conversations, then lock all of them in one fixed order ----
  with ins as (
    insert into public.chat_conversations (
      user_id, platform, external_conversation_id, connection_id, conversation_type,
      participant_identifier, participant_name, person_id)
    select v_owner, x ->> 'platform', x ->> 'external_conversation_id', v_connection,
      coalesce(x ->> 'conversation_type', 'direct'),
      x ->> 'participant_identifier', x ->> 'participant_name', (x ->> 'person_id')::uuid
    from pg_catalog.jsonb_array_elements(v_groups) x
    order by x ->> 'platform', x ->> 'external_conversation_id'
    on conflict (user_id, platform, external_conversation_id) do nothing
    returning platform, external_conversation_id
  )
  select coalesce(pg_catalog.array_agg(ins.platform || ':' || ins.external_conversation_id), '{}')
    into v_created from ins;

  perform 1
     from public.chat_conversations c
    where c.user_id = v_owner
      and (c.platform, c.external_conversation_id) in (
        select x ->> 'platform', x ->> 'external_conversation_id'
        from pg_catalog.jsonb_array_elements(v_groups) x)
    order by c.platform, c.external_conversation_id
    for update;

  -- ---- merge each conversation ------------------------------------------------
  for g in select x from pg_catalog.jsonb_array_elements(v_groups) x loop
    select * into strict conv
      from public.chat_conversations c
     where c.user_id = v_owner
       and c.platform = g ->> 'platform'
       and c.external_conversation_id = g ->> 'external_conversation_id';

    v_hot := conv.messages;
    v_new := g -> 'messages';
    v_has_archive := conv.message_count > pg_catalog.jsonb_array_length(v_hot);

    -- against the hot row: duplicates, newer edits, and the rest
    select
      coalesce(pg_catalog.jsonb_agg(n.m order by n.ord) filter (where h.m is null), '[]'::jsonb),
      coalesce(pg_catalog.jsonb_agg(n.m order by n.ord) filter (
        where h.m is not null and messaging_private.is_newer_edit(n.m, h.m)), '[]'::jsonb),
      pg_catalog.count(*) filter (
        where h.m is not null and not messaging_private.is_newer_edit(n.m, h.m))
      into v_rest, v_hot_updates, v_dups
      from pg_catalog.jsonb_array_elements(v_new) with ordinality n(m, ord)
      left join pg_catalog.jsonb_array_elements(v_hot) h(m) on (h.m ->> 'id') = (n.m ->> 'id');

    -- against the archive, through the id_hashes index
    v_arch_updates := '[]'::jsonb;
    if v_has_archive and pg_catalog.jsonb_array_length(v_rest) > 0 then
      with cand as (
        select a.id as chunk_id, e.m
          from public.chat_conversation_archives a
         cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
         where a.conversation_id = conv.id
           and a.id_hashes && messaging_private.id_hashes(v_rest)
      ),
      matched as (
        select n.m as nm, c.chunk_id, c.m as cm,
          messaging_private.is_newer_edit(n.m, c.m) as newer
          from pg_catalog.jsonb_array_elements(v_rest) n(m)
          join cand c on (c.m ->> 'id') = (n.m ->> 'id')
      )
      select
        coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('chunk', mt.chunk_id, 'm', mt.nm))
          filter (where mt.newer), '[]'::jsonb),
        v_dups + pg_catalog.count(*) filter (where not mt.newer),
        (select coalesce(pg_catalog.jsonb_agg(r.m), '[]'::jsonb)
           from pg_catalog.jsonb_array_elements(v_rest) r(m)
          where not exists (select 1 from matched mm where (mm.nm ->> 'id') = (r.m ->> 'id')))
        into v_arch_updates, v_dups, v_rest
        from matched mt;
    end if;

    v_inserted := pg_catalog.jsonb_array_length(v_rest);
    v_updated := pg_catalog.jsonb_array_length(v_hot_updates) + pg_catalog.jsonb_array_length(v_arch_updates);
    v_dups := v_dups + (g ->> 'batch_duplicates')::integer;

    -- an edit replaces the stored message: take the old version out, insert the new one
    if pg_catalog.jsonb_array_length(v_hot_updates) > 0 then
      select coalesce(pg_catalog.jsonb_agg(h.m order by h.ord), '[]'::jsonb) into v_hot
        from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord)
       where not exists (select 1 from pg_catalog.jsonb_array_elements(v_hot_updates) u(m)
                          where (u.m ->> 'id') = (h.m ->> 'id'));
    end if;
    for v_target in
      select (u.x ->> 'chunk')::uuid as chunk, pg_catalog.array_agg(u.x -> 'm' ->> 'id') as ids
        from pg_catalog.jsonb_array_elements(v_arch_updates) u(x)
       group by 1
    loop
      select coalesce(pg_catalog.jsonb_agg(e.m order by e.ord), '[]'::jsonb) into v_spill
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) with ordinality e(m, ord)
       where a.id = v_target.chunk and not ((e.m ->> 'id') = any (v_target.ids));
      if pg_catalog.jsonb_array_length(v_spill) = 0 then
        delete from public.chat_conversation_archives a where a.id = v_target.chunk;
      else
        perform messaging_private.store_chunks(conv.id, v_owner, v_target.chunk, v_spill);
      end if;
    end loop;

    v_incoming := messaging_private.sort_messages(
      v_rest || v_hot_updates
      || coalesce((select pg_catalog.jsonb_agg(u.x -> 'm') from pg_catalog.jsonb_array_elements(v_arch_updates) u(x)),
                  '[]'::jsonb));

    -- the oldest message stored now (a duplicate never moves first_message_at)
    v_first_new := (v_incoming -> 0 ->> 'sent_at')::timestamptz;
    if pg_catalog.jsonb_array_length(v_incoming) > 0 then
      -- messages older than the hot row belong in the archive
      v_old := '[]'::jsonb;
      v_has_archive := v_has_archive
        and exists (select 1 from public.chat_conversation_archives a where a.conversation_id = conv.id);
      if v_has_archive then
        if pg_catalog.jsonb_array_length(v_hot) > 0 then
          v_bound_at := (v_hot -> 0 ->> 'sent_at')::timestamptz;
          v_bound_id := v_hot -> 0 ->> 'id';
        else
          select a.last_message_at, a.last_message_id into v_bound_at, v_bound_id
            from public.chat_conversation_archives a
           where a.conversation_id = conv.id
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
                  where a.conversation_id = conv.id
                    and (a.first_message_at, a.first_message_id collate "C") <= (o.ts, o.mid collate "C")
                  order by a.first_message_at desc, a.first_message_id collate "C" desc
                  limit 1),
                (select a.id from public.chat_conversation_archives a
                  where a.conversation_id = conv.id
                  order by a.first_message_at, a.first_message_id collate "C"
                  limit 1)) as chunk
              from o) t
           group by t.chunk
        loop
          perform messaging_private.store_chunks(conv.id, v_owner, v_target.chunk,
            messaging_private.sort_messages(
              (select a.messages from public.chat_conversation_archives a where a.id = v_target.chunk)
              || v_target.msgs));
        end loop;
      end if;

      -- the rest joins the hot row
      if pg_catalog.jsonb_array_length(v_incoming) > 0 then
        if pg_catalog.jsonb_array_length(v_hot) = 0
           or ((v_incoming -> 0 ->> 'sent_at')::timestamptz, (v_incoming -> 0 ->> 'id') collate "C")
              > ((v_hot -> -1 ->> 'sent_at')::timestamptz, (v_hot -> -1 ->> 'id') collate "C") then
          v_hot := v_hot || v_incoming;  -- the common case: newer than everything held
        else
          v_hot := messaging_private.sort_messages(v_hot || v_incoming);
        end if;
      end if;

      -- past the cap: the oldest spill into the archive, in bulk
      v_n := pg_catalog.jsonb_array_length(v_hot);
      if v_n > v_hot_max then
        select
          pg_catalog.jsonb_agg(h.m order by h.ord) filter (where h.ord <= v_n - v_hot_keep),
          pg_catalog.jsonb_agg(h.m order by h.ord) filter (where h.ord > v_n - v_hot_keep)
          into v_spill, v_hot
          from pg_catalog.jsonb_array_elements(v_hot) with ordinality h(m, ord);
        select a.id, a.message_count, a.messages into v_newest
          from public.chat_conversation_archives a
         where a.conversation_id = conv.id
         order by a.first_message_at desc, a.first_message_id collate "C" desc
         limit 1;
        if v_newest.id is not null
           and v_newest.message_count + pg_catalog.jsonb_array_length(v_spill) <= v_chunk_max then
          perform messaging_private.store_chunks(conv.id, v_owner, v_newest.id, v_newest.messages || v_spill);
        else
          perform messaging_private.store_chunks(conv.id, v_owner, null, v_spill);
        end if;
      end if;
    end if;

    -- ---- the conversation row -------------------------------------------------
    update public.chat_conversations c
       set messages = v_hot,
           message_count = c.message_count + v_inserted,
           first_message_at = least(c.first_message_at, v_first_new),
           last_message_at = greatest(c.last_message_at, (v_hot -> -1 ->> 'sent_at')::timestamptz),
           last_message_preview = coalesce(messaging_private.preview(v_hot -> -1), c.last_message_preview),
           participant_identifier = coalesce(g ->> 'participant_identifier', c.participant_identifier),
           participant_name = coalesce(g ->> 'participant_name', c.participant_name),
           conversation_type = coalesce(g ->> 'conversation_type', c.conversation_type),
           connection_id = coalesce(v_connection, c.connection_id),
           person_id = coalesce(
             (g ->> 'person_id')::uuid,
             c.person_id,
             messaging_private.match_person(v_owner, c.platform,
               coalesce(g ->> 'participant_identifier', c.participant_identifier)))
     where c.id = conv.id
     returning * into conv;

    v_inserted_all := v_inserted_all + v_inserted;
    v_dups_all := v_dups_all + v_dups;
    v_updated_all := v_updated_all + v_updated;
    v_results := v_results || pg_catalog.jsonb_build_object(
      'id', conv.id,
      'platform', conv.platform,
      'external_conversation_id', conv.external_conversation_id,
      'created', (conv.platform || ':' || conv.external_conversation_id) = any (v_created),
      'inserted', v_inserted,
      'duplicates', v_dups,
      'updated', v_updated,
      'person_id', conv.person_id,
      'message_count', conv.message_count);
  end loop;

  if v_connection is not null then
    update public.messaging_connections mc
       set last_synced_at = pg_catalog.now()
     where mc.id = v_connection;
  end if;

  return pg_catalog.jsonb_build_object(
    'inserted', v_inserted_all,
    'duplicates', v_dups_all,
    'updated', v_updated_all,
    'conversations', v_results);
end;
$$;
comment on function messaging_private.ingest_messages(jsonb) is
  'The privileged body of public.ingest_messages: validates, groups, dedupes, merges, archives and links.';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;

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
  select messaging_private.ingest_messages(payload)
$$;
comment on function public.ingest_messages(jsonb) is
  'Ingests a batch of chat messages (see DESIGN.md section 3): all-or-nothing, idempotent, returns {inserted, duplicates, updated, conversations}.';
revoke all on function public.ingest_messages(jsonb) from public, anon;
grant execute on function public.ingest_messages(jsonb) to authenticated, service_role;
