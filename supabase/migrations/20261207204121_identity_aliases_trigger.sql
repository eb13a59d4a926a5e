-- issue 27, items 2 and 3 (written by hand): a person identifier of any kind links the
-- conversations that have it as an alias. After identity_aliases_functions, which
-- declares the trigger's function.
create trigger person_identifiers_link_conversations_by_alias
  after insert or update of kind, value, platform, person_id on public.person_identifiers
  for each row execute function messaging_private.link_conversations_by_alias();
