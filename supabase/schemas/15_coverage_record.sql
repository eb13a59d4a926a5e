-- =============================================================================
-- Coverage, recorded at ingest: where each conversation's history comes from
--
-- One row per conversation and source (kind, name, phase): the span of message times it
-- brought and what it did with them. ingest_messages writes one upsert per conversation
-- per call (record_coverage), no row per message; conversation_coverage (33_coverage.sql)
-- reads them with the gaps no source covers. docs/contract.md "Coverage".
-- =============================================================================

create table public.chat_conversation_sources (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  kind text not null
    check (kind = any (pg_catalog.enum_range(null::public.message_source)::text[]) or kind = 'unknown'),
  name text not null default '' check (pg_catalog.length(name) <= 256),
  phase text not null default '' check (pg_catalog.length(phase) <= 64),
  connection_id uuid references public.messaging_connections (id) on delete set null,
  first_message_at timestamptz not null,
  last_message_at timestamptz not null,
  inserted bigint not null default 0 check (inserted >= 0),
  duplicates bigint not null default 0 check (duplicates >= 0),
  updated bigint not null default 0 check (updated >= 0),
  matched bigint not null default 0 check (matched >= 0),
  batches bigint not null default 1 check (batches >= 0),
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  constraint chat_conversation_sources_span_check check (first_message_at <= last_message_at),
  constraint chat_conversation_sources_source_unique unique (conversation_id, kind, name, phase)
);
comment on table public.chat_conversation_sources is
  'Coverage: per conversation and source (kind, name, phase) the message times it brought and its counts, kept by ingest_messages (one upsert per conversation per call). Read with conversation_coverage().';
comment on column public.chat_conversation_sources.kind is
  'A message_source (export, msgstore, webhook, history, app), or unknown: messages stored before coverage was recorded.';
comment on column public.chat_conversation_sources.name is 'The export''s file name (payload source_name); empty when none was given.';
comment on column public.chat_conversation_sources.phase is 'The history backfill''s phase (payload source_phase); empty when none was given.';
comment on column public.chat_conversation_sources.connection_id is 'The connection the last call of this source named (a webhook''s).';
comment on column public.chat_conversation_sources.first_message_at is
  'The oldest message time this source brought (edits of older messages aside when it brought new ones).';
comment on column public.chat_conversation_sources.last_message_at is 'The newest message time this source brought.';
comment on column public.chat_conversation_sources.inserted is 'Messages this source stored new.';
comment on column public.chat_conversation_sources.duplicates is 'Messages this source sent that were already stored (skipped).';
comment on column public.chat_conversation_sources.updated is 'Stored messages this source changed: a newer edit, or a stored copy that learned the copy it was matched with.';
comment on column public.chat_conversation_sources.matched is
  'Copies this source sent that were matched with another source''s copy of the same message (export/live matching, metadata.matched); a call storing nothing new counts them at most up to what is recorded (a re-import does not count them twice).';
comment on column public.chat_conversation_sources.batches is 'The ingest calls of this source that stored into the conversation.';
comment on column public.chat_conversation_sources.first_seen_at is 'When this source first stored into the conversation.';
comment on column public.chat_conversation_sources.last_seen_at is 'When this source last stored into the conversation.';

create index chat_conversation_sources_user_id_idx on public.chat_conversation_sources (user_id);
create index chat_conversation_sources_connection_id_idx on public.chat_conversation_sources (connection_id);

alter table public.chat_conversation_sources enable row level security;
revoke all on public.chat_conversation_sources from anon, authenticated, service_role;
grant select on public.chat_conversation_sources to authenticated, service_role;

create policy "Users can view the sources of their own conversations" on public.chat_conversation_sources
  for select to authenticated using (user_id = (select auth.uid()));

create or replace function messaging_private.record_coverage(
  owner uuid, connection uuid, payload jsonb, results jsonb[]
)
returns void
language plpgsql
set search_path = ''
as $$
-- Called once by ingest_messages when a call is stored: for each conversation of its answer
-- (results), one upsert of the call's source (payload source, source_name, source_phase;
-- app when left out) with the span of the conversation's message times in the payload and
-- the answer's counts. The conversations are locked already (by the ingest), so the rows
-- are written in their order without waiting on one another. An edit of an older message
-- (with edited_at) does not stretch the span back when the call brought other messages.
-- One conversation whose source has its row (a live call): one update in place.
declare
  v_one jsonb := results[1];
  v_first timestamptz;
  v_last timestamptz;
  v_m jsonb;
begin
  if pg_catalog.cardinality(results) = 0 then
    return;
  end if;
  if pg_catalog.cardinality(results) = 1 and v_one ->> 'id' is not null then
    if pg_catalog.jsonb_array_length(payload -> 'messages') = 1 then
      v_m := payload -> 'messages' -> 0;  -- one message (live): its time is the span
      if coalesce(v_m ->> 'platform', payload ->> 'platform') = v_one ->> 'platform'
         and v_m ->> 'external_conversation_id' = v_one ->> 'external_conversation_id' then
        v_first := (v_m ->> 'sent_at')::timestamptz;
        v_last := v_first;
      end if;
    else
      select coalesce(pg_catalog.min((e.m ->> 'sent_at')::timestamptz) filter (where e.m -> 'edited_at' is null),
                      pg_catalog.min((e.m ->> 'sent_at')::timestamptz)),
             pg_catalog.max((e.m ->> 'sent_at')::timestamptz)
        into v_first, v_last
        from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
       where coalesce(e.m ->> 'platform', payload ->> 'platform') = v_one ->> 'platform'
         and e.m ->> 'external_conversation_id' = v_one ->> 'external_conversation_id';
    end if;
    if v_last is null then
      return;  -- none of the payload's messages name it (as the upsert's join below)
    end if;
    update public.chat_conversation_sources s
       set first_message_at = least(s.first_message_at, v_first),
           last_message_at = greatest(s.last_message_at, v_last),
           inserted = s.inserted + coalesce((v_one ->> 'inserted')::bigint, 0),
           duplicates = s.duplicates + coalesce((v_one ->> 'duplicates')::bigint, 0),
           updated = s.updated + coalesce((v_one ->> 'updated')::bigint, 0),
           matched = case when coalesce((v_one ->> 'inserted')::bigint, 0) = 0
                          then greatest(s.matched, coalesce((v_one ->> 'matched')::bigint, 0))
                          else s.matched + coalesce((v_one ->> 'matched')::bigint, 0) end,
           batches = s.batches + 1,
           connection_id = coalesce(connection, s.connection_id),
           last_seen_at = pg_catalog.now()
     where s.conversation_id = (v_one ->> 'id')::uuid
       and s.kind = coalesce(payload ->> 'source', 'app')
       and s.name = coalesce(payload ->> 'source_name', '')
       and s.phase = coalesce(payload ->> 'source_phase', '');
    if found then
      return;
    end if;
  end if;
  insert into public.chat_conversation_sources as s (
    user_id, conversation_id, kind, name, phase, connection_id, first_message_at, last_message_at,
    inserted, duplicates, updated, matched)
  select owner, (r.x ->> 'id')::uuid,
         coalesce(payload ->> 'source', 'app'), coalesce(payload ->> 'source_name', ''),
         coalesce(payload ->> 'source_phase', ''), connection,
         sp.first_at, sp.last_at,
         coalesce((r.x ->> 'inserted')::bigint, 0), coalesce((r.x ->> 'duplicates')::bigint, 0),
         coalesce((r.x ->> 'updated')::bigint, 0), coalesce((r.x ->> 'matched')::bigint, 0)
    from pg_catalog.unnest(results) r(x)
    join (select coalesce(e.m ->> 'platform', payload ->> 'platform') as platform,
                 e.m ->> 'external_conversation_id' as ext_id,
                 coalesce(pg_catalog.min((e.m ->> 'sent_at')::timestamptz) filter (where e.m -> 'edited_at' is null),
                          pg_catalog.min((e.m ->> 'sent_at')::timestamptz)) as first_at,
                 pg_catalog.max((e.m ->> 'sent_at')::timestamptz) as last_at
            from pg_catalog.jsonb_array_elements(payload -> 'messages') e(m)
           group by 1, 2) sp
      on sp.platform = r.x ->> 'platform' and sp.ext_id = r.x ->> 'external_conversation_id'
   where r.x ->> 'id' is not null
   order by 2
  on conflict on constraint chat_conversation_sources_source_unique do update
    set first_message_at = least(s.first_message_at, excluded.first_message_at),
        last_message_at = greatest(s.last_message_at, excluded.last_message_at),
        inserted = s.inserted + excluded.inserted,
        duplicates = s.duplicates + excluded.duplicates,
        updated = s.updated + excluded.updated,
        -- a call that stores nothing new and reports matched copies again (a re-import of
        -- an export whose copies met live ones) counts them once, not once more
        matched = case when excluded.inserted = 0 then greatest(s.matched, excluded.matched)
                       else s.matched + excluded.matched end,
        batches = s.batches + 1,
        connection_id = coalesce(excluded.connection_id, s.connection_id),
        last_seen_at = pg_catalog.now();
end;
$$;
comment on function messaging_private.record_coverage(uuid, uuid, jsonb, jsonb[]) is
  'Ingest, last step: one upsert per conversation of the call into chat_conversation_sources (the payload''s source, its span of message times, the answer''s counts); a call into one conversation whose source is recorded updates its row in place.';
revoke all on function messaging_private.record_coverage(uuid, uuid, jsonb, jsonb[]) from public, anon, authenticated, service_role;
