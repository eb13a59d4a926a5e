-- Written by `make migration` from supabase/schemas; finish the todo lines.
-- (its todo, the trigger person_identifiers_link_conversations_by_alias, is written in identity_aliases_trigger)

create or replace function messaging_private.apply_one_update(owner uuid, u jsonb)
returns text
language plpgsql
set search_path = ''
as $$
-- What one checked update did: applied, unchanged, or missing (no such conversation or
-- message: an update never creates a message).
declare
  v_conv public.chat_conversations%rowtype;
  v_chunk record;
  v_copy_chunk uuid;
  v_new jsonb;
begin
  select * into v_conv
    from public.chat_conversations c
   where c.user_id = owner
     and c.platform = u ->> 'platform'
     and c.external_conversation_id = u ->> 'external_conversation_id'
     for update;
  if not found then
    -- the conversation an alias names (a status keyed by the user id of a customer whose
    -- conversation is keyed by the phone: 09_identity_aliases.sql)
    select c.* into v_conv
      from public.chat_conversation_identifiers a
      join public.chat_conversations c on c.id = a.conversation_id
     where a.user_id = owner and a.platform = u ->> 'platform'
       and a.kind = any (array['phone', 'whatsapp_user_id', 'whatsapp_parent_user_id', 'signal_aci', 'signal_pni'])
       and a.value = u ->> 'external_conversation_id'
     order by a.first_seen_at, a.id
     limit 1
       for update of c;
  end if;
  if not found then
    return 'missing';
  end if;
  if pg_catalog.jsonb_typeof(u -> 'participant_ids') = 'object' and v_conv.conversation_type = 'direct' then
    -- a status carrying the customer's phone and user id makes them known together
    perform messaging_private.ingest_identities(owner, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'platform', v_conv.platform, 'external_conversation_id', v_conv.external_conversation_id,
      'messages', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('sent_at', u ->> 'at', 'type', 'status')),
      'participant_ids', messaging_private.participant_ids_of(pg_catalog.jsonb_build_array(
        (select pg_catalog.jsonb_object_agg(p.key, p.value) from pg_catalog.jsonb_each(u -> 'participant_ids') p
          where p.key in ('phone', 'username', 'whatsapp_user_id', 'whatsapp_parent_user_id')))))));
  end if;
  -- the stored copy (stored_copies: the hot row first, then the chunk its id hash points to)
  select s.chunk into v_copy_chunk
    from messaging_private.stored_copies(v_conv.id, v_conv.messages,
           v_conv.message_count > pg_catalog.jsonb_array_length(v_conv.messages),
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', u -> 'id'))) s
   limit 1;
  if not found then
    return 'missing';  -- never create a message from an update
  end if;
  if v_copy_chunk is null then
    select pg_catalog.jsonb_agg(
             case when h.m ->> 'id' = u ->> 'id' then messaging_private.apply_update(h.m, u) else h.m end
             order by h.ord)
      into v_new
      from pg_catalog.jsonb_array_elements(v_conv.messages) with ordinality h(m, ord);
    if v_new = v_conv.messages then
      return 'unchanged';
    end if;
    update public.chat_conversations c
       set messages = v_new,
           last_message_preview = coalesce(messaging_private.preview(v_new -> -1), c.last_message_preview)
     where c.id = v_conv.id;
    return 'applied';
  end if;
  select a.id, a.messages into v_chunk
    from public.chat_conversation_archives a
   where a.id = v_copy_chunk;
  select pg_catalog.jsonb_agg(
           case when e.m ->> 'id' = u ->> 'id' then messaging_private.apply_update(e.m, u) else e.m end
           order by e.ord)
    into v_new
    from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord);
  if v_new = v_chunk.messages then
    return 'unchanged';
  end if;
  update public.chat_conversation_archives a
     set messages = v_new, updated_at = pg_catalog.now()
   where a.id = v_chunk.id;
  return 'applied';
end;
$$;
comment on function messaging_private.apply_one_update(uuid, jsonb) is
  'One checked update applied to the stored message it names (hot row or archive chunk, its conversation locked): applied, unchanged, or missing.';
revoke all on function messaging_private.apply_one_update(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.identifier_kind_problem(kind text, value text)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  -- (definer: identifier_kinds has no grant to the API roles, whose inserts run the trigger)
  select case
    when k.kind is null then
      pg_catalog.format('kind: %L is not an identifier kind (one of %s)', identifier_kind_problem.kind,
        (select pg_catalog.string_agg(x.kind, ', ' order by x.position) from messaging_private.identifier_kinds x))
    when k.kind not in ('phone', 'username', 'email') and pg_catalog.btrim(coalesce(value, '')) <> ''
         and messaging_private.normalize_identifier(k.kind, value) is null then
      pg_catalog.format('value: %L is not a %s (like %s)', value, k.kind, k.example)
  end
  from (select 1) one
  left join messaging_private.identifier_kinds k on k.kind = identifier_kind_problem.kind;
$$;
comment on function messaging_private.identifier_kind_problem(text, text) is
  'What is wrong with a person identifier''s kind, or with an id''s value for its kind (identifier_kinds, normalize_identifier): a message naming it, or null.';
revoke all on function messaging_private.identifier_kind_problem(text, text) from public, anon;
grant execute on function messaging_private.identifier_kind_problem(text, text) to authenticated, service_role;

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

create or replace function messaging_private.ingest_identities(owner uuid, groups jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- After storing a call whose messages carry participant_ids: the aliases, people and
-- suggestions (ingest_record_ids); the changes they show (a new number) as system lines,
-- stored by ingest_messages itself (their ids name the change: a retry stores them once).
declare
  v_lines jsonb := messaging_private.ingest_record_ids(owner, groups);
begin
  if v_lines is not null then
    perform messaging_private.ingest_messages(pg_catalog.jsonb_build_object('user_id', owner, 'messages', v_lines));
  end if;
end;
$$;
comment on function messaging_private.ingest_identities(uuid, jsonb) is
  'Ingest, after storing: the participant_ids'' aliases, people and suggestions (ingest_record_ids), and the system lines of the changes they show, stored through ingest_messages.';
revoke all on function messaging_private.ingest_identities(uuid, jsonb) from public, anon, authenticated, service_role;

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

  v_groups := messaging_private.ingest_groups(payload);
  v_groups := case when payload @? '$.messages[*].participant_ids'  -- aliases: 09_identity_aliases.sql
                   then messaging_private.ingest_route(v_owner, v_groups) else v_groups end;
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

create or replace function messaging_private.normalize_identifier(kind text, value text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  ws constant text := E' \t\n\r\f\v';
  trimmed text := pg_catalog.btrim(value, ws);
  digits text;
begin
  if trimmed is null or trimmed = '' then
    return null;
  end if;
  if kind = 'email' then
    return pg_catalog.lower(trimmed);
  end if;
  -- ids that are not phones (messaging_private.identifier_kinds): null when malformed
  if kind = 'whatsapp_user_id' then
    -- a business-scoped user id: a country, a dot, alphanumerics (US.13491208655302741918)
    if trimmed ~ '^[A-Za-z]{2}\.[A-Za-z0-9]{1,128}$' then
      return pg_catalog.upper(pg_catalog.left(trimmed, 2)) || pg_catalog.substr(trimmed, 3);
    end if;
    return null;
  end if;
  if kind = 'whatsapp_parent_user_id' then
    -- a parent business-scoped user id: ENT between them (US.ENT.11815799212886844830)
    if trimmed ~ '^[A-Za-z]{2}\.[Ee][Nn][Tt]\.[A-Za-z0-9]{1,128}$' then
      return pg_catalog.upper(pg_catalog.left(trimmed, 6)) || pg_catalog.substr(trimmed, 7);
    end if;
    return null;
  end if;
  if kind = 'whatsapp_lid' then
    -- a linked-device id of msgstore.db (jid 123456789012345@lid)
    return pg_catalog.substring(trimmed, '^([0-9]{1,24})(@lid)?$');
  end if;
  if kind = 'telegram_user_id' then
    -- a numeric user id (Telegram Desktop exports write user123456789)
    return pg_catalog.substring(trimmed, '^(?:user)?([1-9][0-9]{0,19})$');
  end if;
  if kind in ('signal_aci', 'signal_pni') then
    -- a service id: a UUID, written bare or with its ACI: / PNI: prefix
    digits := pg_catalog.substring(trimmed,
      '^(?:[AaPp][CcNn][Ii]:)?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$');
    if digits is null or (pg_catalog.strpos(trimmed, ':') > 0
                          and pg_catalog.upper(pg_catalog.left(trimmed, 4)) <> pg_catalog.upper(pg_catalog.substr(kind, 8, 3)) || ':') then
      return null;
    end if;
    return pg_catalog.lower(digits);
  end if;
  if kind = 'wechat_openid' then
    -- an official account's openid of a follower: case matters
    return pg_catalog.substring(trimmed, '^([A-Za-z0-9_-]{6,64})$');
  end if;
  if kind in ('phone', 'any') then
    if trimmed ~ '^\+?[0-9]{6,15}@(s\.whatsapp\.net|c\.us)$' then
      -- a WhatsApp JID: 34612345678@s.whatsapp.net
      return '+' || pg_catalog.regexp_replace(pg_catalog.split_part(trimmed, '@', 1), '[^0-9]', '', 'g');
    end if;
    if trimmed ~ '^(\+|00)[0-9 ().\-/]{6,24}$' then
      -- international form: + or 00, digits and separators; a trunk (0) is dropped
      digits := pg_catalog.regexp_replace(
        pg_catalog.regexp_replace(pg_catalog.replace(trimmed, '(0)', ''), '^00', ''),
        '[^0-9]', '', 'g');
      if digits ~ '^[1-9][0-9]{5,14}$' then
        return '+' || digits;
      end if;
    end if;
    if kind = 'phone' then
      return null;  -- no country code (or no phone at all): refused, never guessed
    end if;
  end if;
  return pg_catalog.lower(pg_catalog.regexp_replace(trimmed, '^@+', ''));
end;
$$;
comment on function messaging_private.normalize_identifier(text, text) is
  'Normalises an identifier of the given kind (phone, username, email, or any for a chat participant): a JID or an international phone (+ or 00) to E.164, null for a phone without a country code; usernames lower-case without a leading @; emails lower-case. crm_messaging.identifiers.normalize_identifier is the same rule (tests/fixtures/phone_cases.json). The ids that are not phones (identifier_kinds: whatsapp_user_id, whatsapp_parent_user_id, whatsapp_lid, telegram_user_id, signal_aci, signal_pni, wechat_openid) are checked against their form and null when malformed.';
grant execute on function messaging_private.normalize_identifier(text, text) to authenticated, service_role;

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

create or replace function messaging_private.payload_errors(payload jsonb)
returns text[]
language plpgsql
stable
set search_path = ''
as $$
-- Every problem of a payload, in message and field order: its shape and each field
-- (payload_shape_errors, payload_field_errors); then, once every field is valid on its own,
-- the rules across fields.
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
  select coalesce(pg_catalog.array_agg(x.err order by x.i, x.n), '{}') into v_errors
    from (select * from messaging_private.payload_shape_errors(payload)
          union all
          select * from messaging_private.payload_field_errors(payload, v_earliest, v_future)) x
   where x.err is not null;
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
      union all
      select p.i, p.n, p.err from messaging_private.participant_ids_errors(payload) p where p.err is not null
    ) x
  );
end;
$$;
comment on function messaging_private.payload_errors(jsonb) is
  'Every problem of an ingest payload, each naming its field by path (messages[4].sent_at: ...); empty when valid.';

create or replace function messaging_private.person_identifiers_normalize()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_problem text;
begin
  v_problem := messaging_private.identifier_kind_problem(new.kind, new.value);
  if v_problem is not null then
    raise exception using errcode = '22023', message = v_problem, hint = 'identifier_invalid';
  end if;
  if new.kind = 'phone' and pg_catalog.btrim(coalesce(new.value, '')) <> ''
     and messaging_private.normalize_identifier('phone', new.value) is null then
    raise exception using errcode = '22023',
      message = pg_catalog.format(
        'value: %L is not a phone number in international form (+34 612 34 56 78)', new.value),
      hint = 'identifier_invalid';
  end if;
  new.value := messaging_private.normalize_identifier(new.kind, new.value);
  if new.value is null then
    raise exception using errcode = '22023', message = 'value: must not be empty', hint = 'identifier_invalid';
  end if;
  return new;
end;
$$;
comment on function messaging_private.person_identifiers_normalize() is
  'Trigger: stores person_identifiers.value normalised for its kind and refuses an unknown kind, malformed phones and malformed ids (identifier_invalid).';
