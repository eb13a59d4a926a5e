-- The whitespace normalize_identifier and create_person_from_conversation trim: E'\v' is a
-- plain v in PostgreSQL, so the letter v was trimmed off both ends of identifiers and names
-- ("@olav" became "ola", "Vlad" "lad"); the vertical tab is now written \x0b. Values
-- stored before keep what they were given (the original is not kept to repair them).

create or replace function public.create_person_from_conversation(conversation_id uuid, full_name text)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_conv public.chat_conversations%rowtype := messaging_private.own_conversation(conversation_id);
  v_name text := pg_catalog.btrim(full_name, E' \t\n\r\f\x0b');  -- \x0b: vertical tab (E'\v' is a v)
  v_person uuid;
  v_created boolean := false;
begin
  if v_name is null or v_name = '' or pg_catalog.length(v_name) > 500 then
    raise exception using errcode = '22023', hint = 'person_name_invalid',
      message = 'full_name: give the person a name of 1 to 500 characters';
  end if;
  -- a retry (the conversation already linked to a person of this name) creates nobody
  select p.id into v_person from public.people p
   where p.id = v_conv.person_id and p.full_name = v_name;
  if v_person is null then
    insert into public.people (user_id, full_name, phone)
    values ((select auth.uid()), v_name,
            case when messaging_private.participant_kind(v_conv.participant_identifier) = 'phone'
                  and v_conv.conversation_type = 'direct'
                 then v_conv.participant_identifier end)
    returning id into v_person;
    v_created := true;
  end if;
  return messaging_private.link_person(v_conv, v_person)
    || pg_catalog.jsonb_build_object('full_name', v_name, 'created', v_created);
end;
$$;
comment on function public.create_person_from_conversation(uuid, text) is
  'Creates a person named full_name (with the phone when the participant is one) from the caller''s conversation, links it and records the participant identifier as link_conversation_to_person does. A retry for a conversation already linked to a person of that name creates nobody (created false). Refuses conversation_not_found / person_name_invalid, changing nothing.';

create or replace function messaging_private.normalize_identifier(kind text, value text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  -- the whitespace trimmed: space, tab, newline, return, form feed, vertical tab (written
  -- \x0b: PostgreSQL reads E'\v' as a plain v, which trimmed the letter v off both ends)
  ws constant text := E' \t\n\r\f\x0b';
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
