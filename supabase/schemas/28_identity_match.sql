-- =============================================================================
-- Identity matching: subscriber keys, linking from the screens, the picker's suggestions
--
-- person_identifiers.match_key (04_people.sql) is the identifier's subscriber key
-- (national phone variants folded), so matching a conversation is one index lookup on
-- (user_id, match_key) whatever the number of people; the identifier keeps the
-- spelling it came with in value. link_conversation_to_person and
-- create_person_from_conversation record the conversation's participant on the person,
-- which links the user's other unlinked conversations of the same key at once
-- (12_match.sql's trigger). suggest_people orders the picker: people whose identifiers
-- match the conversation, then recent ones, then by name.
-- =============================================================================

insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('person_not_found', 'P0002', 'call', 'Name a person of yours.',
   'link_conversation_to_person: the person does not exist or is not the caller''s.'),
  ('person_name_invalid', '22023', 'call', 'Give the person a name of 1 to 500 characters.',
   'create_person_from_conversation: an empty or too long name.');

-- the user's unlinked conversations of one subscriber key (a new identifier links them)
create index chat_conversations_participant_key_idx
  on public.chat_conversations (user_id, messaging_private.subscriber_key(participant_identifier))
  where person_id is null;

-- the picker: people by name, by the words of a name, and the people created last
create index people_user_name_idx on public.people (user_id, full_name, id);
create index people_user_created_idx on public.people (user_id, created_at desc);
-- a name containing the typed words (the picker's and the People page's ilike), found
-- without reading every person's name
create index people_full_name_trgm_idx on public.people using gin (full_name extensions.gin_trgm_ops);

-- -----------------------------------------------------------------------------
-- The caller's conversation and person, or a refusal naming which is missing
-- -----------------------------------------------------------------------------

create or replace function messaging_private.conversation_not_found(conversation_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  perform messaging_private.refuse('P0002', 'conversation_not_found',
    pg_catalog.format('conversation_id: no such conversation (%s)', conversation_id), 404);
end;
$$;
comment on function messaging_private.conversation_not_found(uuid) is
  'Raises conversation_not_found (HTTP 404 through PostgREST, SQLSTATE P0002 in SQL) for a conversation the caller cannot see.';

create or replace function messaging_private.person_not_found(person uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
-- person_not_found: HTTP 404 through PostgREST, SQLSTATE P0002 in SQL
begin
  perform messaging_private.refuse('P0002', 'person_not_found',
    pg_catalog.format('person_id: no such person (%s)', person), 404);
end;
$$;
comment on function messaging_private.person_not_found(uuid) is
  'Raises person_not_found for a person (P0002; HTTP 404 through PostgREST).';
revoke all on function messaging_private.person_not_found(uuid) from public, anon;
grant execute on function messaging_private.person_not_found(uuid) to authenticated, service_role;

create or replace function messaging_private.own_conversation(conversation_id uuid)
returns public.chat_conversations
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_row public.chat_conversations%rowtype;
begin
  if (select auth.uid()) is null then
    raise exception using errcode = '42501', message = 'sign in first', hint = 'role_not_allowed';
  end if;
  -- RLS and the owner: only a conversation of the caller
  select * into v_row from public.chat_conversations c
   where c.id = own_conversation.conversation_id and c.user_id = (select auth.uid());
  if not found then
    perform messaging_private.conversation_not_found(conversation_id);
  end if;
  return v_row;
end;
$$;
comment on function messaging_private.own_conversation(uuid) is
  'The signed-in caller''s conversation of that id; refuses (conversation_not_found, HTTP 404 through PostgREST) any other.';

create or replace function messaging_private.own_person(person_id uuid)
returns uuid
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  if not exists (select 1 from public.people p
                  where p.id = own_person.person_id and p.user_id = (select auth.uid())) then
    perform messaging_private.person_not_found(person_id);
  end if;
  return person_id;
end;
$$;
comment on function messaging_private.own_person(uuid) is
  'The id of the signed-in caller''s person; refuses (person_not_found, HTTP 404 through PostgREST) any other.';

-- -----------------------------------------------------------------------------
-- Linking records the participant's identifier
-- -----------------------------------------------------------------------------

create or replace function messaging_private.participant_kind(identifier text)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case
    when identifier is null then null
    when messaging_private.normalize_identifier('phone', identifier) is not null then 'phone'
    else 'username'
  end;
$$;
comment on function messaging_private.participant_kind(text) is
  'The kind a conversation''s participant identifier is recorded with on a person: phone for an E.164 phone, else username (also for a platform''s ids).';

create or replace function messaging_private.link_person(conv public.chat_conversations, person uuid)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
-- Links conv to person and records its participant identifier on the person (a phone for
-- any platform, another identifier for the conversation's platform); the identifier's
-- trigger then links the caller's other unlinked conversations of its subscriber key.
-- Both writes are under the caller's RLS; a repeat records nothing twice.
declare
  v_user uuid := (select auth.uid());
  v_kind text;
  v_identifier jsonb;
  v_linked integer;
begin
  update public.chat_conversations c set person_id = person where c.id = conv.id;
  if conv.conversation_type = 'direct' and conv.participant_identifier is not null then
    v_kind := messaging_private.participant_kind(conv.participant_identifier);
    v_identifier := pg_catalog.jsonb_build_object(
      'kind', v_kind,
      'platform', case when v_kind = 'phone' then null else conv.platform end,
      'value', conv.participant_identifier);
    insert into public.person_identifiers (user_id, person_id, kind, platform, value)
    values (v_user, person, v_kind, v_identifier ->> 'platform', conv.participant_identifier)
    on conflict on constraint person_identifiers_unique do nothing;
  end if;
  select pg_catalog.count(*)::integer into v_linked
    from public.chat_conversations c
   where c.user_id = v_user and c.person_id = person;
  return pg_catalog.jsonb_build_object(
    'conversation_id', conv.id, 'person_id', person, 'identifier', v_identifier,
    'person_conversations', v_linked);
end;
$$;
comment on function messaging_private.link_person(public.chat_conversations, uuid) is
  'Links a conversation of the caller to their person and records its participant identifier on the person (which links the other conversations of its subscriber key); {conversation_id, person_id, identifier, person_conversations}.';

create or replace function public.link_conversation_to_person(conversation_id uuid, person_id uuid)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_conv public.chat_conversations%rowtype := messaging_private.own_conversation(conversation_id);
begin
  return messaging_private.link_person(v_conv, messaging_private.own_person(person_id));
end;
$$;
comment on function public.link_conversation_to_person(uuid, uuid) is
  'Links the caller''s conversation to their person and records the conversation''s participant identifier (phone, username or id, with its kind) on the person, so every other unlinked conversation of that identifier (national variants included) links too. Refuses conversation_not_found / person_not_found, changing nothing. Returns {conversation_id, person_id, identifier {kind, platform, value} or null, person_conversations}.';

create or replace function public.create_person_from_conversation(conversation_id uuid, full_name text)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_conv public.chat_conversations%rowtype := messaging_private.own_conversation(conversation_id);
  v_name text := pg_catalog.btrim(full_name, E' \t\n\r\f\x0b');  -- \x0b: vertical tab (E'\v' is a v)
  v_person uuid;
  v_created boolean := false;
begin
  if v_name is null or v_name = '' or pg_catalog.length(v_name) > 500 then
    raise exception using errcode = '22023', hint = 'person_name_invalid',
      message = 'full_name: give the person a name of 1 to 500 characters';
  end if;
  -- a retry (the conversation already linked to a person of this name) creates nobody
  select p.id into v_person from public.people p
   where p.id = v_conv.person_id and p.full_name = v_name;
  if v_person is null then
    insert into public.people (user_id, full_name, phone)
    values ((select auth.uid()), v_name,
            case when messaging_private.participant_kind(v_conv.participant_identifier) = 'phone'
                  and v_conv.conversation_type = 'direct'
                 then v_conv.participant_identifier end)
    returning id into v_person;
    v_created := true;
  end if;
  return messaging_private.link_person(v_conv, v_person)
    || pg_catalog.jsonb_build_object('full_name', v_name, 'created', v_created);
end;
$$;
comment on function public.create_person_from_conversation(uuid, text) is
  'Creates a person named full_name (with the phone when the participant is one) from the caller''s conversation, links it and records the participant identifier as link_conversation_to_person does. A retry for a conversation already linked to a person of that name creates nobody (created false). Refuses conversation_not_found / person_name_invalid, changing nothing.';

-- -----------------------------------------------------------------------------
-- The picker's suggestions
-- -----------------------------------------------------------------------------

create or replace function messaging_private.suggest_people(
  conversation_id uuid, query text, max_count integer
)
returns table (id uuid, full_name text, email text, phone text, reason text, total bigint)
language plpgsql
stable
security definer
set search_path = ''
as $$
-- reason: identifier (an identifier of the person has the participant's subscriber key;
-- two such people are both listed, and neither is linked by itself), recent (a person of
-- the caller's latest conversations, or created last), name (the rest by name). query
-- keeps the people whose name has its words in order. Each part reads an index range; a
-- security definer that filters by the caller's id itself, because under row-level
-- security ilike (not leakproof) would be a filter after reading every person of the user
-- instead of a search of people_full_name_trgm_idx. total: the people with such a name,
-- up to 1,001.
declare
  v_user uuid := (select auth.uid());
  v_conv public.chat_conversations%rowtype;
  v_key text;
  -- the query's words in order, anywhere in the name (its own wildcards taken literally)
  v_like text := '%' || pg_catalog.regexp_replace(
    pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
      pg_catalog.btrim(coalesce(query, '')), '\', '\\'), '%', '\%'), '_', '\_'),
    '\s+', '%', 'g') || '%';
begin
  -- without a conversation (merging people) nothing matches by identifier
  if suggest_people.conversation_id is not null then
    v_conv := messaging_private.own_conversation(suggest_people.conversation_id);
    v_key := messaging_private.subscriber_key(v_conv.participant_identifier);
  end if;
  if max_count is null or max_count < 1 or max_count > 100 then
    raise exception using errcode = '22023', hint = 'max_count_out_of_range',
      message = pg_catalog.format('max_count: %s is outside 1 to 100', coalesce(max_count::text, 'null'));
  end if;
  return query
    with matched as (
      select distinct pi.person_id, 0 as rank, null::timestamptz as at
        from public.person_identifiers pi
       where v_key is not null and v_conv.conversation_type = 'direct'
         and pi.user_id = v_user and pi.match_key = v_key
         and (pi.platform is null or pi.platform = v_conv.platform)
    ),
    latest as (
      select c.person_id, c.last_message_at as at
        from public.chat_conversations c
       where c.user_id = v_user and c.person_id is not null
       order by c.last_message_at desc, c.id desc
       limit 20
    ),
    created as (
      select p.id as person_id, p.created_at as at
        from public.people p
       where p.user_id = v_user
       order by p.created_at desc
       limit 5
    ),
    recent as (
      select r.person_id, 1 as rank, pg_catalog.max(r.at) as at
        from (select * from latest union all select * from created) r
       group by r.person_id
       order by pg_catalog.max(r.at) desc nulls last
       limit 5
    ),
    by_name as (
      select p.id as person_id, 2 as rank, null::timestamptz as at
        from public.people p
       where p.user_id = v_user and p.full_name ilike v_like
       order by p.full_name, p.id
       limit max_count
    ),
    ranked as (
      select distinct on (a.person_id) a.person_id, a.rank, a.at
        from (select * from matched union all select * from recent union all select * from by_name) a
       order by a.person_id, a.rank
    )
    select p.id, p.full_name, p.email, p.phone,
           (array['identifier', 'recent', 'name'])[r.rank + 1],
           -- counted up to 1,001 (more than a thousand is said as such)
           (select pg_catalog.count(*) from (
              select 1 from public.people n
               where n.user_id = v_user and (v_like = '%%' or n.full_name ilike v_like)
               limit 1001) n)
      from ranked r
      join public.people p on p.id = r.person_id
     where p.user_id = v_user and p.full_name ilike v_like
     order by r.rank, r.at desc nulls last, p.full_name, p.id
     limit max_count;
end;
$$;
comment on function messaging_private.suggest_people(uuid, text, integer) is
  'public.suggest_people''s body: a security definer filtering by (select auth.uid()) itself, so the name filter reads people_full_name_trgm_idx.';

create or replace function public.suggest_people(
  conversation_id uuid default null, query text default null, max_count integer default 20
)
returns table (id uuid, full_name text, email text, phone text, reason text, total bigint)
language sql
stable
security invoker
set search_path = ''
as $$
  select * from messaging_private.suggest_people(conversation_id, query, max_count);
$$;
comment on function public.suggest_people(uuid, text, integer) is
  'The caller''s people for the person picker of a conversation, best first: reason identifier (an identifier matches the participant, national phone variants included; several such people are all listed, none is linked by itself), then recent (people of the latest conversations, or created last; at most 5), then name (alphabetical); query keeps names with its words in order; at most max_count (1 to 100); total counts the people of such a name up to 1,001 (more than 1,000). Without conversation_id (merging people) no identifier matches: recent, then by name. Refuses conversation_not_found.';

revoke all on function public.link_conversation_to_person(uuid, uuid) from public, anon;
revoke all on function public.create_person_from_conversation(uuid, text) from public, anon;
revoke all on function public.suggest_people(uuid, text, integer) from public, anon;
grant execute on function public.link_conversation_to_person(uuid, uuid) to authenticated;
grant execute on function public.create_person_from_conversation(uuid, text) to authenticated;
grant execute on function public.suggest_people(uuid, text, integer) to authenticated;

revoke all on function messaging_private.own_conversation(uuid) from public, anon;
revoke all on function messaging_private.own_person(uuid) from public, anon;
revoke all on function messaging_private.participant_kind(text) from public, anon;
revoke all on function messaging_private.link_person(public.chat_conversations, uuid) from public, anon;
revoke all on function messaging_private.suggest_people(uuid, text, integer) from public, anon;
grant execute on function messaging_private.own_conversation(uuid) to authenticated;
grant execute on function messaging_private.own_person(uuid) to authenticated;
grant execute on function messaging_private.participant_kind(text) to authenticated;
grant execute on function messaging_private.link_person(public.chat_conversations, uuid) to authenticated;
grant execute on function messaging_private.suggest_people(uuid, text, integer) to authenticated;
