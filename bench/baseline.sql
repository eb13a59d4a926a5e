-- The row-per-message baseline: what the seed's plan replaced. Throwaway: made by
-- `make bench` next to the real schema and dropped afterwards.
drop schema if exists bench_baseline cascade;
create schema bench_baseline;

create table bench_baseline.conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  platform text not null,
  external_conversation_id text not null,
  message_count integer not null default 0,
  first_message_at timestamptz,
  last_message_at timestamptz,
  last_message_preview text,
  unique (user_id, platform, external_conversation_id)
);
create index on bench_baseline.conversations (user_id, last_message_at desc);

create table bench_baseline.messages (
  conversation_id uuid not null references bench_baseline.conversations (id) on delete cascade,
  id text not null,
  direction text not null,
  type text not null,
  content text,
  media_url text,
  sent_at timestamptz not null,
  primary key (conversation_id, id)
);
create index on bench_baseline.messages (conversation_id, sent_at);

-- One statement per batch: upsert the headers, insert the new messages, refresh the headers.
create function bench_baseline.ingest(owner uuid, batch jsonb) returns integer
language sql set search_path = '' as $$
  with src as (
    select * from pg_catalog.jsonb_to_recordset(batch) as x(
      platform text, external_conversation_id text, id text, direction text, type text,
      content text, media_url text, sent_at timestamptz)
  ),
  convs as (
    insert into bench_baseline.conversations (user_id, platform, external_conversation_id)
    select distinct owner, s.platform, s.external_conversation_id from src s
    on conflict (user_id, platform, external_conversation_id) do update set user_id = excluded.user_id
    returning id, platform, external_conversation_id
  ),
  ins as (
    insert into bench_baseline.messages (conversation_id, id, direction, type, content, media_url, sent_at)
    select c.id, s.id, s.direction, coalesce(s.type, 'text'), s.content, s.media_url, s.sent_at
    from src s join convs c using (platform, external_conversation_id)
    on conflict do nothing
    returning conversation_id, sent_at, content, type
  ),
  agg as (
    select i.conversation_id, pg_catalog.count(*) as n, min(i.sent_at) as first_at, max(i.sent_at) as last_at,
           (pg_catalog.array_agg(coalesce(pg_catalog.left(i.content, 100), '[' || i.type || ']') order by i.sent_at desc))[1] as preview
    from ins i group by i.conversation_id
  ),
  upd as (
    update bench_baseline.conversations h
       set message_count = h.message_count + a.n,
           first_message_at = least(h.first_message_at, a.first_at),
           last_message_at = greatest(h.last_message_at, a.last_at),
           last_message_preview = case when h.last_message_at is null or a.last_at >= h.last_message_at
                                       then a.preview else h.last_message_preview end
      from agg a where h.id = a.conversation_id
    returning 1
  )
  select coalesce(sum(a.n), 0)::integer from agg a
$$;
