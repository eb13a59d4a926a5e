-- =============================================================================
-- Finding the contact: the names search_conversations reads (19_search.sql)
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Finding the contact: conversations by name, number or linked person
-- (search_conversations in 19_search.sql). The search form (unaccented, lower-case) of
-- what names each conversation sits in a narrow side table with a trigram index, kept by
-- triggers that fire only when a name changes, so the live path's update of the wide
-- conversation row never writes a trigram index; people's names have their own.
-- -----------------------------------------------------------------------------

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
  -- a statement trigger: the 10,000 conversations of one ingest call get their names in
  -- one insert, not a function call and an insert each
  insert into messaging_private.conversation_names (conversation_id, user_id, names)
  select a.id, a.user_id,
         messaging_private.conversation_search_text(a.participant_name, a.participant_identifier,
                                                    a.external_conversation_id)
    from added a;
  return null;
end;
$$;
comment on function messaging_private.conversation_names_added() is
  'Trigger: the new conversations'' names into conversation_names, one insert per statement (its transition table added); an ingest call that creates no conversation runs no insert and fires nothing.';
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
  referencing new table as added
  for each statement execute function messaging_private.conversation_names_added();
create trigger chat_conversations_names_changed
  after update of participant_name, participant_identifier on public.chat_conversations
  for each row
  when (old.participant_name is distinct from new.participant_name
        or old.participant_identifier is distinct from new.participant_identifier)
  execute function messaging_private.conversation_names_changed();
