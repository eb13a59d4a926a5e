-- =============================================================================
-- Merges, continued: undo, people, suggestions and the visible record
--
-- undo_merge(merge_id) restores both sides of a standing merge, latest first:
-- a conversation merge gives the other conversation back (same id, row, messages,
-- read markers) and takes its messages out of keep again, except those that
-- arrived after the merge (they stay in keep and the answer lists them); a person
-- merge moves the identifiers and conversations it moved back.
-- =============================================================================

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
