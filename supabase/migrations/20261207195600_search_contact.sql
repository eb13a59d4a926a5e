-- issue 31, item 3 (written by hand): search that finds the contact. search_messages and
-- its steps take a `linked` filter (a new argument: the old signatures are dropped here and
-- re-declared in the search_contact_functions migration, with search_conversations), and
-- trigram indexes let search_conversations find a name, number or person by a substring.
drop function if exists public.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid);
drop function if exists messaging_private.search_messages(text, uuid, integer, text, timestamptz, timestamptz, text, uuid);
drop function if exists messaging_private.search_newest_first(uuid, tsquery, tsquery, text, text[], uuid, text, timestamptz, timestamptz, text, integer);
drop function if exists messaging_private.search_indexed_lines(uuid, tsquery, tsquery, text, text[], uuid, text, timestamptz, timestamptz, text, integer);

-- the indexes' expression (as in supabase/schemas/07_search_index.sql)
create or replace function messaging_private.conversation_search_text(
  participant_name text, participant_identifier text, external_conversation_id text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return messaging_private.search_normalize(coalesce(participant_name, '') || E'\n'
    || coalesce(participant_identifier, '') || E'\n' || coalesce(external_conversation_id, ''));
end;
$$;
comment on function messaging_private.conversation_search_text(text, text, text) is
  'The search form of what names a conversation (participant name, identifier, conversation id), one per line: what chat_conversations_search_trgm_idx covers.';

create index chat_conversations_search_trgm_idx on public.chat_conversations using gin (
  messaging_private.conversation_search_text(participant_name, participant_identifier, external_conversation_id)
  extensions.gin_trgm_ops);
create index if not exists people_full_name_search_trgm_idx on public.people
  using gin (messaging_private.search_normalize(full_name) extensions.gin_trgm_ops);
