-- Written by `make migration` from supabase/schemas; finish the todo lines.

create or replace function messaging_private.merge_actor()
returns uuid
language plpgsql
stable
set search_path = ''
as $$
-- The signed-in user (whose rows alone a merge may name), or null for the service role
-- (any owner's rows, both of one owner); any other role is refused.
declare
  v_role text := auth.jwt() ->> 'role';
begin
  if v_role = 'authenticated' then
    if auth.uid() is null then
      raise exception using errcode = '42501', message = 'merge: the token has no user (sub)',
        hint = 'token_without_user';
    end if;
    return auth.uid();
  elsif v_role = 'service_role' then
    return null;
  end if;
  raise exception using errcode = '42501',
    message = pg_catalog.format('merge: role %s may not merge', coalesce(v_role, 'none')),
    hint = 'role_not_allowed';
end;
$$;
comment on function messaging_private.merge_actor() is
  'Who merges: auth.uid() of a signed-in user, null for the service role; any other role is refused.';
revoke all on function messaging_private.merge_actor() from public, anon;

create or replace function messaging_private.merged_into(owner uuid, platform text, participant text)
returns uuid
language sql
stable
set search_path = ''
as $$
  -- the latest standing merge of the key (a key merged again, after a conversation of it
  -- came back before ingest routed it, routes to where it went last)
  select m.keep_id from messaging_private.conversation_merges m
   where m.user_id = owner and m.platform = merged_into.platform and m.other_key = participant
     and m.undone_at is null
   order by m.seq desc
   limit 1;
$$;
comment on function messaging_private.merged_into(uuid, text, text) is
  'The conversation a merged-away conversation key (external_conversation_id) of an owner and platform now lives in, or null: one index lookup, for ingest to route later messages to keep.';
revoke all on function messaging_private.merged_into(uuid, text, text) from public, anon, authenticated, service_role;

create or replace function messaging_private.duplicate_key(value text)
returns text
language sql
immutable
set search_path = ''
as $$
  -- a bare number (WhatsApp's wa_id, 34600000001) is taken as an international one: only a
  -- suggestion rests on it, never a link or a merge
  select case when value ~ '^[1-9][0-9 .()-]{6,20}$'
              then messaging_private.normalize_identifier('any', '+' || value)
              else messaging_private.normalize_identifier('any', value) end;
$$;
comment on function messaging_private.duplicate_key(text) is
  'The key two participants must share for suggest_duplicates to pair them: the normalised identifier, a bare number read as international.';
revoke all on function messaging_private.duplicate_key(text) from public, anon;

create or replace function messaging_private.merge_all_messages(conversation uuid)
returns jsonb
language sql
stable
set search_path = ''
as $$
  -- archive chunks never overlap and are all older than the hot row
  select coalesce(pg_catalog.jsonb_agg(x.m order by (x.m ->> 'sent_at')::timestamptz, (x.m ->> 'id') collate "C"),
                  '[]'::jsonb)
    from (
      select e.m
        from public.chat_conversation_archives a
       cross join lateral pg_catalog.jsonb_array_elements(a.messages) e(m)
       where a.conversation_id = conversation
      union all
      select e.m
        from public.chat_conversations c
       cross join lateral pg_catalog.jsonb_array_elements(c.messages) e(m)
       where c.id = conversation
    ) x;
$$;
comment on function messaging_private.merge_all_messages(uuid) is
  'Every stored message of a conversation, archive and hot row, in (sent_at, id) order.';
revoke all on function messaging_private.merge_all_messages(uuid) from public, anon, authenticated, service_role;

create or replace function messaging_private.merge_rewrite(conversation uuid, owner uuid, msgs jsonb)
returns void
language plpgsql
set search_path = ''
as $$
-- Writes a conversation's whole message list anew: the newest in the hot row (all when
-- they fit hot_max, else as many as fit hot_keep, as after a spill), the rest as archive
-- chunks, its search segments rebuilt, and the row's count, span and preview.
declare
  v_sorted jsonb := messaging_private.sort_messages(msgs);
  v_n integer := pg_catalog.jsonb_array_length(v_sorted);
  v_hot_n integer;
  v_hot jsonb;
  v_old jsonb;
begin
  delete from public.chat_conversation_archives a where a.conversation_id = conversation;
  delete from messaging_private.search_segments s where s.conversation_id = conversation;
  if v_n <= messaging_private.setting('hot_max_messages')
     and pg_catalog.octet_length(messaging_private.search_document(v_sorted)) <= messaging_private.setting('hot_max_bytes') then
    v_hot_n := v_n;
  else
    v_hot_n := messaging_private.newest_fitting(v_sorted,
      messaging_private.setting('hot_keep_messages'), messaging_private.setting('hot_keep_bytes'));
  end if;
  select coalesce(pg_catalog.jsonb_agg(e.m order by e.ord) filter (where e.ord > v_n - v_hot_n), '[]'::jsonb),
         coalesce(pg_catalog.jsonb_agg(e.m order by e.ord) filter (where e.ord <= v_n - v_hot_n), '[]'::jsonb)
    into v_hot, v_old
    from pg_catalog.jsonb_array_elements(v_sorted) with ordinality e(m, ord);
  if pg_catalog.jsonb_array_length(v_old) > 0 then
    perform messaging_private.store_chunks(conversation, owner, null, v_old);
  end if;
  update public.chat_conversations c
     set messages = v_hot,
         message_count = v_n,
         first_message_at = (v_sorted -> 0 ->> 'sent_at')::timestamptz,
         last_message_at = (v_sorted -> -1 ->> 'sent_at')::timestamptz,
         last_message_preview = case when v_n > 0 then messaging_private.preview(v_sorted -> -1) end
   where c.id = conversation;
  if v_n > 0 then
    perform messaging_private.index_messages(conversation, owner, v_sorted);
  end if;
end;
$$;
comment on function messaging_private.merge_rewrite(uuid, uuid, jsonb) is
  'Writes a conversation''s whole message list anew: hot row, archive chunks, search segments, count, span and preview.';
revoke all on function messaging_private.merge_rewrite(uuid, uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.merge_refuse(kind text, message text)
returns void
language plpgsql
set search_path = ''
as $$
-- One place for the merges' refusals, each with the SQLSTATE of its kind. Through
-- PostgREST a refusal that is not 22023 gets an HTTP status of its own (a PGRST raise, as
-- mark_conversation_read does): 404 for merge_not_found, 409 for the two states of undo.
declare
  v_http boolean := pg_catalog.current_setting('request.method', true) <> '';
begin
  if kind = 'merge_not_found' then
    if v_http then
      raise sqlstate 'PGRST' using
        message = pg_catalog.jsonb_build_object('code', 'P0002', 'hint', 'merge_not_found', 'details', null,
          'message', message)::text,
        detail = '{"status": 404, "headers": {}}';
    end if;
    raise exception using errcode = 'P0002', message = message, hint = 'merge_not_found';
  elsif kind = 'merge_already_undone' then
    if v_http then
      raise sqlstate 'PGRST' using
        message = pg_catalog.jsonb_build_object('code', '55000', 'hint', 'merge_already_undone', 'details', null,
          'message', message)::text,
        detail = '{"status": 409, "headers": {}}';
    end if;
    raise exception using errcode = '55000', message = message, hint = 'merge_already_undone';
  elsif kind = 'merge_undo_blocked' then
    if v_http then
      raise sqlstate 'PGRST' using
        message = pg_catalog.jsonb_build_object('code', '55000', 'hint', 'merge_undo_blocked', 'details', null,
          'message', message)::text,
        detail = '{"status": 409, "headers": {}}';
    end if;
    raise exception using errcode = '55000', message = message, hint = 'merge_undo_blocked';
  end if;
  raise exception using errcode = '22023', message = message, hint = 'merge_invalid';
end;
$$;
comment on function messaging_private.merge_refuse(text, text) is
  'Raises a merge refusal of the given kind (merge_not_found, merge_already_undone, merge_undo_blocked, else merge_invalid).';
revoke all on function messaging_private.merge_refuse(text, text) from public, anon;

create or replace function messaging_private.merge_combine(
  keep_msgs jsonb, other_msgs jsonb,
  out merged jsonb, out added text[], out replaced jsonb, out duplicates integer,
  out first_moved_at timestamptz, out last_moved_at timestamptz
)
language sql
stable
set search_path = ''
as $$
  -- as ingest dedupes: one copy per id; the other's copy wins only with a newer edited_at
  -- (a missing edited_at counts as older)
  with k as (select e.m, e.m ->> 'id' as id from pg_catalog.jsonb_array_elements(keep_msgs) e(m)),
       o as (select e.m, e.m ->> 'id' as id from pg_catalog.jsonb_array_elements(other_msgs) e(m)),
       j as (
         select k.m as km, o.m as om, coalesce(k.id, o.id) as id,
                k.m is not null and o.m is not null
                  and coalesce((o.m ->> 'edited_at')::timestamptz, '-infinity')
                      > coalesce((k.m ->> 'edited_at')::timestamptz, '-infinity') as newer
           from k full join o on o.id = k.id)
  select coalesce(pg_catalog.jsonb_agg(case when j.km is null or j.newer then j.om else j.km end), '[]'::jsonb),
         coalesce(pg_catalog.array_agg(j.id) filter (where j.km is null), '{}'::text[]),
         coalesce(pg_catalog.jsonb_agg(j.km) filter (where j.newer), '[]'::jsonb),
         (pg_catalog.count(*) filter (where j.km is not null and j.om is not null))::integer,
         pg_catalog.min((j.om ->> 'sent_at')::timestamptz) filter (where j.km is null),
         pg_catalog.max((j.om ->> 'sent_at')::timestamptz) filter (where j.km is null)
    from j;
$$;
comment on function messaging_private.merge_combine(jsonb, jsonb) is
  'Two conversations'' messages as one, deduplicated by id as ingest does (the other''s copy wins only with a newer edited_at): the merged list, the ids added to keep, keep''s replaced copies, the duplicates and the span of what moved.';
revoke all on function messaging_private.merge_combine(jsonb, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.conversation_merge_answer(merge uuid, again boolean)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'merge_id', m.id, 'dry_run', false, 'already_merged', again, 'keep_id', m.keep_id, 'other_id', m.other_id,
    'platform', m.platform, 'other_key', m.other_key, 'moved', m.moved_count, 'duplicates', m.duplicate_count,
    'replaced', pg_catalog.jsonb_array_length(m.replaced), 'first_moved_at', m.first_moved_at,
    'last_moved_at', m.last_moved_at, 'message_count', c.message_count)
    from messaging_private.conversation_merges m
    join public.chat_conversations c on c.id = m.keep_id
   where m.id = merge;
$$;
comment on function messaging_private.conversation_merge_answer(uuid, boolean) is
  'What merge_conversations answers for a recorded merge (again: a retried call found it standing).';
revoke all on function messaging_private.conversation_merge_answer(uuid, boolean) from public, anon, authenticated, service_role;

create or replace function messaging_private.merge_conversations(keep_id uuid, other_id uuid, dry_run boolean)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_actor uuid := messaging_private.merge_actor();
  v_keep public.chat_conversations%rowtype;
  v_other public.chat_conversations%rowtype;
  v_k jsonb;
  v_o jsonb;
  v_all jsonb;
  v_added text[];
  v_replaced jsonb;
  v_dups integer;
  v_first timestamptz;  -- the span of what moves
  v_last timestamptz;
  v_id uuid;
  v_repointed uuid[];
begin
  if keep_id is null or other_id is null or keep_id = other_id then
    perform messaging_private.merge_refuse('merge_invalid', pg_catalog.format(
      'other_id: name two different conversations (a conversation cannot be merged with itself: %s)', keep_id));
  end if;
  -- both locked in a fixed order, so two merges of one pair cannot deadlock
  perform 1 from public.chat_conversations c
   where c.id in (keep_id, other_id) and (v_actor is null or c.user_id = v_actor)
   order by c.id for update;
  select * into v_keep from public.chat_conversations c
   where c.id = merge_conversations.keep_id and (v_actor is null or c.user_id = v_actor);
  if not found then
    perform messaging_private.merge_refuse('merge_not_found',
      pg_catalog.format('keep_id: no such conversation of yours (%s)', keep_id));
  end if;
  select * into v_other from public.chat_conversations c
   where c.id = merge_conversations.other_id and (v_actor is null or c.user_id = v_actor);
  if not found and not dry_run then
    -- a retried call whose answer was lost: the standing merge's answer, nothing merged twice
    select m.id into v_id from messaging_private.conversation_merges m
     where m.keep_id = v_keep.id and m.other_id = merge_conversations.other_id and m.undone_at is null;
    if v_id is not null then
      return messaging_private.conversation_merge_answer(v_id, true);
    end if;
  end if;
  if v_other.id is null then
    perform messaging_private.merge_refuse('merge_not_found',
      pg_catalog.format('other_id: no such conversation of yours (%s)', other_id));
  end if;
  if v_keep.user_id <> v_other.user_id or v_keep.platform <> v_other.platform then
    perform messaging_private.merge_refuse('merge_invalid', pg_catalog.format(
      'other_id: conversations of different users or platforms cannot be merged (%s and %s)', v_keep.platform, v_other.platform));
  end if;
  if v_keep.conversation_type <> 'direct' or v_other.conversation_type <> 'direct' then
    perform messaging_private.merge_refuse('merge_invalid',
      'keep_id, other_id: only direct conversations (one customer) can be merged, not groups');
  end if;
  v_k := messaging_private.merge_all_messages(v_keep.id);
  v_o := messaging_private.merge_all_messages(v_other.id);
  select c.merged, c.added, c.replaced, c.duplicates, c.first_moved_at, c.last_moved_at
    into v_all, v_added, v_replaced, v_dups, v_first, v_last
    from messaging_private.merge_combine(v_k, v_o) c;
  if not dry_run then
    -- earlier merges into the other conversation now route to keep
    with r as (
      update messaging_private.conversation_merges m set keep_id = v_keep.id
       where m.keep_id = v_other.id and m.undone_at is null
      returning m.id)
    select coalesce(pg_catalog.array_agg(r.id), '{}'::uuid[]) into v_repointed from r;
    insert into messaging_private.conversation_merges as m (
      user_id, platform, keep_id, other_id, other_key, other_row, other_messages, other_read_markers,
      keep_ids_before, added_ids, replaced, repointed, adopted_person, moved_count, duplicate_count,
      first_moved_at, last_moved_at, merged_by)
    values (
      v_keep.user_id, v_keep.platform, v_keep.id, v_other.id, v_other.external_conversation_id,
      pg_catalog.to_jsonb(v_other) - 'messages', v_o,
      coalesce((select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r)) from public.chat_conversation_read_markers r
                 where r.conversation_id = v_other.id), '[]'::jsonb),
      coalesce((select pg_catalog.array_agg(e.m ->> 'id') from pg_catalog.jsonb_array_elements(v_k) e(m)), '{}'::text[]),
      v_added, v_replaced, v_repointed, case when v_keep.person_id is null then v_other.person_id end,
      pg_catalog.cardinality(v_added), v_dups, v_first, v_last, (select auth.uid()))
    returning m.id into v_id;
    delete from public.chat_conversations c where c.id = v_other.id;
    -- an unlinked keep takes over the other's person (adopted_person: undo gives it back)
    update public.chat_conversations c set person_id = v_other.person_id
     where c.id = v_keep.id and c.person_id is null and v_other.person_id is not null;
    perform messaging_private.merge_rewrite(v_keep.id, v_keep.user_id, v_all);
    return messaging_private.conversation_merge_answer(v_id, false);
  end if;
  return pg_catalog.jsonb_build_object(
    'merge_id', null, 'dry_run', true, 'already_merged', false, 'keep_id', v_keep.id, 'other_id', v_other.id,
    'platform', v_keep.platform, 'other_key', v_other.external_conversation_id,
    'moved', pg_catalog.cardinality(v_added), 'duplicates', v_dups,
    'replaced', pg_catalog.jsonb_array_length(v_replaced), 'first_moved_at', v_first, 'last_moved_at', v_last,
    'message_count', pg_catalog.jsonb_array_length(v_all));
end;
$$;
comment on function messaging_private.merge_conversations(uuid, uuid, boolean) is
  'The privileged body of public.merge_conversations.';
revoke all on function messaging_private.merge_conversations(uuid, uuid, boolean) from public, anon;
grant execute on function messaging_private.merge_conversations(uuid, uuid, boolean) to authenticated, service_role;

create or replace function messaging_private.undo_conversation_merge(rec messaging_private.conversation_merges)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_cur jsonb;
  v_keep_after jsonb;
  v_back jsonb;
  v_arrived text[];
  v_row public.chat_conversations%rowtype;
begin
  if exists (select 1 from public.chat_conversations c
              where c.user_id = rec.user_id and c.platform = rec.platform
                and c.external_conversation_id = rec.other_key) then
    perform messaging_private.merge_refuse('merge_undo_blocked', pg_catalog.format(
      'merge_id: a new conversation %s arrived since the merge; merge it into %s before undoing', rec.other_key, rec.keep_id));
  end if;
  perform 1 from public.chat_conversations c where c.id = rec.keep_id for update;
  v_cur := messaging_private.merge_all_messages(rec.keep_id);
  with cur as (select e.m, e.m ->> 'id' as id from pg_catalog.jsonb_array_elements(v_cur) e(m)),
       gone as (select e.m, e.m ->> 'id' as id from pg_catalog.jsonb_array_elements(rec.other_messages) e(m)),
       repl as (select e.m, e.m ->> 'id' as id from pg_catalog.jsonb_array_elements(rec.replaced) e(m))
  select
    -- keep: what it holds now, without what the merge added, with its replaced copies back
    -- unless edited again since
    (select coalesce(pg_catalog.jsonb_agg(case when r.m is not null and c.m = g.m then r.m else c.m end), '[]'::jsonb)
       from cur c left join gone g on g.id = c.id left join repl r on r.id = c.id
      where c.id <> all (rec.added_ids)),
    -- the other conversation: its messages as they were, or as edited since the merge
    (select coalesce(pg_catalog.jsonb_agg(case
              when c.m is not null and coalesce((c.m ->> 'edited_at')::timestamptz, '-infinity')
                                       > coalesce((g.m ->> 'edited_at')::timestamptz, '-infinity')
              then c.m else g.m end), '[]'::jsonb)
       from gone g left join cur c on c.id = g.id),
    (select coalesce(pg_catalog.array_agg(c.id order by (c.m ->> 'sent_at')::timestamptz, c.id collate "C"), '{}'::text[])
       from cur c
      where c.id <> all (rec.keep_ids_before) and c.id <> all (rec.added_ids)
        and not exists (select 1 from gone g where g.id = c.id))
    into v_keep_after, v_back, v_arrived;

  v_row := pg_catalog.jsonb_populate_record(null::public.chat_conversations,
    rec.other_row || '{"messages": []}'::jsonb);
  if not exists (select 1 from public.people p where p.id = v_row.person_id) then
    v_row.person_id := null;
  end if;
  if not exists (select 1 from public.messaging_connections mc where mc.id = v_row.connection_id) then
    v_row.connection_id := null;
  end if;
  insert into public.chat_conversations select v_row.*;
  perform messaging_private.merge_rewrite(rec.other_id, rec.user_id, v_back);
  perform messaging_private.merge_rewrite(rec.keep_id, rec.user_id, v_keep_after);
  insert into public.chat_conversation_read_markers (user_id, conversation_id, last_read_at, updated_at)
  select r.user_id, r.conversation_id, r.last_read_at, r.updated_at
    from pg_catalog.jsonb_populate_recordset(null::public.chat_conversation_read_markers, rec.other_read_markers) r
   where exists (select 1 from auth.users u where u.id = r.user_id)
  on conflict do nothing;
  update public.chat_conversations c set person_id = null
   where c.id = rec.keep_id and rec.adopted_person is not null and c.person_id = rec.adopted_person;
  update messaging_private.conversation_merges m set keep_id = rec.other_id
   where m.id = any (rec.repointed) and m.undone_at is null;
  return pg_catalog.jsonb_build_object(
    'merge_id', rec.id, 'kind', 'conversations', 'keep_id', rec.keep_id, 'other_id', rec.other_id,
    'restored', pg_catalog.jsonb_array_length(v_back),
    'keep_message_count', pg_catalog.jsonb_array_length(v_keep_after),
    'kept_in_keep', pg_catalog.to_jsonb(v_arrived));
end;
$$;
comment on function messaging_private.undo_conversation_merge(messaging_private.conversation_merges) is
  'Undoes one conversation merge: the other conversation back with its id, row, messages and read markers; keep without what the merge added (messages that arrived since stay and are listed).';
revoke all on function messaging_private.undo_conversation_merge(messaging_private.conversation_merges) from public, anon, authenticated, service_role;

create or replace function messaging_private.undo_person_merge(rec messaging_private.person_merges)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_convs uuid[];
  v_unlinked uuid[];
begin
  with moved as (
    update public.person_identifiers i set person_id = rec.other_id
     where i.id = any (rec.moved_identifiers) and i.person_id = rec.keep_id
       and not exists (select 1 from public.person_identifiers o
                        where o.person_id = rec.other_id and o.kind = i.kind
                          and o.platform is not distinct from i.platform and o.value = i.value)
    returning i.id)
  select coalesce(pg_catalog.array_agg(moved.id), '{}'::uuid[]) into v_ids from moved;
  with moved as (
    update public.chat_conversations c set person_id = rec.other_id
     where c.id = any (rec.moved_conversations) and c.person_id = rec.keep_id
    returning c.id)
  select coalesce(pg_catalog.array_agg(moved.id), '{}'::uuid[]) into v_convs from moved;
  with moved as (
    update public.chat_conversations c set person_id = null
     where c.id = any (rec.linked_conversations) and c.person_id = rec.keep_id
    returning c.id)
  select coalesce(pg_catalog.array_agg(moved.id), '{}'::uuid[]) into v_unlinked from moved;
  return pg_catalog.jsonb_build_object(
    'merge_id', rec.id, 'kind', 'people', 'keep_id', rec.keep_id, 'other_id', rec.other_id,
    'identifiers', pg_catalog.cardinality(v_ids), 'conversations', pg_catalog.cardinality(v_convs),
    'unlinked', pg_catalog.cardinality(v_unlinked));
end;
$$;
comment on function messaging_private.undo_person_merge(messaging_private.person_merges) is
  'Undoes one person merge: the identifiers and conversations it moved go back to the other person (those still on keep), conversations a moved identifier linked are unlinked again.';
revoke all on function messaging_private.undo_person_merge(messaging_private.person_merges) from public, anon, authenticated, service_role;

create or replace function messaging_private.undo_merge(merge_id uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_actor uuid := messaging_private.merge_actor();
  v_conv messaging_private.conversation_merges%rowtype;
  v_person messaging_private.person_merges%rowtype;
  v_later uuid;
  v_answer jsonb;
begin
  select * into v_conv from messaging_private.conversation_merges m
   where m.id = merge_id and (v_actor is null or m.user_id = v_actor) for update;
  if not found then
    select * into v_person from messaging_private.person_merges m
     where m.id = merge_id and (v_actor is null or m.user_id = v_actor) for update;
    if not found then
      perform messaging_private.merge_refuse('merge_not_found',
        pg_catalog.format('merge_id: no such merge of yours (%s)', merge_id));
    end if;
  end if;
  if coalesce(v_conv.undone_at, v_person.undone_at) is not null then
    perform messaging_private.merge_refuse('merge_already_undone', pg_catalog.format(
      'merge_id: merge %s was already undone at %s', merge_id, coalesce(v_conv.undone_at, v_person.undone_at)));
  end if;
  -- latest first: a later standing merge into the same keep (or of it) is undone before
  if v_conv.id is not null then
    select m.id into v_later from messaging_private.conversation_merges m
     where m.keep_id = v_conv.keep_id and m.seq > v_conv.seq and m.undone_at is null
     order by m.seq desc limit 1;
  else
    select m.id into v_later from messaging_private.person_merges m
     where m.seq > v_person.seq and m.undone_at is null
       and (m.keep_id in (v_person.keep_id, v_person.other_id) or m.other_id in (v_person.keep_id, v_person.other_id))
     order by m.seq desc limit 1;
  end if;
  if v_later is not null then
    perform messaging_private.merge_refuse('merge_undo_blocked', pg_catalog.format(
      'merge_id: undo the later merge %s first (merges are undone latest first)', v_later));
  end if;
  if v_conv.id is not null then
    v_answer := messaging_private.undo_conversation_merge(v_conv);
    update messaging_private.conversation_merges m
       set undone_at = pg_catalog.now(), undone_by = (select auth.uid()), undo_answer = v_answer
     where m.id = v_conv.id;
  else
    v_answer := messaging_private.undo_person_merge(v_person);
    update messaging_private.person_merges m
       set undone_at = pg_catalog.now(), undone_by = (select auth.uid()), undo_answer = v_answer
     where m.id = v_person.id;
  end if;
  return v_answer;
end;
$$;
comment on function messaging_private.undo_merge(uuid) is 'The privileged body of public.undo_merge.';
revoke all on function messaging_private.undo_merge(uuid) from public, anon;
grant execute on function messaging_private.undo_merge(uuid) to authenticated, service_role;

create or replace function messaging_private.merge_people(keep_id uuid, other_id uuid, dry_run boolean)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
-- Moves the other person's identifiers (those keep lacks) and conversations to keep; the
-- other person row stays (the CRM's own table), marked merged by the standing record.
declare
  v_actor uuid := messaging_private.merge_actor();
  v_keep public.people%rowtype;
  v_other public.people%rowtype;
  v_before uuid[];
  v_ids uuid[];
  v_left uuid[];
  v_convs uuid[];
  v_linked uuid[];
  v_id uuid;
begin
  if keep_id is null or other_id is null then
    perform messaging_private.merge_refuse('merge_invalid', 'keep_id, other_id: name both people');
  end if;
  if keep_id = other_id then
    perform messaging_private.merge_refuse('merge_invalid',
      pg_catalog.format('other_id: a person cannot be merged with themself (%s)', keep_id));
  end if;
  perform 1 from public.people p
   where p.id in (keep_id, other_id) and (v_actor is null or p.user_id = v_actor)
   order by p.id for update;
  select * into v_keep from public.people p where p.id = merge_people.keep_id and (v_actor is null or p.user_id = v_actor);
  if not found then
    perform messaging_private.merge_refuse('merge_not_found', pg_catalog.format('keep_id: no such person of yours (%s)', keep_id));
  end if;
  select * into v_other from public.people p where p.id = merge_people.other_id and (v_actor is null or p.user_id = v_actor);
  if not found then
    perform messaging_private.merge_refuse('merge_not_found', pg_catalog.format('other_id: no such person of yours (%s)', other_id));
  end if;
  if v_keep.user_id <> v_other.user_id then
    perform messaging_private.merge_refuse('merge_invalid', 'other_id: the two people belong to different users');
  end if;
  select m.id into v_id from messaging_private.person_merges m
   where m.keep_id = v_keep.id and m.other_id = v_other.id and m.undone_at is null;
  if v_id is not null and not dry_run then
    -- a retried call whose answer was lost: the standing merge's answer, nothing merged twice
    return (select pg_catalog.jsonb_build_object('merge_id', m.id, 'dry_run', false, 'already_merged', true,
      'keep_id', m.keep_id, 'other_id', m.other_id, 'identifiers', pg_catalog.cardinality(m.moved_identifiers),
      'identifiers_left', pg_catalog.cardinality(m.left_identifiers),
      'conversations', pg_catalog.cardinality(m.moved_conversations), 'linked', pg_catalog.cardinality(m.linked_conversations))
      from messaging_private.person_merges m where m.id = v_id);
  end if;
  select m.id into v_id from messaging_private.person_merges m
   where m.other_id in (v_keep.id, v_other.id) and m.undone_at is null limit 1;
  if v_id is not null then
    perform messaging_private.merge_refuse('merge_invalid', pg_catalog.format(
      'keep_id, other_id: one of them was already merged into another person (merge %s)', v_id));
  end if;
  if dry_run then
    return pg_catalog.jsonb_build_object('merge_id', null, 'dry_run', true, 'already_merged', false, 'keep_id', v_keep.id, 'other_id', v_other.id,
      'identifiers', (select pg_catalog.count(*) from public.person_identifiers i where i.person_id = v_other.id
                        and not exists (select 1 from public.person_identifiers k where k.person_id = v_keep.id
                                          and k.kind = i.kind and k.platform is not distinct from i.platform and k.value = i.value)),
      'conversations', (select pg_catalog.count(*) from public.chat_conversations c where c.person_id = v_other.id),
      'messages', (select coalesce(pg_catalog.sum(c.message_count), 0) from public.chat_conversations c where c.person_id = v_other.id),
      'first_message_at', (select pg_catalog.min(c.first_message_at) from public.chat_conversations c where c.person_id = v_other.id),
      'last_message_at', (select pg_catalog.max(c.last_message_at) from public.chat_conversations c where c.person_id = v_other.id));
  end if;
  select coalesce(pg_catalog.array_agg(c.id), '{}'::uuid[]) into v_before
    from public.chat_conversations c where c.person_id = v_keep.id;
  with moved as (
    update public.chat_conversations c set person_id = v_keep.id where c.person_id = v_other.id returning c.id)
  select coalesce(pg_catalog.array_agg(moved.id), '{}'::uuid[]) into v_convs from moved;
  with moved as (
    update public.person_identifiers i set person_id = v_keep.id
     where i.person_id = v_other.id
       and not exists (select 1 from public.person_identifiers k where k.person_id = v_keep.id
                         and k.kind = i.kind and k.platform is not distinct from i.platform and k.value = i.value)
    returning i.id)
  select coalesce(pg_catalog.array_agg(moved.id), '{}'::uuid[]) into v_ids from moved;
  select coalesce(pg_catalog.array_agg(i.id), '{}'::uuid[]) into v_left
    from public.person_identifiers i where i.person_id = v_other.id;
  -- conversations a moved identifier linked (two people matched them before)
  select coalesce(pg_catalog.array_agg(c.id), '{}'::uuid[]) into v_linked
    from public.chat_conversations c
   where c.person_id = v_keep.id and c.id <> all (v_before) and c.id <> all (v_convs);
  insert into messaging_private.person_merges as m (
    user_id, keep_id, other_id, moved_identifiers, left_identifiers, moved_conversations, linked_conversations, merged_by)
  values (v_keep.user_id, v_keep.id, v_other.id, v_ids, v_left, v_convs, v_linked, (select auth.uid()))
  returning m.id into v_id;
  return pg_catalog.jsonb_build_object('merge_id', v_id, 'dry_run', false, 'already_merged', false, 'keep_id', v_keep.id, 'other_id', v_other.id,
    'identifiers', pg_catalog.cardinality(v_ids), 'identifiers_left', pg_catalog.cardinality(v_left),
    'conversations', pg_catalog.cardinality(v_convs), 'linked', pg_catalog.cardinality(v_linked));
end;
$$;
comment on function messaging_private.merge_people(uuid, uuid, boolean) is 'The privileged body of public.merge_people.';
revoke all on function messaging_private.merge_people(uuid, uuid, boolean) from public, anon;
grant execute on function messaging_private.merge_people(uuid, uuid, boolean) to authenticated, service_role;

create or replace function messaging_private.suggest_duplicates()
returns table (kind text, keep_id uuid, other_id uuid, platform text, reason text, label text)
language sql
stable
security definer
set search_path = ''
as $$
  with conv as (
    select c.id, c.platform, c.person_id, c.message_count,
           pg_catalog.lower(pg_catalog.btrim(c.participant_name)) as name,
           messaging_private.duplicate_key(coalesce(c.participant_identifier, c.external_conversation_id)) as key,
           coalesce(c.participant_name, c.participant_identifier, c.external_conversation_id) as label
      from public.chat_conversations c
     where c.user_id = (select auth.uid()) and c.conversation_type = 'direct'
  ),
  merged_away as (
    select m.other_id as id from messaging_private.person_merges m
     where m.user_id = (select auth.uid()) and m.undone_at is null
  )
  -- the same participant twice on one platform: merge_conversations (keep: the larger)
  select 'conversations', a.id, b.id, a.platform, 'same_participant', a.label
    from conv a join conv b on b.platform = a.platform and b.key = a.key and b.id <> a.id
   where a.key is not null and (a.message_count, a.id) > (b.message_count, b.id)
  union
  -- two people with one identifier: merge_people
  select 'people', a.person_id, b.person_id, null, 'same_identifier', a.value
    from public.person_identifiers a
    join public.person_identifiers b
      on b.user_id = a.user_id and b.value = a.value and b.kind = a.kind and b.person_id > a.person_id
   where a.user_id = (select auth.uid())
     and a.person_id not in (select id from merged_away) and b.person_id not in (select id from merged_away)
  union
  -- the same name and number on two platforms, linked to two people: merge_people
  select 'people', a.person_id, b.person_id, null, 'same_name_and_number', a.label
    from conv a join conv b on b.key = a.key and b.name = a.name and b.platform <> a.platform
   where a.key is not null and b.person_id > a.person_id
     and a.person_id not in (select id from merged_away) and b.person_id not in (select id from merged_away);
$$;
comment on function messaging_private.suggest_duplicates() is 'The privileged body of public.suggest_duplicates.';
revoke all on function messaging_private.suggest_duplicates() from public, anon, service_role;
grant execute on function messaging_private.suggest_duplicates() to authenticated;

create or replace function messaging_private.list_merges(subject_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(pg_catalog.jsonb_agg(x.r order by x.at desc), '[]'::jsonb)
    from (
      select m.merged_at as at, pg_catalog.jsonb_build_object(
               'id', m.id, 'kind', 'conversations', 'keep_id', m.keep_id, 'other_id', m.other_id,
               'platform', m.platform, 'other_key', m.other_key,
               'other_label', coalesce(m.other_row ->> 'participant_name', m.other_key),
               'keep_label', (select coalesce(c.participant_name, c.participant_identifier, c.external_conversation_id)
                                from public.chat_conversations c where c.id = m.keep_id),
               'moved', m.moved_count, 'duplicates', m.duplicate_count,
               'first_moved_at', m.first_moved_at, 'last_moved_at', m.last_moved_at,
               'merged_at', m.merged_at, 'merged_by', m.merged_by,
               'undone_at', m.undone_at, 'undone_by', m.undone_by, 'undo_answer', m.undo_answer) as r
        from messaging_private.conversation_merges m
       where m.user_id = (select auth.uid())
         and (subject_id is null or subject_id in (m.keep_id, m.other_id))
      union all
      select m.merged_at, pg_catalog.jsonb_build_object(
               'id', m.id, 'kind', 'people', 'keep_id', m.keep_id, 'other_id', m.other_id,
               'other_label', p.full_name,
               'keep_label', (select k.full_name from public.people k where k.id = m.keep_id),
               'identifiers', pg_catalog.cardinality(m.moved_identifiers),
               'conversations', pg_catalog.cardinality(m.moved_conversations),
               'merged_at', m.merged_at, 'merged_by', m.merged_by,
               'undone_at', m.undone_at, 'undone_by', m.undone_by, 'undo_answer', m.undo_answer)
        from messaging_private.person_merges m
        left join public.people p on p.id = m.other_id
       where m.user_id = (select auth.uid())
         and (subject_id is null or subject_id in (m.keep_id, m.other_id))
    ) x;
$$;
comment on function messaging_private.list_merges(uuid) is 'The privileged body of public.list_merges.';
revoke all on function messaging_private.list_merges(uuid) from public, anon, service_role;
grant execute on function messaging_private.list_merges(uuid) to authenticated;

create or replace function public.merge_conversations(keep_id uuid, other_id uuid, dry_run boolean default false)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.merge_conversations(keep_id, other_id, dry_run);
$$;
comment on function public.merge_conversations(uuid, uuid, boolean) is
  'Moves every message of other_id into keep_id (two direct conversations of one owner and platform), deduplicated by id as ingest does, and removes other_id; recorded and undoable (undo_merge). dry_run: the same answer (moved, duplicates, span) without writing.';
revoke all on function public.merge_conversations(uuid, uuid, boolean) from public, anon;
grant execute on function public.merge_conversations(uuid, uuid, boolean) to authenticated, service_role;

create or replace function public.undo_merge(merge_id uuid)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.undo_merge(merge_id);
$$;
comment on function public.undo_merge(uuid) is
  'Undoes a standing merge of conversations or people (latest first) and answers what was restored; messages that reached keep after a conversation merge stay there and are listed in kept_in_keep.';
revoke all on function public.undo_merge(uuid) from public, anon;
grant execute on function public.undo_merge(uuid) to authenticated, service_role;

create or replace function public.merge_people(keep_id uuid, other_id uuid, dry_run boolean default false)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.merge_people(keep_id, other_id, dry_run);
$$;
comment on function public.merge_people(uuid, uuid, boolean) is
  'Moves the other person''s identifiers and conversations to keep_id; the other person row stays, marked merged by the record; recorded and undoable (undo_merge). dry_run: the counts and span without writing.';
revoke all on function public.merge_people(uuid, uuid, boolean) from public, anon;
grant execute on function public.merge_people(uuid, uuid, boolean) to authenticated, service_role;

create or replace function public.suggest_duplicates()
returns table (kind text, keep_id uuid, other_id uuid, platform text, reason text, label text)
language sql
stable
security invoker
set search_path = ''
as $$
  select d.kind, d.keep_id, d.other_id, d.platform, d.reason, d.label from messaging_private.suggest_duplicates() d;
$$;
comment on function public.suggest_duplicates() is
  'Likely duplicates among the signed-in user''s rows, never merged by themselves: two direct conversations of one platform with the same participant (kind conversations, keep_id the one with more messages), two people sharing an identifier or linked to the same name and number on two platforms (kind people).';
revoke all on function public.suggest_duplicates() from public, anon;
grant execute on function public.suggest_duplicates() to authenticated;

create or replace function public.list_merges(subject_id uuid default null)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select messaging_private.list_merges(subject_id);
$$;
comment on function public.list_merges(uuid) is
  'The signed-in user''s merges of conversations and people, newest first (those of one conversation or person when subject_id is given): what moved, when, by whom, and whether and when it was undone.';
revoke all on function public.list_merges(uuid) from public, anon;
grant execute on function public.list_merges(uuid) to authenticated;
