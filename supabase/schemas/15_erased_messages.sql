-- =============================================================================
-- What an erasure keeps
--
-- erase_person (32_person_export.sql) removes a person's conversations and leaves
-- a content-free record per erased conversation, and a hash per erased message,
-- so that a later import of the same messages (an export sent again, a webhook
-- retried) does not bring them back; new messages (new ids) still arrive.
-- ingest_messages asks ingest_drop_erased once per batch (here, before the ingest
-- steps that call it).
-- =============================================================================

-- -----------------------------------------------------------------------------
-- The record an erasure keeps
-- -----------------------------------------------------------------------------

create table messaging_private.erased_conversations (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  platform text not null,
  conversation_key bytea not null,
  participant_key bytea,
  message_count integer not null check (message_count >= 0),
  erased_at timestamptz not null default pg_catalog.now()
);
comment on table messaging_private.erased_conversations is
  'One content-free row per conversation erase_person removed: the platform, SHA-256 hashes (with the owner''s id) of the conversation key and of the participant identifier, the number of messages and when. No text, no identifier in clear. Not exposed, no grants to API roles.';
comment on column messaging_private.erased_conversations.conversation_key is
  'messaging_private.erased_key(owner, platform, external_conversation_id, null).';
comment on column messaging_private.erased_conversations.participant_key is
  'SHA-256 of owner id and the normalised participant identifier (null when the conversation had none).';
create index erased_conversations_user_id_idx on messaging_private.erased_conversations (user_id);
alter table messaging_private.erased_conversations enable row level security;
revoke all on messaging_private.erased_conversations from public, anon, authenticated, service_role;

create table messaging_private.erased_messages (
  user_id uuid not null references auth.users (id) on delete cascade,
  message_key bytea not null,
  erasure_id bigint not null references messaging_private.erased_conversations (id) on delete cascade,
  primary key (user_id, message_key)
);
comment on table messaging_private.erased_messages is
  'The hash of each erased message (owner, platform, conversation, message id): ingest_messages drops an incoming message whose hash is here, so a re-import of an erased export stores nothing. Not exposed.';
comment on column messaging_private.erased_messages.message_key is
  'messaging_private.erased_key(owner, platform, external_conversation_id, message id).';
create index erased_messages_erasure_id_idx on messaging_private.erased_messages (erasure_id);
alter table messaging_private.erased_messages enable row level security;
revoke all on messaging_private.erased_messages from public, anon, authenticated, service_role;

create or replace function messaging_private.erased_key(owner uuid, platform text, conversation text, message_id text)
returns bytea
language sql
immutable
parallel safe
set search_path = ''
as $$
  select pg_catalog.sha256(pg_catalog.convert_to(
    pg_catalog.concat_ws(E'\x1f', owner::text, platform, conversation, message_id), 'UTF8'));
$$;
comment on function messaging_private.erased_key(uuid, text, text, text) is
  'SHA-256 of owner, platform, external conversation id and message id (the conversation''s own key when message_id is null): what an erasure keeps instead of the ids.';
revoke all on function messaging_private.erased_key(uuid, text, text, text) from public, anon, authenticated, service_role;

create or replace function messaging_private.ingest_drop_erased(owner uuid, groups jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- Ingest: the groups without the messages an erasure removed. One index probe when the
-- owner never erased anyone; else one indexed lookup of all the batch's hashes. A dropped
-- message counts as a duplicate of its group (a group left empty is dropped whole).
declare
  v_erased bytea[];
begin
  if not exists (select 1 from messaging_private.erased_messages e where e.user_id = owner) then
    return groups;
  end if;
  select pg_catalog.array_agg(e.message_key) into v_erased
    from messaging_private.erased_messages e
   where e.user_id = owner
     and e.message_key = any (array(
       select messaging_private.erased_key(owner, g.x ->> 'platform', g.x ->> 'external_conversation_id', m.x ->> 'id')
         from pg_catalog.jsonb_array_elements(groups) g(x), pg_catalog.jsonb_array_elements(g.x -> 'messages') m(x)));
  if v_erased is null then
    return groups;
  end if;
  return (
    select coalesce(pg_catalog.jsonb_agg(k.g || pg_catalog.jsonb_build_object('messages', k.msgs,
             'batch_duplicates', (k.g ->> 'batch_duplicates')::integer + k.dropped) order by k.ord), '[]'::jsonb)
      from (
        select g.x as g, g.ord, f.msgs, f.dropped
          from pg_catalog.jsonb_array_elements(groups) with ordinality g(x, ord)
          cross join lateral (
            select pg_catalog.jsonb_agg(m.x order by m.ord) filter (where not m.gone) as msgs,
                   pg_catalog.count(*) filter (where m.gone) as dropped
              from (select e.x, e.ord,
                           messaging_private.erased_key(owner, g.x ->> 'platform', g.x ->> 'external_conversation_id',
                             e.x ->> 'id') = any (v_erased) as gone
                      from pg_catalog.jsonb_array_elements(g.x -> 'messages') with ordinality e(x, ord)) m
          ) f
      ) k
     where k.msgs is not null
  );
end;
$$;
comment on function messaging_private.ingest_drop_erased(uuid, jsonb) is
  'Ingest: drops from the grouped batch the messages erase_person erased (by their hash in erased_messages), counting them as duplicates; the groups unchanged when the owner erased nobody.';
revoke all on function messaging_private.ingest_drop_erased(uuid, jsonb) from public, anon, authenticated, service_role;

