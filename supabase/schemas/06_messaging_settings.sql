-- =============================================================================
-- Messaging settings per CRM user
--
-- One row per user, made by set_messaging_settings (a user without a row has the
-- defaults). keep_deleted_text: whether a message the customer (or the user) deleted
-- keeps its text and earlier versions for the CRM user (true) or loses them (false, the
-- default); either way the message stays with its deleted marker. The delete paths read
-- it through messaging_private.keeps_deleted_text (21_webhook_updates.sql apply_update).
-- =============================================================================

create table public.messaging_settings (
  user_id uuid primary key default auth.uid() references auth.users (id) on delete cascade,
  keep_deleted_text boolean not null default false,
  updated_at timestamptz not null default now()
);
comment on table public.messaging_settings is
  'The messaging settings of one CRM user (no row: the defaults). Written through set_messaging_settings; readable by its user.';
comment on column public.messaging_settings.user_id is
  'The CRM user the settings are for.';
comment on column public.messaging_settings.keep_deleted_text is
  'true: a deleted message keeps its text and earlier versions (shown as deleted); false (default): they are erased and only the deleted marker stays.';
comment on column public.messaging_settings.updated_at is
  'When the settings last changed.';

alter table public.messaging_settings enable row level security;
revoke all on public.messaging_settings from anon, authenticated, service_role;
grant select on public.messaging_settings to authenticated;
grant update (keep_deleted_text) on public.messaging_settings to authenticated;
grant select, insert, update, delete on public.messaging_settings to service_role;

create policy "Users can view their own messaging settings" on public.messaging_settings
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can change their own messaging settings" on public.messaging_settings
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

create or replace function messaging_private.keeps_deleted_text(owner uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
  -- (a primary-key probe, asked only when a delete is applied)
  select coalesce((select s.keep_deleted_text from public.messaging_settings s where s.user_id = owner), false);
$$;
comment on function messaging_private.keeps_deleted_text(uuid) is
  'Whether the user keeps the text of deleted messages (messaging_settings.keep_deleted_text; false without a row or a user).';
revoke all on function messaging_private.keeps_deleted_text(uuid) from public, anon, authenticated, service_role;

create or replace function messaging_private.erase_deleted_text(m jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  -- a deleted message without its text and earlier versions (the marker stays); a
  -- tombstone of an export (deleted, no deleted_at: its content is the platform's words,
  -- "This message was deleted") has no customer text to erase
  select case when (m #> '{metadata,deleted}') = 'true'::jsonb and m #> '{metadata,deleted_at}' is not null
              then m || pg_catalog.jsonb_build_object('content', null, 'metadata',
                     (m -> 'metadata') - 'versions' - 'versions_dropped')
              else m end;
$$;
comment on function messaging_private.erase_deleted_text(jsonb) is
  'A message deleted by a delete (metadata.deleted with deleted_at) without its content and metadata.versions; any other message (an export''s tombstone included) as it is.';
revoke all on function messaging_private.erase_deleted_text(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.erase_deleted_on_arrival(payload jsonb, owner uuid)
returns jsonb
language sql
stable
set search_path = ''
as $$
  -- a message that arrives already deleted (the signal-cli importer's remote delete of a
  -- message in its own file: deleted with deleted_at) loses its text and versions here, as a
  -- delete update's would, unless the owner keeps deleted text; every other message (an
  -- export's tombstone included) is untouched
  select case
    when pg_catalog.jsonb_typeof(payload) is distinct from 'object'
      or pg_catalog.jsonb_typeof(payload -> 'messages') is distinct from 'array'
      or not (payload @? '$.messages[*].metadata ? (@.deleted == true && exists (@.deleted_at))')
      or messaging_private.keeps_deleted_text(owner) then payload
    else payload || pg_catalog.jsonb_build_object('messages', (
      select pg_catalog.jsonb_agg(messaging_private.erase_deleted_text(e.m) order by e.ord)
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)))
  end;
$$;
comment on function messaging_private.erase_deleted_on_arrival(jsonb, uuid) is
  'An ingest payload whose messages that arrive deleted (metadata.deleted with deleted_at) lose their content and metadata.versions (erase_deleted_text) unless the owner keeps deleted text; the payload itself when none is deleted or the owner keeps it.';
revoke all on function messaging_private.erase_deleted_on_arrival(jsonb, uuid) from public, anon, authenticated, service_role;
