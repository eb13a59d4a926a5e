-- Written by `make migration` from supabase/schemas; finish the todo lines.

create or replace function messaging_private.apply_one_update(owner uuid, u jsonb)
returns text
language plpgsql
set search_path = ''
as $$
-- What one checked update did: applied, unchanged, or missing (no such conversation or
-- message: an update never creates a message).
declare
  v_conv public.chat_conversations%rowtype;
  v_chunk record;
  v_copy_chunk uuid;
  v_new jsonb;
begin
  select * into v_conv
    from public.chat_conversations c
   where c.user_id = owner
     and c.platform = u ->> 'platform'
     and c.external_conversation_id = u ->> 'external_conversation_id'
     for update;
  if not found then
    -- the conversation an alias names (a status keyed by the user id of a customer whose
    -- conversation is keyed by the phone: 09_identity_aliases.sql)
    select c.* into v_conv
      from public.chat_conversation_identifiers a
      join public.chat_conversations c on c.id = a.conversation_id
     where a.user_id = owner and a.platform = u ->> 'platform'
       and a.kind = any (array['phone', 'whatsapp_user_id', 'whatsapp_parent_user_id', 'signal_aci', 'signal_pni'])
       and a.value = u ->> 'external_conversation_id'
     order by a.first_seen_at, a.id
     limit 1
       for update of c;
  end if;
  if not found then
    return 'missing';
  end if;
  if pg_catalog.jsonb_typeof(u -> 'participant_ids') = 'object' and v_conv.conversation_type = 'direct' then
    -- a status carrying the customer's phone and user id makes them known together
    perform messaging_private.ingest_identities(owner, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'platform', v_conv.platform, 'external_conversation_id', v_conv.external_conversation_id,
      'messages', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('sent_at', u ->> 'at', 'type', 'status')),
      'participant_ids', messaging_private.participant_ids_of(pg_catalog.jsonb_build_array(
        (select pg_catalog.jsonb_object_agg(p.key, p.value) from pg_catalog.jsonb_each(u -> 'participant_ids') p
          where p.key in ('phone', 'username', 'whatsapp_user_id', 'whatsapp_parent_user_id')))))));
  end if;
  -- the stored copy (stored_copies: the hot row first, then the chunk its id hash points to)
  select s.chunk into v_copy_chunk
    from messaging_private.stored_copies(v_conv.id, v_conv.messages,
           v_conv.message_count > pg_catalog.jsonb_array_length(v_conv.messages),
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', u -> 'id'))) s
   limit 1;
  if not found then
    return 'missing';  -- never create a message from an update
  end if;
  if v_copy_chunk is null then
    select pg_catalog.jsonb_agg(
             case when h.m ->> 'id' = u ->> 'id' then messaging_private.apply_update(h.m, u, owner) else h.m end
             order by h.ord)
      into v_new
      from pg_catalog.jsonb_array_elements(v_conv.messages) with ordinality h(m, ord);
    if v_new = v_conv.messages then
      return 'unchanged';
    end if;
    update public.chat_conversations c
       set messages = v_new,
           last_message_preview = coalesce(messaging_private.preview(v_new -> -1), c.last_message_preview)
     where c.id = v_conv.id;
    return 'applied';
  end if;
  select a.id, a.messages into v_chunk
    from public.chat_conversation_archives a
   where a.id = v_copy_chunk;
  select pg_catalog.jsonb_agg(
           case when e.m ->> 'id' = u ->> 'id' then messaging_private.apply_update(e.m, u, owner) else e.m end
           order by e.ord)
    into v_new
    from pg_catalog.jsonb_array_elements(v_chunk.messages) with ordinality e(m, ord);
  if v_new = v_chunk.messages then
    return 'unchanged';
  end if;
  update public.chat_conversation_archives a
     set messages = v_new, updated_at = pg_catalog.now()
   where a.id = v_chunk.id;
  return 'applied';
end;
$$;
comment on function messaging_private.apply_one_update(uuid, jsonb) is
  'One checked update applied to the stored message it names (hot row or archive chunk, its conversation locked): applied, unchanged, or missing.';
revoke all on function messaging_private.apply_one_update(uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.apply_update(m jsonb, u jsonb, owner uuid default null)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- The stored message m after the update u, or m itself when u changes nothing. owner: the
-- user whose message it is, for a delete (whether they keep the text: keeps_deleted_text;
-- null: erased).
declare
  v_meta jsonb := coalesce(m -> 'metadata', '{}'::jsonb);
  v_at text := u ->> 'at';
  v_old jsonb;
begin
  if u ->> 'kind' = 'status' then
    if messaging_private.status_rank(u ->> 'status') <= messaging_private.status_rank(v_meta ->> 'status') then
      return m;
    end if;
    v_meta := v_meta || pg_catalog.jsonb_build_object('status', u ->> 'status', 'status_at', v_at);
    v_meta := case when u ? 'error' then v_meta || pg_catalog.jsonb_build_object('status_error', u -> 'error')
                   else v_meta - 'status_error' end;
  elsif u ->> 'kind' = 'reaction' then
    v_old := v_meta -> 'reactions' -> (u ->> 'reactor');
    if v_old is not null and (v_old ->> 'at')::timestamptz > v_at::timestamptz then
      return m;  -- an older reaction than the one recorded
    end if;
    if v_old is not null and v_old -> 'emoji' = coalesce(u -> 'emoji', 'null'::jsonb)
       and (v_old ->> 'at')::timestamptz = v_at::timestamptz then
      return m;  -- the same reaction again (a redelivery)
    end if;
    v_meta := pg_catalog.jsonb_set(v_meta, '{reactions}',
      coalesce(v_meta -> 'reactions', '{}'::jsonb)
      || pg_catalog.jsonb_build_object(u ->> 'reactor',
           pg_catalog.jsonb_build_object('emoji', coalesce(u -> 'emoji', 'null'::jsonb), 'at', v_at)));
  elsif u ->> 'kind' = 'delete' then
    if (v_meta -> 'deleted') = 'true'::jsonb then
      return m;
    end if;
    v_meta := v_meta || pg_catalog.jsonb_build_object('deleted', true, 'deleted_at', v_at);
    if not messaging_private.keeps_deleted_text(owner) then
      -- erased (the default): the text and its earlier versions go, the marker stays
      m := m || '{"content": null}'::jsonb;
      v_meta := v_meta - 'versions' - 'versions_dropped';
    end if;
  else
    return m;
  end if;
  return m || pg_catalog.jsonb_build_object('metadata', v_meta);
end;
$$;
comment on function messaging_private.apply_update(jsonb, jsonb, uuid) is
  'One update applied to one stored message: a status that only moves up, a reaction by reactor (newest wins, null emoji = removed), or a deletion (metadata.deleted, deleted_at; the content and metadata.versions erased unless the owner keeps deleted text).';

create or replace function messaging_private.edit_keeps_match(edit jsonb, stored jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- The new version of an edited message, keeping of the stored version:
-- * the record of the export copy it met (metadata.matched): an edit changes what the
--   message says, not which export copy it is, so a re-import of that copy stays a duplicate;
-- * its earlier versions (metadata.versions, oldest first), with the stored text added as
--   one {content, at} when the edit changes it (at: when that text was written, its
--   edited_at or sent_at). The newest message_versions_max are kept; versions_dropped
--   counts those dropped past the cap.
-- The stored record wins over one the new version brings.
declare
  v_keep jsonb := '{}'::jsonb;
  v_versions jsonb;
  v_dropped bigint;
  v_cap constant integer := 20;  -- message_versions_max (docs/contract.md)
begin
  if stored #> '{metadata,matched}' is not null then
    v_keep := pg_catalog.jsonb_build_object('matched', stored #> '{metadata,matched}');
  end if;
  v_versions := case when pg_catalog.jsonb_typeof(stored #> '{metadata,versions}') = 'array'
                     then stored #> '{metadata,versions}' else '[]'::jsonb end;
  v_dropped := case when pg_catalog.jsonb_typeof(stored #> '{metadata,versions_dropped}') = 'number'
                    then (stored #>> '{metadata,versions_dropped}')::numeric::bigint else 0 end;
  if (stored -> 'content') is distinct from (edit -> 'content')
     and (stored #> '{metadata,deleted}') is distinct from 'true'::jsonb then
    v_versions := v_versions || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'content', coalesce(stored -> 'content', 'null'::jsonb),
      'at', coalesce(stored -> 'edited_at', stored -> 'sent_at')));
  end if;
  if pg_catalog.jsonb_array_length(v_versions) > v_cap then
    v_dropped := v_dropped + pg_catalog.jsonb_array_length(v_versions) - v_cap;
    v_versions := (select pg_catalog.jsonb_agg(v.x order by v.ord)
                     from pg_catalog.jsonb_array_elements(v_versions) with ordinality v(x, ord)
                    where v.ord > pg_catalog.jsonb_array_length(v_versions) - v_cap);
  end if;
  if pg_catalog.jsonb_array_length(v_versions) > 0 then
    v_keep := v_keep || pg_catalog.jsonb_build_object('versions', v_versions);
  end if;
  if v_dropped > 0 then
    v_keep := v_keep || pg_catalog.jsonb_build_object('versions_dropped', v_dropped);
  end if;
  if v_keep = '{}'::jsonb then
    return edit;
  end if;
  return edit || pg_catalog.jsonb_build_object('metadata',
    case when pg_catalog.jsonb_typeof(edit -> 'metadata') = 'object' then edit -> 'metadata' else '{}'::jsonb end
    || v_keep);
end;
$$;
comment on function messaging_private.edit_keeps_match(jsonb, jsonb) is
  'The new version of an edited message with the stored version''s metadata.matched (the export copy it met) and its earlier versions (metadata.versions [{content, at}], oldest first, the newest 20; versions_dropped counts older ones), so every edit path keeps both.';
revoke all on function messaging_private.edit_keeps_match(jsonb, jsonb)
  from public, anon, authenticated, service_role;

create or replace function messaging_private.erase_deleted_text(m jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  -- a deleted message without its text and earlier versions (the marker stays)
  select case when (m #> '{metadata,deleted}') = 'true'::jsonb
              then m || pg_catalog.jsonb_build_object('content', null, 'metadata',
                     (m -> 'metadata') - 'versions' - 'versions_dropped')
              else m end;
$$;
comment on function messaging_private.erase_deleted_text(jsonb) is
  'A message marked deleted (metadata.deleted) without its content and metadata.versions; any other message as it is.';
revoke all on function messaging_private.erase_deleted_text(jsonb) from public, anon, authenticated, service_role;

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
