-- =============================================================================
-- The feature-equal row-per-message baseline of `make bench`
--
-- What a competent engineer would build instead of the conversation store, with
-- the same features, so the benchmark compares designs and not shortcuts:
--   * one row per message, primary key (conversation_id, id): dedupe by id;
--     a re-sent id with a newer edited_at replaces the stored message, keeping the
--     replaced text in metadata.versions (the newest 20, versions_dropped past that);
--   * a header row per conversation (count, first/last, preview) kept true by
--     the same call, edits included;
--   * the same checks on input as ingest_messages (vocabularies, required
--     fields, lengths, timestamps, edited_at rules, metadata size and depth,
--     unknown keys), all-or-nothing with SQLSTATE 22023 naming every path;
--   * the same owner rules (a signed-in user writes as auth.uid(); the service
--     role names user_id), the same RLS: one policy per command and role,
--     (select auth.uid()), an index under every policy column;
--   * the same two search indexes over the same unaccented lower-case text
--     (content, sender name, media URL): full text with 'simple' and trigrams;
--   * a search that is a security definer filtering by auth.uid() itself, so
--     RLS never turns it into a scan (public.bench_baseline_search is its HTTP
--     entry point, as public.search_messages is the store's).
-- Throwaway: created by `make bench` next to the real schema and dropped after.
-- It depends on nothing private of the store: only auth.*, the extensions and
-- the public people / person_identifiers / messaging_connections tables.
-- =============================================================================

drop function if exists public.bench_baseline_search(text, integer);
drop function if exists public.bench_baseline_get_conversation_messages(uuid, timestamptz, text, integer);
drop view if exists public.bench_baseline_conversation_list;
drop schema if exists bench_baseline cascade;
create schema bench_baseline;
comment on schema bench_baseline is 'make bench: the row-per-message baseline (throwaway).';
grant usage on schema bench_baseline to authenticated, service_role;

create extension if not exists unaccent with schema extensions;
create extension if not exists pg_trgm with schema extensions;

-- The searchable text of a message: content, sender name and media URL, unaccented and
-- lower-cased (what the store indexes per message).
create function bench_baseline.search_text(content text, sender_name text, media_url text)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary,
    pg_catalog.concat_ws(' ', content, sender_name, media_url)))
$$;
comment on function bench_baseline.search_text(text, text, text) is
  'Search form of a message: unaccented, lower-cased content, sender name and media URL.';

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table bench_baseline.conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  connection_id uuid,
  platform text not null check (platform in ('whatsapp', 'signal', 'telegram', 'wechat')),
  external_conversation_id text not null,
  conversation_type text not null default 'direct',
  person_id uuid,
  -- the store's CRM link (any entity row), so both inbox lists return the same columns
  entity_table text,
  entity_id uuid,
  participant_identifier text,
  participant_name text,
  message_count integer not null default 0,
  first_message_at timestamptz,
  last_message_at timestamptz,
  last_message_preview text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, platform, external_conversation_id)
);
comment on table bench_baseline.conversations is 'Baseline: one header row per conversation.';
-- the inbox's keyset order (newest first, id breaking ties), as the store's index
create index conversations_inbox_idx
  on bench_baseline.conversations (user_id, last_message_at desc, id desc);
create index conversations_person_idx on bench_baseline.conversations (person_id);

create table bench_baseline.messages (
  conversation_id uuid not null references bench_baseline.conversations (id) on delete cascade,
  user_id uuid not null,
  id text collate "C" not null,
  direction text not null,
  type text not null,
  content text,
  media_url text,
  sent_at timestamptz not null,
  edited_at timestamptz,
  sender_identifier text,
  sender_name text,
  reply_to_id text,
  metadata jsonb,
  -- the searchable text, computed once per write (the store keeps a search document too):
  -- both indexes and every re-check read it instead of unaccenting again
  search_text text generated always as (bench_baseline.search_text(content, sender_name, media_url)) stored,
  primary key (conversation_id, id)
);
comment on table bench_baseline.messages is 'Baseline: one row per message.';
create index messages_thread_idx on bench_baseline.messages (conversation_id, sent_at, id);
create index messages_user_idx on bench_baseline.messages (user_id, sent_at);
create index messages_search_fts_idx on bench_baseline.messages
  using gin (pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, search_text));
create index messages_search_trgm_idx on bench_baseline.messages
  using gin (search_text extensions.gin_trgm_ops);

-- -----------------------------------------------------------------------------
-- RLS: one policy per command and role; writes only through ingest_messages
-- -----------------------------------------------------------------------------

alter table bench_baseline.conversations enable row level security;
alter table bench_baseline.messages enable row level security;
revoke all on bench_baseline.conversations, bench_baseline.messages from anon, authenticated, service_role;
grant select, delete on bench_baseline.conversations to authenticated, service_role;
grant update (person_id, entity_table, entity_id) on bench_baseline.conversations to authenticated, service_role;
grant select on bench_baseline.messages to authenticated, service_role;

create policy conversations_select on bench_baseline.conversations
  for select to authenticated using (user_id = (select auth.uid()));
create policy conversations_update on bench_baseline.conversations
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy conversations_delete on bench_baseline.conversations
  for delete to authenticated using (user_id = (select auth.uid()));
create policy messages_select on bench_baseline.messages
  for select to authenticated using (user_id = (select auth.uid()));

create view bench_baseline.conversation_list
with (security_invoker = true)
as select * from bench_baseline.conversations;
comment on view bench_baseline.conversation_list is 'Baseline: the inbox, under the caller''s RLS.';
grant select on bench_baseline.conversation_list to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- Checks on input: the rules of ingest_messages, one set-based pass
-- -----------------------------------------------------------------------------

create function bench_baseline.payload_errors(payload jsonb)
returns text[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- PL/pgSQL so the plan is cached (PostgreSQL 15 plans a SQL function's body on every call)
  return (
  with msgs as (
    select e.ord - 1 as i, e.m, pg_catalog.jsonb_typeof(e.m) = 'object' as is_obj
    from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
  ),
  stamps as (
    -- sent_at and edited_at: ISO 8601 with an offset, a real date and time, 1970 to a day ahead
    select m.i, t.field, t.n, t.required, t.s,
      case
        when t.s is null then case when t.required then 'required' end
        when pg_catalog.jsonb_typeof(m.m -> t.field) <> 'string' then 'must be an ISO 8601 string'
        when t.s !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$'
          then 'not an ISO 8601 timestamp with an offset'
        when pg_catalog.substr(t.s, 6, 2)::integer not between 1 and 12
          or pg_catalog.substr(t.s, 9, 2)::integer not between 1 and pg_catalog.date_part('day',
               pg_catalog.make_date(greatest(1, pg_catalog.substr(t.s, 1, 4)::integer),
                 pg_catalog.substr(t.s, 6, 2)::integer, 1) + interval '1 month - 1 day')::integer
          or pg_catalog.substr(t.s, 12, 2)::integer > 23
          or pg_catalog.substr(t.s, 15, 2)::integer > 59
          or (pg_catalog.substr(t.s, 17, 1) = ':' and pg_catalog.substr(t.s, 18, 2)::integer > 59)
          or t.s !~ '([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)$'
          then 'not a real date and time'
        when t.s::timestamptz < '1970-01-01T00:00:00Z'::timestamptz
          or t.s::timestamptz > pg_catalog.now() + interval '1 day' then 'out of range (1970 to now)'
      end as err
    from msgs m
    cross join lateral (values
      ('sent_at', 9, true, m.m ->> 'sent_at'),
      ('edited_at', 10, false, m.m ->> 'edited_at')) t(field, n, required, s)
    where m.is_obj
  ),
  errs as (
    select m.i, 0 as n, pg_catalog.format('messages[%s]: must be an object', m.i) as err
    from msgs m where not m.is_obj
    union all
    select m.i, 1, pg_catalog.format('messages[%s].%s: unknown field', m.i, k)
    from msgs m cross join lateral pg_catalog.jsonb_object_keys(m.m) k
    where m.is_obj and k not in ('platform', 'external_conversation_id', 'participant_identifier',
      'participant_name', 'conversation_type', 'person_id', 'id', 'direction', 'type', 'content',
      'media_url', 'sent_at', 'edited_at', 'sender_identifier', 'sender_name', 'reply_to_id', 'metadata')
    union all
    select m.i, r.n, pg_catalog.format('messages[%s].%s: %s', m.i, r.field, r.err)
    from msgs m
    cross join lateral (values
      (2, 'platform', case
         when coalesce(m.m ->> 'platform', payload ->> 'platform') is null then 'required'
         when coalesce(m.m ->> 'platform', payload ->> 'platform')
              not in ('whatsapp', 'signal', 'telegram', 'wechat') then 'unknown platform' end),
      (3, 'external_conversation_id', case
         when pg_catalog.btrim(coalesce(m.m ->> 'external_conversation_id', '')) = '' then 'required'
         when pg_catalog.length(m.m ->> 'external_conversation_id') > 256 then 'too long' end),
      (4, 'id', case
         when pg_catalog.btrim(coalesce(m.m ->> 'id', '')) = '' then 'required'
         when pg_catalog.length(m.m ->> 'id') > 256 then 'too long' end),
      (5, 'direction', case
         when m.m ->> 'direction' is null then 'required'
         when m.m ->> 'direction' not in ('inbound', 'outbound') then 'must be inbound or outbound' end),
      (6, 'type', case when m.m ->> 'type' not in ('text', 'image', 'video', 'audio', 'voice',
         'document', 'sticker', 'location', 'contact', 'system', 'other') then 'unknown type' end),
      (7, 'content', case
         when pg_catalog.jsonb_typeof(m.m -> 'content') not in ('string', 'null') then 'must be a string'
         when pg_catalog.length(m.m ->> 'content') > 65536 then 'too long' end),
      (8, 'media_url', case when pg_catalog.length(m.m ->> 'media_url') > 2048 then 'too long' end),
      (11, 'participant_identifier', case when pg_catalog.length(m.m ->> 'participant_identifier') > 256 then 'too long' end),
      (12, 'participant_name', case when pg_catalog.length(m.m ->> 'participant_name') > 256 then 'too long' end),
      (13, 'conversation_type', case when m.m ->> 'conversation_type' not in ('direct', 'group') then 'must be direct or group' end),
      (14, 'person_id', case when m.m ->> 'person_id'
         !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then 'must be a UUID' end),
      (15, 'sender_identifier', case when pg_catalog.length(m.m ->> 'sender_identifier') > 256 then 'too long' end),
      (16, 'sender_name', case when pg_catalog.length(m.m ->> 'sender_name') > 256 then 'too long' end),
      (17, 'reply_to_id', case when pg_catalog.length(m.m ->> 'reply_to_id') > 256 then 'too long' end),
      (18, 'metadata', case
         when m.m -> 'metadata' is null or m.m -> 'metadata' = 'null'::jsonb then null
         when pg_catalog.jsonb_typeof(m.m -> 'metadata') <> 'object' then 'must be an object'
         when pg_catalog.length((m.m -> 'metadata')::text) > 16384 then 'larger than 16384 bytes'
         when pg_catalog.jsonb_path_exists(m.m -> 'metadata', 'strict $.**{32}') then 'deeper than 32 levels' end)
    ) r(n, field, err)
    where m.is_obj and r.err is not null
    union all
    select s.i, s.n, pg_catalog.format('messages[%s].%s: %s', s.i, s.field, s.err)
    from stamps s where s.err is not null
    union all
    -- edited_at never before sent_at
    select e.i, 10, pg_catalog.format('messages[%s].edited_at: earlier than sent_at', e.i)
    from stamps e join stamps s on s.i = e.i and s.field = 'sent_at' and s.err is null
    where e.field = 'edited_at' and e.s is not null and e.err is null
      and e.s::timestamptz < s.s::timestamptz
  )
  select coalesce(pg_catalog.array_agg(errs.err order by errs.i, errs.n), '{}') from errs
  );
end;
$$;
comment on function bench_baseline.payload_errors(jsonb) is
  'Baseline: every problem of an ingest payload, by path; empty when valid.';

-- -----------------------------------------------------------------------------
-- ingest_messages: the same payload, owner rules and answer as the store's
-- -----------------------------------------------------------------------------

create function bench_baseline.edit_metadata(
  stored_metadata jsonb, stored_content text, stored_at timestamptz, new_metadata jsonb, new_content text)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- The metadata of an edit's new row: its own, with the earlier versions of the stored row
-- and the stored text added as one {content, at} when the edit changes it (not for a
-- deleted row); the newest 20 kept, versions_dropped counting the others.
declare
  v_versions jsonb := case when pg_catalog.jsonb_typeof(stored_metadata -> 'versions') = 'array'
                           then stored_metadata -> 'versions' else '[]'::jsonb end;
  v_dropped bigint := case when pg_catalog.jsonb_typeof(stored_metadata -> 'versions_dropped') = 'number'
                           then (stored_metadata ->> 'versions_dropped')::numeric::bigint else 0 end;
  v_keep jsonb := '{}'::jsonb;
begin
  if stored_content is distinct from new_content
     and (stored_metadata -> 'deleted') is distinct from 'true'::jsonb then
    v_versions := v_versions || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'content', stored_content,
      'at', (pg_catalog.to_jsonb(stored_at at time zone 'UTC') #>> '{}') || 'Z'));
  end if;
  if pg_catalog.jsonb_array_length(v_versions) > 20 then
    v_dropped := v_dropped + pg_catalog.jsonb_array_length(v_versions) - 20;
    v_versions := (select pg_catalog.jsonb_agg(v.x order by v.ord)
                     from pg_catalog.jsonb_array_elements(v_versions) with ordinality v(x, ord)
                    where v.ord > pg_catalog.jsonb_array_length(v_versions) - 20);
  end if;
  if pg_catalog.jsonb_array_length(v_versions) > 0 then
    v_keep := v_keep || pg_catalog.jsonb_build_object('versions', v_versions);
  end if;
  if v_dropped > 0 then
    v_keep := v_keep || pg_catalog.jsonb_build_object('versions_dropped', v_dropped);
  end if;
  if v_keep = '{}'::jsonb then
    return new_metadata;
  end if;
  return case when pg_catalog.jsonb_typeof(new_metadata) = 'object' then new_metadata else '{}'::jsonb end || v_keep;
end;
$$;
comment on function bench_baseline.edit_metadata(jsonb, text, timestamptz, jsonb, text) is
  'Baseline: the metadata of an edited row, keeping the replaced text in versions as the store does.';

create function bench_baseline.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := coalesce(auth.jwt() ->> 'role', 'service_role');
  v_owner uuid;
  v_connection uuid;
  v_errors text[];
  v_convs jsonb;
  v_counts jsonb;
  v_result jsonb;
begin
  if payload is null or pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception using errcode = '22023', message = 'payload: must be a JSON object';
  end if;
  if pg_catalog.jsonb_typeof(payload -> 'messages') is distinct from 'array' then
    raise exception using errcode = '22023', message = 'messages: required, must be an array';
  end if;
  if pg_catalog.jsonb_array_length(payload -> 'messages') > 10000 then
    raise exception using errcode = '22023', message = 'messages: at most 10000 in one call';
  end if;
  if v_role = 'authenticated' then
    v_owner := auth.uid();
    if payload ? 'user_id' and payload ->> 'user_id' is distinct from v_owner::text then
      raise exception using errcode = '42501', message = 'user_id: not the signed-in user';
    end if;
  elsif v_role = 'service_role' then
    if coalesce(payload ->> 'user_id', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      raise exception using errcode = '22023', message = 'user_id: required for the service role';
    end if;
    v_owner := (payload ->> 'user_id')::uuid;
    if not exists (select 1 from auth.users u where u.id = v_owner) then
      raise exception using errcode = '22023', message = 'user_id: no such user';
    end if;
  else
    raise exception using errcode = '42501', message = 'ingest_messages: role may not ingest';
  end if;

  v_errors := bench_baseline.payload_errors(payload);
  if pg_catalog.cardinality(v_errors) > 0 then
    raise exception using errcode = '22023',
      message = 'invalid payload: ' || pg_catalog.array_to_string(v_errors[1:50], '; ');
  end if;
  if payload ->> 'connection_id' is not null then
    v_connection := (payload ->> 'connection_id')::uuid;
    if not exists (select 1 from public.messaging_connections mc
                    where mc.id = v_connection and mc.user_id = v_owner) then
      raise exception using errcode = '42501', message = 'connection_id: not a connection of this user';
    end if;
  end if;
  if exists (select 1 from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
              where e.m ->> 'person_id' is not null
                and not exists (select 1 from public.people p
                                 where p.id = (e.m ->> 'person_id')::uuid and p.user_id = v_owner)) then
    raise exception using errcode = '42501', message = 'person_id: not a person of this user';
  end if;

  -- 1. the batch's conversations exist, and are locked in one fixed order
  with src as (
    select coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
           e.m ->> 'external_conversation_id' as ext, e.m, e.ord, (e.m ->> 'sent_at')::timestamptz as sent_at
    from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
  ),
  conv as (
    select s.platform, s.ext,
      (pg_catalog.array_agg(s.m ->> 'participant_identifier' order by s.sent_at desc, s.ord desc)
         filter (where s.m ->> 'participant_identifier' is not null))[1] as participant_identifier,
      (pg_catalog.array_agg(s.m ->> 'participant_name' order by s.sent_at desc, s.ord desc)
         filter (where s.m ->> 'participant_name' is not null))[1] as participant_name,
      (pg_catalog.array_agg(s.m ->> 'conversation_type' order by s.sent_at desc, s.ord desc)
         filter (where s.m ->> 'conversation_type' is not null))[1] as conversation_type,
      (pg_catalog.array_agg(s.m ->> 'person_id' order by s.sent_at desc, s.ord desc)
         filter (where s.m ->> 'person_id' is not null))[1] as person_id,
      pg_catalog.count(*) as n
    from src s group by s.platform, s.ext
  ),
  ins as (
    insert into bench_baseline.conversations (
      user_id, platform, external_conversation_id, connection_id, conversation_type,
      participant_identifier, participant_name, person_id)
    select v_owner, c.platform, c.ext, v_connection, coalesce(c.conversation_type, 'direct'),
           c.participant_identifier, c.participant_name, c.person_id::uuid
    from conv c order by c.platform, c.ext
    on conflict (user_id, platform, external_conversation_id) do nothing
    returning id
  )
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'platform', c.platform, 'ext', c.ext, 'participant_identifier', c.participant_identifier,
           'participant_name', c.participant_name, 'conversation_type', c.conversation_type,
           'person_id', c.person_id, 'n', c.n))
    into v_convs
    from conv c;  -- (ins runs to completion whether or not it is read)

  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', h.id, 'created', h.message_count = 0)
                              || x.c order by h.platform, h.external_conversation_id)
    into v_convs
    from pg_catalog.jsonb_array_elements(coalesce(v_convs, '[]'::jsonb)) x(c)
    join bench_baseline.conversations h
      on h.user_id = v_owner and h.platform = x.c ->> 'platform' and h.external_conversation_id = x.c ->> 'ext';
  perform 1 from bench_baseline.conversations h
   where h.id in (select (x.c ->> 'id')::uuid from pg_catalog.jsonb_array_elements(coalesce(v_convs, '[]'::jsonb)) x(c))
   order by h.platform, h.external_conversation_id
   for update;

  -- 2. the messages: new ids inserted, a newer edited_at replaces, the rest are duplicates
  with src as (
    select distinct on (coalesce(e.m ->> 'platform', payload ->> 'platform'), e.m ->> 'external_conversation_id', e.m ->> 'id')
      coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
      e.m ->> 'external_conversation_id' as ext, e.m
    from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    order by 1, 2, e.m ->> 'id', (e.m ->> 'edited_at')::timestamptz desc nulls last, e.ord desc
  ),
  up as (
    insert into bench_baseline.messages as t (
      conversation_id, user_id, id, direction, type, content, media_url, sent_at, edited_at,
      sender_identifier, sender_name, reply_to_id, metadata)
    select (c.c ->> 'id')::uuid, v_owner, s.m ->> 'id', s.m ->> 'direction', coalesce(s.m ->> 'type', 'text'),
           s.m ->> 'content', s.m ->> 'media_url', (s.m ->> 'sent_at')::timestamptz,
           (s.m ->> 'edited_at')::timestamptz, s.m ->> 'sender_identifier', s.m ->> 'sender_name',
           s.m ->> 'reply_to_id', case when s.m -> 'metadata' <> 'null'::jsonb then s.m -> 'metadata' end
      from src s
      join pg_catalog.jsonb_array_elements(v_convs) c(c)
        on c.c ->> 'platform' = s.platform and c.c ->> 'ext' = s.ext
    on conflict (conversation_id, id) do update
       set direction = excluded.direction, type = excluded.type, content = excluded.content,
           media_url = excluded.media_url, sent_at = excluded.sent_at, edited_at = excluded.edited_at,
           sender_identifier = excluded.sender_identifier, sender_name = excluded.sender_name,
           reply_to_id = excluded.reply_to_id,
           metadata = bench_baseline.edit_metadata(t.metadata, t.content, coalesce(t.edited_at, t.sent_at),
                                                   excluded.metadata, excluded.content)
     where excluded.edited_at is not null
       and (t.edited_at is null or excluded.edited_at > t.edited_at)
    returning t.conversation_id, (t.xmax = 0) as inserted
  )
  select coalesce(pg_catalog.jsonb_object_agg(u.conversation_id, pg_catalog.jsonb_build_object(
           'inserted', u.inserted, 'updated', u.updated)), '{}'::jsonb)
    into v_counts
    from (select up.conversation_id, pg_catalog.count(*) filter (where up.inserted) as inserted,
                 pg_catalog.count(*) filter (where not up.inserted) as updated
            from up group by up.conversation_id) u;

  -- 3. the headers: count, and first / last / preview read back through the thread index,
  --    so an edit that moves a message in time keeps them true
  with d as (
    update bench_baseline.conversations h
       set message_count = h.message_count + coalesce((v_counts -> h.id::text ->> 'inserted')::integer, 0),
           first_message_at = f.sent_at,
           last_message_at = l.sent_at,
           last_message_preview = case when pg_catalog.btrim(coalesce(l.content, '')) <> ''
             then pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace(l.content, '\s+', ' ', 'g')), 100)
             else '[' || l.type || ']' end,
           participant_identifier = coalesce(x.c ->> 'participant_identifier', h.participant_identifier),
           participant_name = coalesce(x.c ->> 'participant_name', h.participant_name),
           conversation_type = coalesce(x.c ->> 'conversation_type', h.conversation_type),
           connection_id = coalesce(v_connection, h.connection_id),
           person_id = coalesce((x.c ->> 'person_id')::uuid, h.person_id, (
             select min(pi.person_id::text)::uuid from public.person_identifiers pi
              where pi.user_id = v_owner
                and pi.value = coalesce(x.c ->> 'participant_identifier', h.participant_identifier)
                and (pi.platform is null or pi.platform = h.platform)
             having pg_catalog.count(distinct pi.person_id) = 1)),
           updated_at = pg_catalog.now()
      from pg_catalog.jsonb_array_elements(v_convs) x(c)
      cross join lateral (select m.sent_at from bench_baseline.messages m
                           where m.conversation_id = (x.c ->> 'id')::uuid
                           order by m.sent_at, m.id limit 1) f
      cross join lateral (select m.sent_at, m.content, m.type from bench_baseline.messages m
                           where m.conversation_id = (x.c ->> 'id')::uuid
                           order by m.sent_at desc, m.id desc limit 1) l
     where h.id = (x.c ->> 'id')::uuid
    returning h.id, h.platform, h.external_conversation_id, h.person_id, h.message_count,
              (x.c ->> 'created')::boolean as created, (x.c ->> 'n')::integer as n
  )
  select pg_catalog.jsonb_build_object(
           'inserted', coalesce(sum(r.ins), 0), 'duplicates', coalesce(sum(r.n - r.ins - r.upd), 0),
           'updated', coalesce(sum(r.upd), 0),
           'conversations', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
             'id', r.id, 'platform', r.platform, 'external_conversation_id', r.external_conversation_id,
             'created', r.created, 'inserted', r.ins, 'duplicates', r.n - r.ins - r.upd, 'updated', r.upd,
             'person_id', r.person_id, 'message_count', r.message_count)), '[]'::jsonb))
    into v_result
    from (select d.*, coalesce((v_counts -> d.id::text ->> 'inserted')::integer, 0) as ins,
                 coalesce((v_counts -> d.id::text ->> 'updated')::integer, 0) as upd from d) r;

  if v_connection is not null then
    update public.messaging_connections mc set last_synced_at = pg_catalog.now() where mc.id = v_connection;
  end if;
  return v_result;
end;
$$;
comment on function bench_baseline.ingest_messages(jsonb) is
  'Baseline: ingest_messages'' contract over one row per message.';
revoke all on function bench_baseline.ingest_messages(jsonb) from public, anon;
grant execute on function bench_baseline.ingest_messages(jsonb) to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- Reads: a page of a thread (under RLS), and the search
-- -----------------------------------------------------------------------------

create function bench_baseline.message_json(m bench_baseline.messages)
returns jsonb
language sql
stable
-- no SET clause, so the planner inlines it into the reads (every name is schema-qualified)
as $$
  select pg_catalog.jsonb_build_object(
           'id', m.id, 'direction', m.direction, 'type', m.type, 'content', m.content,
           'media_url', m.media_url,
           'sent_at', (pg_catalog.to_jsonb(m.sent_at at time zone 'UTC') #>> '{}') || 'Z')
         || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
           'sender_identifier', m.sender_identifier, 'sender_name', m.sender_name,
           'reply_to_id', m.reply_to_id,
           'edited_at', (pg_catalog.to_jsonb(m.edited_at at time zone 'UTC') #>> '{}') || 'Z'))
         -- metadata as stored (a null inside it, like a version's null content, stays)
         || case when m.metadata is not null then pg_catalog.jsonb_build_object('metadata', m.metadata)
                 else '{}'::jsonb end
$$;
comment on function bench_baseline.message_json(bench_baseline.messages) is
  'Baseline: a stored message as the contract''s JSON object.';

create function bench_baseline.get_conversation_messages(
  conversation_id uuid, before_sent_at timestamptz default null, before_id text default null,
  max_count integer default 50)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  -- PL/pgSQL rather than SQL: PostgreSQL 15 plans a SQL function's body on every call
  return (
    select coalesce(pg_catalog.jsonb_agg(bench_baseline.message_json(p) order by p.sent_at desc, p.id desc), '[]'::jsonb)
    from (
      select m.* from bench_baseline.messages m
       where m.conversation_id = get_conversation_messages.conversation_id
         and (m.sent_at, m.id) < (coalesce(before_sent_at, 'infinity'::timestamptz), coalesce(before_id, '') collate "C")
       order by m.sent_at desc, m.id desc
       limit max_count
    ) p);
end;
$$;
comment on function bench_baseline.get_conversation_messages(uuid, timestamptz, text, integer) is
  'Baseline: a page of a thread, newest first, older than the cursor, under RLS.';
grant execute on function bench_baseline.get_conversation_messages(uuid, timestamptz, text, integer)
  to authenticated, service_role;

create function bench_baseline.search_messages(query text, max_count integer default 50)
returns setof jsonb
language plpgsql
stable
security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
declare
  v_owner uuid := auth.uid();
  v_norm text := pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary,
                   pg_catalog.btrim(pg_catalog.left(coalesce(query, ''), 200))));
  v_tsq tsquery;
  v_like text;
  v_words text[] := '{}'::text[];
begin
  if v_owner is null then
    raise exception using errcode = '42501', message = 'search_messages: sign in';
  end if;
  if max_count is null or max_count < 1 or max_count > 500 then
    raise exception using errcode = '22023', message = 'max_count: must be between 1 and 500';
  end if;
  if v_norm = '' then
    return;
  end if;
  v_tsq := pg_catalog.websearch_to_tsquery('pg_catalog.simple'::regconfig, v_norm);
  if pg_catalog.numnode(v_tsq) = 0 then
    v_tsq := null;
  end if;
  v_like := '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    v_norm, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  -- as the store does: every word of a plain query must occur as a substring before a
  -- message's tsvector is built (a cheap test that spares most of them)
  if v_tsq is not null and v_norm !~ '(^|\s)(or(\s|$)|-\S)' then
    select coalesce(pg_catalog.array_agg('%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
             w, '\', '\\'), '%', '\%'), '_', '\_') || '%'), '{}')
      into v_words
      from pg_catalog.unnest(pg_catalog.tsvector_to_array(
             pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, v_norm))) w;
  end if;

  -- the same ranking rule as the store: the newest 5 x max_count matches, ranked by
  -- ts_rank plus 0.5 for a substring match, then newest first
  return query
  with matched as (
    select m as msg, m.conversation_id, m.id, m.sent_at, m.content, m.search_text as doc
      from bench_baseline.messages m
     where m.user_id = v_owner
       and (m.search_text like v_like
            or (m.search_text like all (v_words)
                and pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, m.search_text) @@ v_tsq))
     order by m.sent_at desc
     limit max_count * 5
  ),
  ranked as (
    select h.*,
           (coalesce(pg_catalog.ts_rank(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, h.doc), v_tsq), 0)
            + case when h.doc like v_like then 0.5 else 0 end)::real as score
      from matched h
  )
  select pg_catalog.jsonb_build_object(
           'conversation_id', c.id, 'platform', c.platform, 'participant_name', c.participant_name,
           'person_id', c.person_id,
           'message', bench_baseline.message_json(r.msg),
           'snippet', pg_catalog.left(r.content, 120),
           'rank', r.score)
    from ranked r
    join bench_baseline.conversations c on c.id = r.conversation_id
   order by r.score desc, r.sent_at desc, r.id
   limit max_count;
end;
$$;
comment on function bench_baseline.search_messages(text, integer) is
  'Baseline: the signed-in user''s matching messages, best first; filters by auth.uid() itself so the search indexes are read.';
revoke all on function bench_baseline.search_messages(text, integer) from public, anon;
grant execute on function bench_baseline.search_messages(text, integer) to authenticated;

-- The HTTP entry point (PostgREST exposes public only), as public.search_messages is the store's.
create function public.bench_baseline_search(query text, max_count integer default 50)
returns setof jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select bench_baseline.search_messages(query, max_count)
$$;
comment on function public.bench_baseline_search(text, integer) is
  'make bench: the baseline''s search over HTTP (throwaway, dropped after the run).';
revoke all on function public.bench_baseline_search(text, integer) from public, anon;
grant execute on function public.bench_baseline_search(text, integer) to authenticated;

-- The HTTP entry points of the reads (PostgREST exposes public only): the inbox view and
-- the page function, the same definitions as above (not wrappers, so HTTP adds to the
-- baseline exactly what it adds to the store).
create view public.bench_baseline_conversation_list
with (security_invoker = true)
as select * from bench_baseline.conversations;
comment on view public.bench_baseline_conversation_list is
  'make bench: the baseline''s inbox over HTTP (throwaway, dropped after the run).';
revoke all on public.bench_baseline_conversation_list from anon, authenticated, service_role;
grant select on public.bench_baseline_conversation_list to authenticated;

create function public.bench_baseline_get_conversation_messages(
  conversation_id uuid, before_sent_at timestamptz default null, before_id text default null,
  max_count integer default 50)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return (
    select coalesce(pg_catalog.jsonb_agg(bench_baseline.message_json(p) order by p.sent_at desc, p.id desc), '[]'::jsonb)
    from (
      select m.* from bench_baseline.messages m
       where m.conversation_id = bench_baseline_get_conversation_messages.conversation_id
         and (m.sent_at, m.id) < (coalesce(before_sent_at, 'infinity'::timestamptz), coalesce(before_id, '') collate "C")
       order by m.sent_at desc, m.id desc
       limit max_count
    ) p);
end;
$$;
comment on function public.bench_baseline_get_conversation_messages(uuid, timestamptz, text, integer) is
  'make bench: the baseline''s page of a thread over HTTP (throwaway, dropped after the run).';
revoke all on function public.bench_baseline_get_conversation_messages(uuid, timestamptz, text, integer) from public, anon;
grant execute on function public.bench_baseline_get_conversation_messages(uuid, timestamptz, text, integer) to authenticated;
