-- =============================================================================
-- Merges: two conversations of one customer, or two people who are one
--
-- merge_conversations(keep_id, other_id) moves every message of the other
-- conversation (hot and archived) into keep, deduplicated by message id as
-- ingest dedupes (a stored copy is replaced only by one with a newer edited_at),
-- rewrites keep's hot row, archive chunks and search segments in (sent_at, id)
-- order, and removes the other conversation. merge_people(keep_id, other_id)
-- moves the other person's identifiers and conversations to keep and leaves the
-- other row (the CRM's own table) in place, marked by its merge record. Every
-- merge is recorded (what moved, when, by whom) with what undo_merge(merge_id)
-- needs to restore both sides. suggest_duplicates() only suggests.
-- The records live in messaging_private; list_merges() shows them.
-- =============================================================================

insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('merge_invalid', '22023', 'call', 'Nothing was changed. Name two different direct conversations of one platform, or two different people.',
   'merge_conversations / merge_people: a conversation or person merged with itself, conversations of different platforms, a group conversation, or a person already merged away.'),
  ('merge_not_found', 'P0002', 'call', 'Name your own conversations, people or merges.',
   'merge_conversations / merge_people / undo_merge: the conversation, person or merge does not exist or is not the caller''s.'),
  ('merge_already_undone', '55000', 'call', 'Nothing was changed: the merge was undone before.',
   'undo_merge of a merge that was already undone.'),
  ('merge_undo_blocked', '55000', 'call', 'Undo the later merge the message names first (or merge the new conversation it names into keep).',
   'undo_merge of a merge that a later standing merge builds on, or whose merged-away conversation key has a conversation again.');

create table messaging_private.person_merges (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity,
  user_id uuid not null references auth.users (id) on delete cascade,
  keep_id uuid not null references public.people (id) on delete cascade,
  other_id uuid not null references public.people (id) on delete cascade,
  moved_identifiers uuid[] not null,
  left_identifiers uuid[] not null,
  moved_conversations uuid[] not null,
  linked_conversations uuid[] not null,
  merged_at timestamptz not null default now(),
  merged_by uuid,
  undone_at timestamptz,
  undone_by uuid,
  undo_answer jsonb
);
comment on table messaging_private.person_merges is
  'One row per merge of two people: the identifiers and conversations moved to keep_id, the other person''s identifiers left in place (keep already had them), conversations linked to keep by a moved identifier, when and by whom. The other person row stays (the CRM''s own table); a standing merge marks it merged. Not exposed; list_merges() shows it.';
comment on column messaging_private.person_merges.linked_conversations is
  'Unlinked conversations that a moved identifier linked to keep (two people matched them before): undo unlinks them again.';
create index person_merges_keep_idx on messaging_private.person_merges (keep_id);
create index person_merges_other_idx on messaging_private.person_merges (other_id);
create index person_merges_user_idx on messaging_private.person_merges (user_id, merged_at desc);
revoke all on messaging_private.person_merges from public, anon, authenticated, service_role;

-- -----------------------------------------------------------------------------
-- Who merges, and the ingest's route
-- -----------------------------------------------------------------------------

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

-- -----------------------------------------------------------------------------
-- A conversation's whole message list, and writing one back
-- -----------------------------------------------------------------------------

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
-- PostgREST a refusal that is not 22023 gets an HTTP status of its own (refuse): 404 for
-- merge_not_found, 409 for the two states of undo.
begin
  if kind = 'merge_not_found' then
    perform messaging_private.refuse('P0002', 'merge_not_found', message, 404);
  elsif kind = 'merge_already_undone' then
    perform messaging_private.refuse('55000', 'merge_already_undone', message, 409);
  elsif kind = 'merge_undo_blocked' then
    perform messaging_private.refuse('55000', 'merge_undo_blocked', message, 409);
  end if;
  raise exception using errcode = '22023', message = message, hint = 'merge_invalid';
end;
$$;
comment on function messaging_private.merge_refuse(text, text) is
  'Raises a merge refusal of the given kind (merge_not_found, merge_already_undone, merge_undo_blocked, else merge_invalid).';
revoke all on function messaging_private.merge_refuse(text, text) from public, anon;
