-- issue 31, item 3 (written by hand): search that finds the contact. search_messages and
-- its steps take a `linked` filter (a new argument: the old signatures are dropped here and
-- re-declared in the search_contact_functions migration, with search_conversations). The
-- names search_conversations reads: a narrow side table of each conversation's names in
-- their search form with a trigram index, kept by triggers (as in
-- supabase/schemas/07_search_names.sql), filled here from the stored conversations, and a
-- trigram index of people's names.
drop function if exists public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid);
drop function if exists messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid);
drop function if exists messaging_private.search_newest_first(uuid, tsquery, tsquery, text, text[], uuid, text, timestamptz, timestamptz, text, integer);
drop function if exists messaging_private.search_indexed_lines(uuid, tsquery, tsquery, text, text[], uuid, text, timestamptz, timestamptz, text, integer);

create or replace function messaging_private.conversation_search_text(
  participant_name text, participant_identifier text, external_conversation_id text)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select messaging_private.search_normalize(coalesce(participant_name, '') || E'\n'
    || coalesce(participant_identifier, '') || E'\n' || coalesce(external_conversation_id, ''));
$$;
comment on function messaging_private.conversation_search_text(text, text, text) is
  'The search form of what names a conversation (participant name, identifier, conversation id), one per line: conversation_names.names.';

create table messaging_private.conversation_names (
  conversation_id uuid primary key references public.chat_conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  names text not null
);
comment on table messaging_private.conversation_names is
  'The search form of each conversation''s names (conversation_search_text), beside the wide row: what search_conversations'' trigram index reads. Kept by the chat_conversations_names triggers.';
create index conversation_names_user_id_idx on messaging_private.conversation_names (user_id);
create index conversation_names_trgm_idx on messaging_private.conversation_names
  using gin (names extensions.gin_trgm_ops);
alter table messaging_private.conversation_names enable row level security;
revoke all on messaging_private.conversation_names from public, anon, authenticated, service_role;

create index if not exists people_full_name_search_trgm_idx on public.people
  using gin (messaging_private.search_normalize(full_name) extensions.gin_trgm_ops);

create or replace function messaging_private.conversation_names_added()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into messaging_private.conversation_names (conversation_id, user_id, names)
  values (new.id, new.user_id,
          messaging_private.conversation_search_text(new.participant_name, new.participant_identifier,
                                                     new.external_conversation_id));
  return null;
end;
$$;
comment on function messaging_private.conversation_names_added() is
  'Trigger: a new conversation''s names into conversation_names (a row trigger: an ingest call that creates no conversation runs nothing).';
revoke all on function messaging_private.conversation_names_added() from public, anon, authenticated, service_role;

create or replace function messaging_private.conversation_names_changed()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update messaging_private.conversation_names n
     set names = messaging_private.conversation_search_text(new.participant_name, new.participant_identifier,
                                                            new.external_conversation_id)
   where n.conversation_id = new.id;
  return null;
end;
$$;
comment on function messaging_private.conversation_names_changed() is
  'Trigger: a conversation''s names in conversation_names follow a changed participant name or identifier.';
revoke all on function messaging_private.conversation_names_changed() from public, anon, authenticated, service_role;

create trigger chat_conversations_names_added
  after insert on public.chat_conversations
  for each row execute function messaging_private.conversation_names_added();
create trigger chat_conversations_names_changed
  after update of participant_name, participant_identifier on public.chat_conversations
  for each row
  when (old.participant_name is distinct from new.participant_name
        or old.participant_identifier is distinct from new.participant_identifier)
  execute function messaging_private.conversation_names_changed();

insert into messaging_private.conversation_names (conversation_id, user_id, names)
select c.id, c.user_id,
       messaging_private.conversation_search_text(c.participant_name, c.participant_identifier, c.external_conversation_id)
  from public.chat_conversations c;
