-- =============================================================================
-- Messaging settings: set_messaging_settings, and what turning keep_deleted_text off
-- erases (the table, keeps_deleted_text and erase_deleted_text: 06_messaging_settings.sql)
-- =============================================================================

create or replace function messaging_private.erase_kept_deleted_texts(owner uuid)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
-- Erases the text (and versions) of the user's deleted messages that kept it, in the hot
-- rows and the archive chunks; returns how many rows (conversations and chunks) changed.
declare
  v_rows integer;
  v_chunks integer;
begin
  update public.chat_conversations c
     set messages = (select pg_catalog.jsonb_agg(messaging_private.erase_deleted_text(h.m) order by h.ord)
                       from pg_catalog.jsonb_array_elements(c.messages) with ordinality h(m, ord)),
         last_message_preview = coalesce(messaging_private.preview(
           messaging_private.erase_deleted_text(c.messages -> -1)), c.last_message_preview)
   where c.user_id = owner
     and c.messages @> '[{"metadata": {"deleted": true}}]'::jsonb
     and pg_catalog.jsonb_path_exists(c.messages, '$[*] ? (@.metadata.deleted == true && (@.content != null || exists(@.metadata.versions)))');
  get diagnostics v_rows = row_count;
  update public.chat_conversation_archives a
     set messages = (select pg_catalog.jsonb_agg(messaging_private.erase_deleted_text(e.m) order by e.ord)
                       from pg_catalog.jsonb_array_elements(a.messages) with ordinality e(m, ord)),
         updated_at = pg_catalog.now()
   where a.user_id = owner
     and a.messages @> '[{"metadata": {"deleted": true}}]'::jsonb
     and pg_catalog.jsonb_path_exists(a.messages, '$[*] ? (@.metadata.deleted == true && (@.content != null || exists(@.metadata.versions)))');
  get diagnostics v_chunks = row_count;
  return v_rows + v_chunks;
end;
$$;
comment on function messaging_private.erase_kept_deleted_texts(uuid) is
  'Erases the kept text and versions of every deleted message of a user (hot rows and archive chunks): what turning keep_deleted_text off does to what was kept.';
revoke all on function messaging_private.erase_kept_deleted_texts(uuid) from public, anon, authenticated, service_role;

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

create or replace function messaging_private.set_messaging_settings(keep_deleted_text boolean)
returns public.messaging_settings
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_owner uuid := auth.uid();
  v_row public.messaging_settings;
begin
  if v_owner is null then
    raise exception using errcode = '42501', message = 'set_messaging_settings: the token has no user (sub)',
      hint = 'token_without_user';
  end if;
  if keep_deleted_text is null then
    raise exception using errcode = '22023', hint = 'settings_invalid',
      message = 'keep_deleted_text: required, true (keep the text of deleted messages) or false (erase it)';
  end if;
  -- (turning keep_deleted_text off erases what was kept: the trigger messaging_settings_erase)
  insert into public.messaging_settings as s (user_id, keep_deleted_text)
  values (v_owner, set_messaging_settings.keep_deleted_text)
  on conflict (user_id) do update set keep_deleted_text = excluded.keep_deleted_text
  returning s.* into v_row;
  return v_row;
end;
$$;
comment on function messaging_private.set_messaging_settings(boolean) is
  'The privileged body of public.set_messaging_settings.';
revoke all on function messaging_private.set_messaging_settings(boolean) from public, anon, service_role;
grant execute on function messaging_private.set_messaging_settings(boolean) to authenticated;

create or replace function public.set_messaging_settings(keep_deleted_text boolean)
returns public.messaging_settings
language sql
volatile
security invoker
set search_path = ''
as $$
  select messaging_private.set_messaging_settings(keep_deleted_text);
$$;
comment on function public.set_messaging_settings(boolean) is
  'Sets the signed-in user''s messaging settings and returns them: keep_deleted_text true keeps the text of deleted messages (shown as deleted), false erases it (the default; turning it off erases what was kept).';
revoke all on function public.set_messaging_settings(boolean) from public, anon;
grant execute on function public.set_messaging_settings(boolean) to authenticated;
