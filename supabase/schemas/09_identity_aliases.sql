-- =============================================================================
-- Identity aliases: the ids a conversation's participant is known by
--
-- A message may carry `participant_ids`, the other party's ids by kind
-- (messaging_private.identifier_kinds: a phone, a username, WhatsApp's
-- business-scoped user id, a Telegram user id, a Signal ACI, ...). Each is recorded
-- once per owner and platform in chat_conversation_identifiers, as an alias of the
-- direct conversation it arrived in. A later message whose own conversation does not
-- exist yet lands in the conversation one of its ids names (ingest_route), so a
-- customer who changes number, or who writes without a phone (a WhatsApp username),
-- stays in one conversation. When an id already names another conversation, nothing
-- is merged: the pair is recorded in chat_conversation_link_suggestions. A person
-- identifier of any kind links the conversations that have that id, and a linked
-- conversation's new ids are added to its person. (It runs before 09_validate: the
-- payload check reads participant_ids_errors.)
-- =============================================================================


-- -----------------------------------------------------------------------------
-- chat_conversation_identifiers
-- -----------------------------------------------------------------------------

create table public.chat_conversation_identifiers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  platform text not null check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  kind text not null check (kind in ('phone', 'username', 'email', 'whatsapp_user_id', 'whatsapp_parent_user_id',
                                     'whatsapp_lid', 'telegram_user_id', 'signal_aci', 'signal_pni', 'wechat_openid')),
  value text not null check (pg_catalog.length(value) between 1 and 320),
  first_seen_at timestamptz not null default now(),
  constraint chat_conversation_identifiers_unique unique (user_id, platform, kind, value)
);
comment on table public.chat_conversation_identifiers is
  'The ids of a direct conversation''s participant (an alias each: one conversation per owner, platform, kind and value), recorded by ingest_messages from the messages'' participant_ids; first_seen_at: when the store first met it. docs/contract.md, identity aliases.';

create index chat_conversation_identifiers_conversation_id_idx
  on public.chat_conversation_identifiers (conversation_id);
create index chat_conversation_identifiers_user_kind_value_idx
  on public.chat_conversation_identifiers (user_id, kind, value);

alter table public.chat_conversation_identifiers enable row level security;

revoke all on public.chat_conversation_identifiers from anon, authenticated, service_role;
grant select on public.chat_conversation_identifiers to authenticated, service_role;

create policy "Users can view the identifiers of their own conversations" on public.chat_conversation_identifiers
  for select to authenticated using (user_id = (select auth.uid()));

-- -----------------------------------------------------------------------------
-- chat_conversation_link_suggestions: an id met in two conversations
-- -----------------------------------------------------------------------------

create table public.chat_conversation_link_suggestions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  other_conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  kind text not null,
  value text not null check (pg_catalog.length(value) between 1 and 320),
  created_at timestamptz not null default now(),
  constraint chat_conversation_link_suggestions_unique unique (conversation_id, other_conversation_id, kind, value),
  constraint chat_conversation_link_suggestions_two check (conversation_id <> other_conversation_id)
);
comment on table public.chat_conversation_link_suggestions is
  'Two conversations of one owner that share an id (kind, value): conversation_id holds it as an alias, other_conversation_id received a message carrying it. The store never merges them by itself; a user merges or deletes the suggestion.';

create index chat_conversation_link_suggestions_user_id_idx on public.chat_conversation_link_suggestions (user_id);
create index chat_conversation_link_suggestions_other_idx
  on public.chat_conversation_link_suggestions (other_conversation_id);

alter table public.chat_conversation_link_suggestions enable row level security;

revoke all on public.chat_conversation_link_suggestions from anon, authenticated, service_role;
grant select, delete on public.chat_conversation_link_suggestions to authenticated, service_role;

create policy "Users can view their own link suggestions" on public.chat_conversation_link_suggestions
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can dismiss their own link suggestions" on public.chat_conversation_link_suggestions
  for delete to authenticated using (user_id = (select auth.uid()));

-- -----------------------------------------------------------------------------
-- participant_ids of a payload: checked, then normalised
-- -----------------------------------------------------------------------------

create or replace function messaging_private.participant_ids_errors(payload jsonb)
returns table (i integer, n integer, err text)
language plpgsql
stable
set search_path = ''
as $$
begin
  -- (plpgsql: its plan is kept for the session; a payload without participant_ids costs one test)
  if not payload @? '$.messages[*].participant_ids' then
    return;
  end if;
  return query
  -- each key a kind of identifier_kinds, each value a string or an array of at most 8
  -- strings, each of the kind's form (normalize_identifier gives it a value)
  select (e.ord - 1)::integer, 19,
         case
           when k.kind is null then
             pg_catalog.format('messages[%s].participant_ids.%s: unknown identifier kind (one of %s)', e.ord - 1, p.key,
               (select pg_catalog.string_agg(x.kind, ', ' order by x.position) from messaging_private.identifier_kinds x))
           when pg_catalog.jsonb_typeof(p.value) not in ('string', 'array')
                or (pg_catalog.jsonb_typeof(p.value) = 'array'
                    and (pg_catalog.jsonb_array_length(p.value) not between 1 and 8
                         or pg_catalog.jsonb_path_exists(p.value, '$[*] ? (@.type() != "string")'))) then
             pg_catalog.format('messages[%s].participant_ids.%s: must be a string or an array of 1 to 8 strings, got %s',
               e.ord - 1, p.key, pg_catalog.left(p.value::text, 60))
           else
             (select pg_catalog.format('messages[%s].participant_ids.%s: %s is not a %s (like %s)', e.ord - 1, p.key,
                       pg_catalog.left(v.v::text, 60), p.key, k.example)
                from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(p.value) = 'array'
                                                          then p.value else pg_catalog.jsonb_build_array(p.value) end) v(v)
               where pg_catalog.length(v.v #>> '{}') > 320
                  or messaging_private.normalize_identifier(p.key, v.v #>> '{}') is null
               limit 1)
         end
    from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
   cross join lateral pg_catalog.jsonb_each(e.m -> 'participant_ids') p(key, value)
    left join messaging_private.identifier_kinds k on k.kind = p.key
   where pg_catalog.jsonb_typeof(e.m -> 'participant_ids') = 'object';
end;
$$;
comment on function messaging_private.participant_ids_errors(jsonb) is
  'payload_errors, rules across fields: a message''s participant_ids naming an unknown kind, or a value not of its kind''s form, as (message position, rule position, error).';
revoke all on function messaging_private.participant_ids_errors(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.participant_ids_of(ids jsonb)
returns jsonb
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
  -- the participant_ids objects of a conversation's messages as one sorted array of
  -- distinct {kind, value}, values normalised; null when there are none
begin
  return (
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', d.kind, 'value', d.value) order by d.kind, d.value)
      from (select distinct p.key as kind, messaging_private.normalize_identifier(p.key, v.v #>> '{}') as value
              from pg_catalog.jsonb_array_elements(ids) o(o)
             cross join lateral pg_catalog.jsonb_each(o.o) p(key, value)
             cross join lateral pg_catalog.jsonb_array_elements(
               case when pg_catalog.jsonb_typeof(p.value) = 'array' then p.value
                    else pg_catalog.jsonb_build_array(p.value) end) v(v)
             where pg_catalog.jsonb_typeof(o.o) = 'object') d
     where d.value is not null
  );
end;
$$;
comment on function messaging_private.participant_ids_of(jsonb) is
  'The participant_ids of a conversation''s messages (an array of {kind: value or [values]} objects) as a sorted array of distinct, normalised {kind, value}; null when none.';

-- -----------------------------------------------------------------------------
-- At ingest: where a conversation's messages land, and what its ids record
-- -----------------------------------------------------------------------------

create or replace function messaging_private.ingest_route(owner uuid, groups jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
  -- A direct conversation's group with participant_ids whose own conversation does not
  -- exist lands in the conversation one of its ids names (the oldest alias wins): one
  -- lookup of the conversation, then one of the aliases, per such group. A group whose
  -- target another group of the batch already takes keeps its own id. Sorted again.
begin
  -- the live case: the conversation exists (one probe), the groups stay as they are
  if not exists (select 1 from pg_catalog.jsonb_array_elements(groups) g(x)
                  where pg_catalog.jsonb_typeof(g.x -> 'participant_ids') = 'array'
                    and coalesce(g.x ->> 'conversation_type', 'direct') = 'direct'
                    and not exists (select 1 from public.chat_conversations c
                                     where c.user_id = owner and c.platform = g.x ->> 'platform'
                                       and c.external_conversation_id = g.x ->> 'external_conversation_id')) then
    return groups;
  end if;
  return (
    with g as (
      select g.ord, g.x,
        case when pg_catalog.jsonb_typeof(g.x -> 'participant_ids') = 'array'
                  and coalesce(g.x ->> 'conversation_type', 'direct') = 'direct'
                  and not exists (select 1 from public.chat_conversations c
                                   where c.user_id = owner and c.platform = g.x ->> 'platform'
                                     and c.external_conversation_id = g.x ->> 'external_conversation_id')
             then (select c.external_conversation_id
                     from public.chat_conversation_identifiers a
                     join public.chat_conversations c on c.id = a.conversation_id
                    where a.user_id = owner and a.platform = g.x ->> 'platform'
                      and (a.kind, a.value) in (select i ->> 'kind', i ->> 'value'
                                                  from pg_catalog.jsonb_array_elements(g.x -> 'participant_ids') i)
                    order by a.first_seen_at, a.id
                    limit 1) end as target
        from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
    ),
    r as (
      select g.*, pg_catalog.row_number() over (
               partition by g.x ->> 'platform', coalesce(g.target, g.x ->> 'external_conversation_id')
               order by g.target is not null, g.ord) as n
        from g
    ),
    routed as (
      select case when r.target is not null and r.n = 1
                  then r.x || pg_catalog.jsonb_build_object('external_conversation_id', r.target)
                  else r.x end as x
        from r
    )
    select coalesce(pg_catalog.jsonb_agg(routed.x order by routed.x ->> 'platform', routed.x ->> 'external_conversation_id'),
                    '[]'::jsonb)
      from routed
  );
end;
$$;
comment on function messaging_private.ingest_route(uuid, jsonb) is
  'Ingest: the groups of ingest_groups, each direct conversation whose own conversation does not exist moved into the conversation one of its participant_ids names (an alias of chat_conversation_identifiers).';
revoke all on function messaging_private.ingest_route(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.identity_change_lines(ids jsonb, recorded jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
  -- A conversation that gains a second phone, username, WhatsApp user id or Signal PNI has
  -- changed it (a number change, a new username): a system line for the thread, just
  -- before the first message of the batch that carried it, unless that batch brought its
  -- own system line (WhatsApp's user_changed_number). Its id names the change, so a retry
  -- stores it once. Null when there is none.
begin
  return (
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
             'platform', c.platform,
             'external_conversation_id', c.external_conversation_id,
             'id', 'identity:' || n.kind || ':' || n.value,
             'direction', 'inbound',
             'type', 'system',
             'sent_at', pg_catalog.to_jsonb(s.first_sent_at - interval '1 millisecond') #>> '{}',
             'content', pg_catalog.format('%s changed to %s (before: %s)',
               case n.kind when 'phone' then 'Phone number' when 'username' then 'Username'
                           when 'whatsapp_user_id' then 'WhatsApp user id' else 'Signal phone number identity' end,
               n.value, pg_catalog.array_to_string(p.previous, ', ')),
             'metadata', pg_catalog.jsonb_build_object('identity_change', pg_catalog.jsonb_build_object(
               'kind', n.kind, 'value', n.value, 'previous', pg_catalog.to_jsonb(p.previous))))
           order by c.platform, c.external_conversation_id, n.kind, n.value)
      from pg_catalog.jsonb_to_recordset(recorded) n(conversation_id uuid, kind text, value text)
      join lateral (select pg_catalog.min(x.first_sent_at) as first_sent_at, pg_catalog.bool_or(x.has_system) as has_system
                      from pg_catalog.jsonb_to_recordset(ids) x(conversation_id uuid, first_sent_at timestamptz, has_system boolean)
                     where x.conversation_id = n.conversation_id) s on true
      join public.chat_conversations c on c.id = n.conversation_id
      cross join lateral (select pg_catalog.array_agg(a.value order by a.first_seen_at, a.value) as previous
                            from public.chat_conversation_identifiers a
                           where a.conversation_id = n.conversation_id and a.kind = n.kind
                             and not exists (select 1 from pg_catalog.jsonb_to_recordset(recorded)
                                                     r(conversation_id uuid, kind text, value text)
                                              where r.conversation_id = a.conversation_id
                                                and r.kind = a.kind and r.value = a.value)) p
     where n.kind in ('phone', 'username', 'whatsapp_user_id', 'signal_pni')
       and p.previous is not null
       and not s.has_system
  );
end;
$$;
comment on function messaging_private.identity_change_lines(jsonb, jsonb) is
  'The system lines (ingest_messages messages) of the identity changes the aliases just recorded show: a direct conversation''s second phone, username, WhatsApp user id or Signal PNI, unless the batch brought its own system line; null when none.';
revoke all on function messaging_private.identity_change_lines(jsonb, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_record_ids(owner uuid, groups jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
-- After the messages are stored: each direct conversation's participant_ids become its
-- aliases (an id another conversation holds is a link suggestion, never a merge); an
-- unlinked conversation is linked to the one person with an identifier among its ids
-- (one index lookup per conversation); a linked conversation's new ids are added to its
-- person. Ids the conversation already has cost one probe each and nothing else.
-- Returns the system lines of the changes (identity_change_lines), or null.
declare
  v_ids jsonb;  -- [{conversation_id, platform, person_id, kind, value, first_sent_at, has_system}]
  v_new jsonb;  -- the aliases this call recorded
begin
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('conversation_id', c.id, 'platform', c.platform,
           'person_id', c.person_id, 'kind', i ->> 'kind', 'value', i ->> 'value',
           'first_sent_at', g.x -> 'messages' -> 0 ->> 'sent_at',
           'has_system', pg_catalog.jsonb_path_exists(g.x -> 'messages', '$[*] ? (@.type == "system")')))
    into v_ids
    from pg_catalog.jsonb_array_elements(groups) g(x)
    join public.chat_conversations c
      on c.user_id = owner and c.platform = g.x ->> 'platform'
     and c.external_conversation_id = g.x ->> 'external_conversation_id'
   cross join lateral pg_catalog.jsonb_array_elements(g.x -> 'participant_ids') i
   where pg_catalog.jsonb_typeof(g.x -> 'participant_ids') = 'array'
     and c.conversation_type = 'direct'
     -- only what is new to the conversation (the live case: nothing, one probe an id)
     and not exists (select 1 from public.chat_conversation_identifiers a
                      where a.user_id = owner and a.platform = c.platform and a.kind = i ->> 'kind'
                        and a.value = i ->> 'value' and a.conversation_id = c.id);
  if v_ids is null then
    return null;
  end if;

  -- the ids another conversation already holds: suggestions (read before the insert)
  insert into public.chat_conversation_link_suggestions (user_id, conversation_id, other_conversation_id, kind, value)
  select owner, a.conversation_id, s.conversation_id, s.kind, s.value
    from pg_catalog.jsonb_to_recordset(v_ids) s(conversation_id uuid, platform text, person_id uuid, kind text, value text)
    join public.chat_conversation_identifiers a
      on a.user_id = owner and a.platform = s.platform and a.kind = s.kind and a.value = s.value
   where a.conversation_id <> s.conversation_id
  on conflict do nothing;

  with ins as (
    insert into public.chat_conversation_identifiers (user_id, conversation_id, platform, kind, value)
    select owner, s.conversation_id, s.platform, s.kind, s.value
      from pg_catalog.jsonb_to_recordset(v_ids) s(conversation_id uuid, platform text, person_id uuid, kind text, value text)
     order by s.platform, s.kind, s.value
    on conflict (user_id, platform, kind, value) do nothing
    returning conversation_id, kind, value
  )
  select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(ins)) into v_new from ins;

  update public.chat_conversations c
     set person_id = m.person_id
    from (select s.conversation_id,
                 (select case when pg_catalog.count(distinct pi.person_id) = 1
                              then (pg_catalog.array_agg(pi.person_id))[1] end
                    from public.person_identifiers pi
                   where pi.user_id = owner
                     and pi.value = any (s.vals)
                     and pi.kind || ' ' || pi.value = any (s.pairs)
                     and (pi.platform is null or pi.platform = s.platform)) as person_id
            from (select x.conversation_id, x.platform,
                         pg_catalog.array_agg(x.kind || ' ' || x.value) as pairs, pg_catalog.array_agg(x.value) as vals
                    from pg_catalog.jsonb_to_recordset(v_ids)
                         x(conversation_id uuid, platform text, person_id uuid, kind text, value text)
                   where x.person_id is null
                   group by x.conversation_id, x.platform) s) m
   where c.id = m.conversation_id and c.person_id is null and m.person_id is not null;

  insert into public.person_identifiers (user_id, person_id, kind, platform, value)
  select distinct owner, c.person_id, s.kind,
         case when s.kind in ('phone', 'email') then null else s.platform end, s.value
    from pg_catalog.jsonb_to_recordset(v_ids) s(conversation_id uuid, platform text, person_id uuid, kind text, value text)
    join public.chat_conversations c on c.id = s.conversation_id
   where c.person_id is not null
     and not exists (select 1 from public.person_identifiers pi
                      where pi.user_id = owner and pi.person_id = c.person_id
                        and pi.kind = s.kind and pi.value = s.value)
  on conflict do nothing;

  return case when v_new is not null then messaging_private.identity_change_lines(v_ids, v_new) end;
end;
$$;
comment on function messaging_private.ingest_record_ids(uuid, jsonb) is
  'Ingest, after storing: records the participant_ids of each direct conversation as its aliases (an id of another conversation: a link suggestion), links an unlinked conversation to the one person with one of its ids, and adds the ids to the linked person; returns the system lines of the changes it saw (identity_change_lines), which ingest_messages stores.';
revoke all on function messaging_private.ingest_record_ids(uuid, jsonb) from public, anon, authenticated, service_role;

-- -----------------------------------------------------------------------------
-- A person identifier of any kind links the conversations that have that id
-- -----------------------------------------------------------------------------

create or replace function messaging_private.link_conversations_by_alias()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.chat_conversations c
     set person_id = new.person_id
    from public.chat_conversation_identifiers a
   where a.user_id = new.user_id and a.kind = new.kind and a.value = new.value
     and (new.platform is null or a.platform = new.platform)
     and c.id = a.conversation_id and c.person_id is null
     and (select pg_catalog.count(distinct pi.person_id) from public.person_identifiers pi
           where pi.user_id = new.user_id and pi.kind = new.kind and pi.value = new.value
             and (pi.platform is null or pi.platform = a.platform)) = 1;
  return null;
end;
$$;
comment on function messaging_private.link_conversations_by_alias() is
  'Trigger: links the owner''s unlinked conversations that have the new person identifier as an alias (chat_conversation_identifiers), when it names exactly one person.';
revoke all on function messaging_private.link_conversations_by_alias() from public, anon, authenticated, service_role;

create trigger person_identifiers_link_conversations_by_alias
  after insert or update of kind, value, platform, person_id on public.person_identifiers
  for each row execute function messaging_private.link_conversations_by_alias();
