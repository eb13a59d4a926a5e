-- Written by `make migration` from supabase/schemas; finish the todo lines.

create or replace function messaging_private.duplicate_key(value text)
returns text
language sql
immutable
set search_path = ''
as $$
  -- a bare number (WhatsApp's wa_id, 34600000001) is taken as an international one: only a
  -- suggestion rests on it, never a link or a merge
  -- national variants folded (Brazil's ninth digit, Mexico's 52 1, Argentina's 54 9)
  select messaging_private.subscriber_key(
           case when value ~ '^[1-9][0-9 .()-]{6,20}$'
                then messaging_private.normalize_identifier('any', '+' || value)
                else messaging_private.normalize_identifier('any', value) end);
$$;
comment on function messaging_private.duplicate_key(text) is
  'The key two participants must share for suggest_duplicates to pair them: the normalised identifier''s subscriber key (national phone variants folded), a bare number read as international.';
revoke all on function messaging_private.duplicate_key(text) from public, anon;

create or replace function messaging_private.erase_person(person uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
-- Removes the person, their identifiers and every conversation linked to them (hot rows,
-- archive chunks, search segments and read markers go with it: on delete cascade), scrubs
-- a connection's last error that names one of their identifiers, forgets the WeChat nonces
-- of those connections, and keeps one content-free row per conversation (hashes).
declare
  v_role text := coalesce(auth.jwt() ->> 'role', case when session_user = 'authenticator' then 'anon' else 'service_role' end);
  v_owner uuid;
  v_values text[];
  v_convs uuid[];
  v_messages bigint := 0;
begin
  select p.user_id into v_owner from public.people p
   where p.id = person and (v_role = 'service_role' or p.user_id = (select auth.uid()))
   for update;
  if v_owner is null or v_role not in ('authenticated', 'service_role') then
    perform messaging_private.person_not_found(person);
  end if;
  -- locked: a message ingested into them meanwhile waits, and is erased with them
  v_convs := array(select c.id from public.chat_conversations c
                    where c.person_id = person and c.user_id = v_owner order by c.id for update);
  select pg_catalog.array_agg(distinct v.value) into v_values from (
    select i.value from public.person_identifiers i where i.person_id = person
    union all select c.participant_identifier from public.chat_conversations c where c.id = any (v_convs)
    union all select c.external_conversation_id from public.chat_conversations c where c.id = any (v_convs)
    union all select p.phone from public.people p where p.id = person
    union all select p.email from public.people p where p.id = person
  ) v where pg_catalog.length(v.value) >= 3;

  with rec as (
    insert into messaging_private.erased_conversations (user_id, platform, conversation_key, participant_key, message_count)
    select v_owner, c.platform, messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, null),
           case when c.participant_identifier is not null then
             pg_catalog.sha256(pg_catalog.convert_to(v_owner::text || E'\x1f' || c.participant_identifier, 'UTF8')) end,
           c.message_count
      from public.chat_conversations c where c.id = any (v_convs)
    returning id, platform, conversation_key
  ), keys as (
    insert into messaging_private.erased_messages (user_id, message_key, erasure_id)
    select v_owner, messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, m.x ->> 'id'), r.id
      from public.chat_conversations c
      join rec r on r.conversation_key = messaging_private.erased_key(v_owner, c.platform, c.external_conversation_id, null)
      cross join lateral (
        select h.x from pg_catalog.jsonb_array_elements(c.messages) h(x)
        union all
        select e.x from public.chat_conversation_archives a, pg_catalog.jsonb_array_elements(a.messages) e(x)
         where a.conversation_id = c.id) m
     where c.id = any (v_convs)
    on conflict do nothing
    returning 1
  )
  select pg_catalog.count(*) into v_messages from keys;

  update public.messaging_connections mc set last_error = '(erased)'
   where mc.user_id = v_owner and mc.last_error is not null
     and exists (select 1 from pg_catalog.unnest(v_values) v(value)
                  where pg_catalog.strpos(mc.last_error, v.value) > 0
                     or pg_catalog.strpos(mc.last_error, pg_catalog.ltrim(v.value, '+')) > 0);
  delete from messaging_private.webhook_nonces n
   where n.connection_id in (select c.connection_id from public.chat_conversations c where c.id = any (v_convs));
  delete from public.chat_conversations c where c.id = any (v_convs);
  -- the people merged into this one are the same customer (their row is kept by a standing
  -- merge, their identifiers and conversations were moved here): erased too
  delete from public.people p
   where p.user_id = v_owner and p.id in (select m.other_id from messaging_private.person_merges m
                                            where m.keep_id = person and m.undone_at is null);
  delete from public.people p where p.id = person;
  return pg_catalog.jsonb_build_object('person_id', person,
    'conversations', coalesce(pg_catalog.cardinality(v_convs), 0), 'messages', v_messages);
end;
$$;
comment on function messaging_private.erase_person(uuid) is
  'The privileged body of public.erase_person: the caller''s own person (service_role: any) or person_not_found.';
revoke all on function messaging_private.erase_person(uuid) from public, anon;
grant execute on function messaging_private.erase_person(uuid) to authenticated, service_role;

create or replace function messaging_private.ingest_destinations(owner uuid, payload jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_groups jsonb := messaging_private.ingest_groups(payload);
begin
  v_groups := messaging_private.ingest_drop_erased(owner, v_groups);
  v_groups := messaging_private.ingest_route_merged(owner, v_groups);
  if payload @? '$.messages[*].participant_ids' then
    v_groups := messaging_private.ingest_route(owner, v_groups);
  end if;
  return v_groups;
end;
$$;
comment on function messaging_private.ingest_destinations(uuid, jsonb) is
  'ingest_messages: the batch grouped by conversation (ingest_groups), without erased messages, merged-away keys pointed at their keep and ids routed to their customer''s conversation.';
revoke all on function messaging_private.ingest_destinations(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_messages(payload jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
-- Validates, then owner, references and groups; creates the new conversations, counts
-- the repeated ones and stores the rest per conversation (the ingest_* steps); indexes
-- what was stored for search. The strategies' thresholds are settings (ingest_settings).
declare
  v_owner uuid;
  v_connection uuid;
  v_total integer;
  v_groups jsonb;
  v_set record;
  v_unchanged jsonb;
  v_new record;      -- what each strategy returns
  v_repeats record;
  v_each record;
  -- appended to in place (an array variable grows without being copied; a jsonb one is
  -- copied whole on every append, quadratic over 10,000 conversations)
  v_results jsonb[];
  v_index jsonb[];
  v_repeated bigint[] := '{}'::bigint[];
  v_inserted integer;
  v_dups integer;
  v_updated integer := 0;
  v_matched integer := 0;
begin
  v_total := messaging_private.ingest_check_shape(payload);
  v_owner := messaging_private.ingest_owner(payload);
  v_set := messaging_private.ingest_settings();
  perform messaging_private.ingest_check_fields(payload);
  v_connection := messaging_private.ingest_references(payload, v_owner);
  if v_total = 0 then
    return pg_catalog.jsonb_build_object('inserted', 0, 'duplicates', 0, 'updated', 0, 'matched', 0,
      'conversations', '[]'::jsonb);
  end if;

  -- a batch that changes nothing (an export sent again): its answer, no write (not for
  -- a few messages, the live case: new ones, which the proof would only delay)
  if v_total > v_set.unchanged_past then
    v_unchanged := messaging_private.ingest_unchanged(payload, v_owner, v_connection);
    if v_unchanged is not null then
      perform messaging_private.ingest_synced(v_connection);
      return v_unchanged;
    end if;
  end if;

  v_groups := messaging_private.ingest_destinations(v_owner, payload);
  v_new := messaging_private.ingest_create(v_owner, v_connection, v_groups, v_set.hot_max, v_set.hot_bytes);
  v_results := v_new.results;
  v_index := v_new.index;
  v_inserted := v_new.inserted;
  v_dups := v_new.duplicates;
  -- (one existing conversation, the live case, is locked as ingest_existing reads it)
  if v_new.existing > 1 then
    perform messaging_private.ingest_lock_existing(v_owner, v_new.marked_groups);
  end if;

  -- conversations a batch only repeats, all at once. Only for batches over many existing
  -- conversations: for a few (live traffic, one message a call) the check reads every hot
  -- row once more than ingest_existing does (figures in bench/HISTORY.md).
  if v_new.existing > v_set.repeats_past then
    v_repeats := messaging_private.ingest_repeats(v_owner, v_connection, v_new.marked_groups);
    v_results := v_results || v_repeats.results;
    v_dups := v_dups + v_repeats.duplicates;
    v_repeated := v_repeats.positions;
  end if;

  if v_new.existing > pg_catalog.cardinality(v_repeated) then
    v_each := messaging_private.ingest_existing(v_owner, v_connection, v_new.marked_groups, v_repeated,
      v_new.existing = 1, v_set.hot_max, v_set.hot_bytes, v_set.few);
    v_results := v_results || v_each.results;
    v_index := v_index || v_each.index;
    v_inserted := v_inserted + v_each.inserted;
    v_dups := v_dups + v_each.duplicates;
    v_updated := v_each.updated;
    v_matched := v_each.matched;
  end if;

  -- the search segments of every conversation at once
  if pg_catalog.cardinality(v_index) > 0 then
    perform messaging_private.index_batches(v_owner, pg_catalog.to_jsonb(v_index));
  end if;
  perform messaging_private.ingest_identities(v_owner, v_groups) where payload @? '$.messages[*].participant_ids';
  perform messaging_private.ingest_synced(v_connection);
  -- where each conversation's history comes from (coverage): one upsert per conversation
  perform messaging_private.record_coverage(v_owner, v_connection, payload, v_results);

  return pg_catalog.jsonb_build_object(
    'inserted', v_inserted,
    'duplicates', v_dups,
    'updated', v_updated,
    'matched', v_matched,
    'conversations', (select coalesce(pg_catalog.jsonb_agg(r.x order by r.x ->> 'platform', r.x ->> 'external_conversation_id'),
                                      '[]'::jsonb)
                        from pg_catalog.unnest(v_results) r(x)));
end;
$$;
comment on function messaging_private.ingest_messages(jsonb) is
  'The privileged body of public.ingest_messages: validates, then owner, references, groups, and per conversation dedupe, edits, merge and summary (the ingest_* parts).';
revoke all on function messaging_private.ingest_messages(jsonb) from public;
grant execute on function messaging_private.ingest_messages(jsonb) to authenticated, service_role;

create or replace function messaging_private.ingest_route_merged(owner uuid, groups jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
  -- A group whose conversation does not exist and whose key a standing merge moved lands
  -- in the merge's keep (one probe of the conversation, then one of the merges' route
  -- index, per such group). Groups of conversations that exist are left as they are.
begin
  if not exists (select 1 from messaging_private.conversation_merges m
                  where m.user_id = owner and m.undone_at is null) then
    return groups;  -- nobody merged: one probe for the whole batch
  end if;
  return (
    select pg_catalog.jsonb_agg(coalesce(
             (select g.x || pg_catalog.jsonb_build_object('external_conversation_id', k.external_conversation_id)
                from public.chat_conversations k
               where not exists (select 1 from public.chat_conversations c
                                  where c.user_id = owner and c.platform = g.x ->> 'platform'
                                    and c.external_conversation_id = g.x ->> 'external_conversation_id')
                 and k.id = messaging_private.merged_into(owner, g.x ->> 'platform', g.x ->> 'external_conversation_id')),
             g.x) order by g.ord)
      from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
  );
end;
$$;
comment on function messaging_private.ingest_route_merged(uuid, jsonb) is
  'ingest_messages: the groups whose conversation key a standing merge moved, pointed at the keep conversation (an owner who never merged costs one probe per batch).';
revoke all on function messaging_private.ingest_route_merged(uuid, jsonb) from public, anon, authenticated, service_role;

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
