-- =============================================================================
-- Merges of people, duplicate suggestions and the record the screens show
-- =============================================================================

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

-- -----------------------------------------------------------------------------
-- suggest_duplicates: what looks like one customer twice, never merged by itself
-- -----------------------------------------------------------------------------

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

-- -----------------------------------------------------------------------------
-- list_merges: the record the screens show, with its Undo
-- -----------------------------------------------------------------------------

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
