-- =============================================================================
-- Ingest input: the owner, the references and the conversations of a payload
-- =============================================================================

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
-- counted, with the conversation fields the newest message gives. An edited_at more than
-- the contract's edit_future_seconds past the database's clock is stored as the time the
-- edit arrived (not before sent_at), the time given kept in metadata.edited_at_given: a
-- clock ahead must not make one version win over every real later edit. (One statement,
-- but plpgsql: its plan is kept for the session instead of planned again on every call.)
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
    capped as (
      -- (the limit is read only when a message has an edit time: an initplan runs when used)
      select r.*,
        case when r.edited_at is null then null
             when r.edited_at > pg_catalog.now() + pg_catalog.make_interval(secs =>
                    (select l.value from messaging_private.contract_limits l where l.name = 'edit_future_seconds'))
             then greatest(pg_catalog.now(), r.sent_at) else r.edited_at end as stored_edit
      from ranked r
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
          'edited_at', (pg_catalog.to_jsonb(r.stored_edit at time zone 'UTC') #>> '{}') || 'Z',
          'metadata', case when r.stored_edit is distinct from r.edited_at
                           then coalesce(case when r.m -> 'metadata' <> 'null'::jsonb then r.m -> 'metadata' end,
                                         '{}'::jsonb)
                                || pg_catalog.jsonb_build_object('edited_at_given', r.m -> 'edited_at')
                           when r.m -> 'metadata' <> 'null'::jsonb then r.m -> 'metadata' end)) as obj
      from capped r
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
           filter (where s.m ->> 'person_id' is not null))[1] as person_id,
        pg_catalog.jsonb_agg(s.m -> 'participant_ids') filter (where s.m ? 'participant_ids') as participant_ids
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
        -- the participant's ids (identity aliases, 09_identity_aliases.sql), only when given
        || case when gr.participant_ids is not null then pg_catalog.jsonb_build_object(
             'participant_ids', messaging_private.participant_ids_of(gr.participant_ids)) else '{}'::jsonb end
      order by gr.platform, gr.ext_id), '[]'::jsonb)
    from grouped gr
  );
end;
$$;
comment on function messaging_private.ingest_groups(jsonb) is
  'Ingest, part 3: a valid payload''s messages as stored objects grouped by conversation, repeats collapsed (newest edited_at wins) and counted; an edited_at past edit_future_seconds stored as the time it arrived (metadata.edited_at_given: the time given); participant_ids: the conversation''s ids, normalised (only when a message gives some).';
