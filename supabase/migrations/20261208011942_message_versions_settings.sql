-- Issue 28 item 6: the messaging settings table (keep_deleted_text), the settings_invalid
-- refusal kind, the stored keys' words for versions and kept deleted text, and apply_update's
-- owner argument (the 2-argument function goes; the functions migration declares the new one).

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

insert into messaging_private.refusal_kinds (kind, sqlstate, scope, advice, description) values
  ('settings_invalid', '22023', 'call', 'Nothing was changed. Give keep_deleted_text as true or false.',
   'set_messaging_settings without a value for a setting.');

update messaging_private.stored_message_keys
   set description = 'The text (null for media without a caption, or a deleted message unless its owner keeps deleted text).'
 where key = 'content';
update messaging_private.stored_message_keys
   set description = 'When given; webhooks add status, status_at, status_error, reactions, deleted and deleted_at; an edit adds versions (the earlier texts, [{content, at}], the newest 20) and versions_dropped.'
 where key = 'metadata';

drop function messaging_private.apply_update(jsonb, jsonb);

-- the settings' triggers (the erase function's body: erase_kept_deleted_texts, declared by the functions migration)
create or replace function messaging_private.messaging_settings_erase()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  -- keep_deleted_text turned off (through set_messaging_settings or an update of the row):
  -- what was kept goes too
  perform messaging_private.erase_kept_deleted_texts(new.user_id);
  return null;
end;
$$;
comment on function messaging_private.messaging_settings_erase() is
  'Trigger: when a user turns keep_deleted_text off, erases the text and versions their deleted messages kept.';
revoke all on function messaging_private.messaging_settings_erase() from public, anon, authenticated, service_role;

create trigger messaging_settings_touch
  before update on public.messaging_settings
  for each row execute function messaging_private.touch_updated_at();
create trigger messaging_settings_erase
  after update of keep_deleted_text on public.messaging_settings
  for each row when (old.keep_deleted_text and not new.keep_deleted_text)
  execute function messaging_private.messaging_settings_erase();
