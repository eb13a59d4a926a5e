-- =============================================================================
-- People and their identifiers
--
-- `people` is the CRM's own table; it is created here only when the CRM does not
-- have one. `person_identifiers` holds the phones, usernames and emails by which
-- a chat participant is matched to a person. Values are stored normalised:
-- phones as E.164 (+34612345678), usernames lower-case without a leading @,
-- emails lower-case.
--

-- =============================================================================


-- -----------------------------------------------------------------------------
-- Identifier normalisation (the same rules as crm_messaging.identifiers)
-- -----------------------------------------------------------------------------

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

-- -----------------------------------------------------------------------------
-- Subscriber key: one key for the national spellings of one phone (the same rules as
-- crm_messaging.identifiers.subscriber_key; tests/fixtures/phone_variants.csv runs
-- through both). phonenumbers' metadata calls the old spellings invalid instead of
-- mapping them, so the folds are written here by hand:
--   Brazil    +55 AA 9NNNNNNNN  -> +55 AA NNNNNNNN when NNNNNNNN starts with 6-9 (a mobile
--             before the ninth digit; landlines start with 2-5 and are never folded)
--   Mexico    +52 1 NNNNNNNNNN  -> +52 NNNNNNNNNN (the mobile prefix dropped in 2019)
--   Argentina +54 9 NNNNNNNNNN  -> +54 NNNNNNNNNN (the mobile prefix of international calls)
-- Anything else (another country, a username, an id) is its own key.
-- -----------------------------------------------------------------------------

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

-- -----------------------------------------------------------------------------
-- people (only if the CRM does not have it)
-- -----------------------------------------------------------------------------

do $people$
begin
  if pg_catalog.to_regclass('public.people') is not null then
    raise notice 'public.people exists: using the CRM''s own table';
    return;
  end if;

  create table public.people (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    full_name text not null check (pg_catalog.length(full_name) between 1 and 500),
    email text check (pg_catalog.length(email) <= 320),
    phone text check (pg_catalog.length(phone) <= 64),
    created_at timestamptz not null default now()
  );
  comment on table public.people is
    'CRM people. Created by crm-messaging only where the CRM has no people table.';

  create index people_user_id_idx on public.people (user_id);

  alter table public.people enable row level security;

  revoke all on public.people from anon, authenticated, service_role;
  grant select, insert, update, delete on public.people to authenticated, service_role;

  create policy "Users can view their own people" on public.people
    for select to authenticated using (user_id = (select auth.uid()));
  create policy "Users can add people of their own" on public.people
    for insert to authenticated with check (user_id = (select auth.uid()));
  create policy "Users can update their own people" on public.people
    for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
  create policy "Users can delete their own people" on public.people
    for delete to authenticated using (user_id = (select auth.uid()));
end
$people$;

-- -----------------------------------------------------------------------------
-- The kinds of identifier a person and a chat participant can have
-- -----------------------------------------------------------------------------

create table messaging_private.identifier_kinds (
  kind text primary key check (kind ~ '^[a-z][a-z_]*$'),
  position integer not null unique,
  platform text check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  example text not null,
  description text not null
);
comment on table messaging_private.identifier_kinds is
  'The kinds of person_identifiers and chat_conversation_identifiers (docs/contract.md, identifier kinds): platform is the one platform whose participants have that kind, null for any.';

insert into messaging_private.identifier_kinds (kind, position, platform, example, description) values
  ('phone', 1, null, '+34612345678', 'A phone number, E.164.'),
  ('username', 2, null, 'ana.lopez', 'A username (WhatsApp, Telegram, Signal), lower-case without @; give the platform.'),
  ('email', 3, null, 'ana@example.com', 'An email address, lower-case.'),
  ('whatsapp_user_id', 4, 'whatsapp', 'US.13491208655302741918',
   'WhatsApp''s business-scoped user id (BSUID: from_user_id, user_id, recipient_user_id).'),
  ('whatsapp_parent_user_id', 5, 'whatsapp', 'US.ENT.11815799212886844830',
   'WhatsApp''s parent business-scoped user id (parent_user_id, shared by a business''s portfolios).'),
  ('whatsapp_lid', 6, 'whatsapp', '123456789012345', 'A WhatsApp linked-device id of msgstore.db (the digits of a @lid jid).'),
  ('telegram_user_id', 7, 'telegram', '123456789', 'A Telegram numeric user id.'),
  ('signal_aci', 8, 'signal', '6e1c6b0e-6ad7-4f8b-9e43-3b5d6a7e9c01', 'A Signal account identity (ACI), a UUID.'),
  ('signal_pni', 9, 'signal', '0b3c8e1d-2f4a-4b6c-8d9e-1a2b3c4d5e6f', 'A Signal phone-number identity (PNI), a UUID.'),
  ('wechat_openid', 10, 'wechat', 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 'A WeChat official account''s openid of a follower.');

-- -----------------------------------------------------------------------------
-- person_identifiers
-- -----------------------------------------------------------------------------

create table public.person_identifiers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  person_id uuid not null references public.people (id) on delete cascade,
  kind text not null check (kind in ('phone', 'username', 'email', 'whatsapp_user_id', 'whatsapp_parent_user_id',
                                     'whatsapp_lid', 'telegram_user_id', 'signal_aci', 'signal_pni', 'wechat_openid')),
  platform text check (platform = any (pg_catalog.enum_range(null::public.messaging_platform)::text[])),
  value text not null check (pg_catalog.length(value) between 1 and 320),
  created_at timestamptz not null default now(),
  match_key text generated always as (messaging_private.subscriber_key(value)) stored,
  constraint person_identifiers_unique unique nulls not distinct (person_id, kind, platform, value)
);
comment on table public.person_identifiers is
  'Phones (E.164), usernames (lower-case, no @) and emails of a person, matched against chat participants. platform null means any platform.';

create index person_identifiers_user_value_idx on public.person_identifiers (user_id, value);
create index person_identifiers_person_id_idx on public.person_identifiers (person_id);
create index person_identifiers_user_match_key_idx on public.person_identifiers (user_id, match_key);
comment on column public.person_identifiers.match_key is
  'The subscriber key of value (messaging_private.subscriber_key): what conversations are matched by.';

alter table public.person_identifiers enable row level security;

revoke all on public.person_identifiers from anon, authenticated, service_role;
grant select, insert, update, delete on public.person_identifiers to authenticated, service_role;

create policy "Users can view their own person identifiers" on public.person_identifiers
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can add identifiers to their own people" on public.person_identifiers
  for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.people p where p.id = person_id and p.user_id = (select auth.uid()))
  );
create policy "Users can update identifiers of their own people" on public.person_identifiers
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.people p where p.id = person_id and p.user_id = (select auth.uid()))
  );
create policy "Users can delete their own person identifiers" on public.person_identifiers
  for delete to authenticated using (user_id = (select auth.uid()));

-- -----------------------------------------------------------------------------
-- Normalise identifier values on the way in
-- -----------------------------------------------------------------------------

create or replace function messaging_private.identifier_kind_problem(kind text, value text)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  -- (definer: identifier_kinds has no grant to the API roles, whose inserts run the trigger)
  select case
    when k.kind is null then
      pg_catalog.format('kind: %L is not an identifier kind (one of %s)', identifier_kind_problem.kind,
        (select pg_catalog.string_agg(x.kind, ', ' order by x.position) from messaging_private.identifier_kinds x))
    when k.kind not in ('phone', 'username', 'email') and pg_catalog.btrim(coalesce(value, '')) <> ''
         and messaging_private.normalize_identifier(k.kind, value) is null then
      pg_catalog.format('value: %L is not a %s (like %s)', value, k.kind, k.example)
  end
  from (select 1) one
  left join messaging_private.identifier_kinds k on k.kind = identifier_kind_problem.kind;
$$;
comment on function messaging_private.identifier_kind_problem(text, text) is
  'What is wrong with a person identifier''s kind, or with an id''s value for its kind (identifier_kinds, normalize_identifier): a message naming it, or null.';
revoke all on function messaging_private.identifier_kind_problem(text, text) from public, anon;
grant execute on function messaging_private.identifier_kind_problem(text, text) to authenticated, service_role;

create or replace function messaging_private.person_identifiers_normalize()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_problem text;
begin
  v_problem := messaging_private.identifier_kind_problem(new.kind, new.value);
  if v_problem is not null then
    raise exception using errcode = '22023', message = v_problem, hint = 'identifier_invalid';
  end if;
  if new.kind = 'phone' and pg_catalog.btrim(coalesce(new.value, '')) <> ''
     and messaging_private.normalize_identifier('phone', new.value) is null then
    raise exception using errcode = '22023',
      message = pg_catalog.format(
        'value: %L is not a phone number in international form (+34 612 34 56 78)', new.value),
      hint = 'identifier_invalid';
  end if;
  new.value := messaging_private.normalize_identifier(new.kind, new.value);
  if new.value is null then
    raise exception using errcode = '22023', message = 'value: must not be empty', hint = 'identifier_invalid';
  end if;
  return new;
end;
$$;
comment on function messaging_private.person_identifiers_normalize() is
  'Trigger: stores person_identifiers.value normalised for its kind and refuses an unknown kind, malformed phones and malformed ids (identifier_invalid).';

create trigger person_identifiers_normalize
  before insert or update of kind, value on public.person_identifiers
  for each row execute function messaging_private.person_identifiers_normalize();
