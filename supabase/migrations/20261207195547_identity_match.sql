-- Issue 27 (identity matching): person_identifiers.match_key, the subscriber key of each
-- identifier (national phone variants folded), with its index; the index of unlinked
-- conversations by their participant's key; the picker's people indexes; two refusal kinds.
-- The key function comes first: the generated column and the index call it (the
-- functions migration after this one re-declares nothing it has not changed).

create or replace function messaging_private.subscriber_key(value text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  if value is null or value !~ '^\+[1-9][0-9]{5,14}$' then
    return value;
  end if;
  if value ~ '^\+55[1-9][1-9]9[6-9][0-9]{7}$' then
    return '+55' || pg_catalog.substr(value, 4, 2) || pg_catalog.substr(value, 7);
  end if;
  if value ~ '^\+521[0-9]{10}$' then
    return '+52' || pg_catalog.substr(value, 5);
  end if;
  if value ~ '^\+549[0-9]{10}$' then
    return '+54' || pg_catalog.substr(value, 5);
  end if;
  return value;
end;
$$;
comment on function messaging_private.subscriber_key(text) is
  'The key by which a normalised identifier is matched: a phone (E.164) with its national variants folded (Brazil''s mobile ninth digit, Mexico''s 52 1, Argentina''s 54 9); any other value unchanged. crm_messaging.identifiers.subscriber_key is the same rule (tests/fixtures/phone_variants.csv).';
grant execute on function messaging_private.subscriber_key(text) to authenticated, service_role;

alter table public.person_identifiers
  add column match_key text generated always as (messaging_private.subscriber_key(value)) stored;
comment on column public.person_identifiers.match_key is
  'The subscriber key of value (messaging_private.subscriber_key): what conversations are matched by.';
create index person_identifiers_user_match_key_idx on public.person_identifiers (user_id, match_key);

insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('person_not_found', 'P0002', 'call', 'Name a person of yours.',
   'link_conversation_to_person: the person does not exist or is not the caller''s.'),
  ('person_name_invalid', '22023', 'call', 'Give the person a name of 1 to 500 characters.',
   'create_person_from_conversation: an empty or too long name.');

-- the user's unlinked conversations of one subscriber key (a new identifier links them)
create index chat_conversations_participant_key_idx
  on public.chat_conversations (user_id, messaging_private.subscriber_key(participant_identifier))
  where person_id is null;

-- the picker: people by name, by the words of a name, and the people created last
create index people_user_name_idx on public.people (user_id, full_name, id);
create index people_user_created_idx on public.people (user_id, created_at desc);
-- a name containing the typed words (the picker's and the People page's ilike), found
-- without reading every person's name
create index people_full_name_trgm_idx on public.people using gin (full_name extensions.gin_trgm_ops);

