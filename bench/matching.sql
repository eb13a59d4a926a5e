-- Export/live matching (issue 19): what it costs, in SQL, inside one transaction that is
-- rolled back (nothing stays). Run against a stack with a user:
--   psql "$DB_URL" -f bench/matching.sql
-- It prints, per scenario, the time and ingest_messages' counts:
--   1. live: 400 one-message calls into a conversation whose hot row holds 90 live messages
--      (matching looks for nothing: no export copy is stored)
--   2. live beside export copies: the same, the hot row holding 90 export copies
--   3. a 5,000-message export over the 5,000 live copies of the same messages, then again
--   4. 3,000 identical "ok" of one minute on each side (pairs by rank past 64 copies)
\set QUIET on
begin;
create function pg_temp.live_calls(marks jsonb) returns text language plpgsql as $$
declare
  u uuid := (select id from auth.users order by created_at limit 1);
  conv text := 'bench-' || gen_random_uuid();
  t0 timestamptz;
begin
  perform public.ingest_messages(jsonb_build_object('user_id', u, 'platform', 'whatsapp', 'messages',
    (select jsonb_agg(jsonb_strip_nulls(jsonb_build_object('external_conversation_id', conv, 'id', 'seed' || g,
       'direction', 'inbound', 'content', 'seed ' || g, 'metadata', marks,
       'sent_at', to_char(now() - interval '1 hour' + g * interval '4 seconds', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))))
     from generate_series(1, 90) g)));
  t0 := clock_timestamp();
  for i in 1..400 loop
    perform public.ingest_messages(jsonb_build_object('user_id', u, 'platform', 'whatsapp', 'messages',
      jsonb_build_array(jsonb_build_object('external_conversation_id', conv, 'id', 'live' || i,
        'direction', 'inbound', 'content', 'hello ' || i,
        'sent_at', to_char(now() - interval '1 hour' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))));
  end loop;
  return round(extract(epoch from clock_timestamp() - t0) * 1000 / 400, 3) || ' ms a call';
end $$;
create function pg_temp.export_over_live(n integer, words text, step interval) returns text language plpgsql as $$
declare
  u uuid := (select id from auth.users order by created_at limit 1);
  conv text := 'bench-' || gen_random_uuid();
  base timestamptz := date_trunc('minute', now() - interval '20 hours');
  t0 timestamptz;
  r1 jsonb;
  r2 jsonb;
  ms1 numeric;
  export jsonb;
begin
  perform public.ingest_messages(jsonb_build_object('user_id', u, 'platform', 'whatsapp', 'messages',
    (select jsonb_agg(jsonb_build_object('external_conversation_id', conv, 'id', 'w' || g, 'direction', 'inbound',
       'content', replace(words, '#', (g % 50)::text),
       'sent_at', to_char(base + g * step, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
     from generate_series(1, n) g)));
  export := jsonb_build_object('user_id', u, 'platform', 'whatsapp', 'messages',
    (select jsonb_agg(jsonb_build_object('external_conversation_id', conv, 'id', 'h' || g, 'direction', 'inbound',
       'content', replace(words, '#', (g % 50)::text),
       'sent_at', to_char(date_trunc('minute', base + g * step) + g * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       'metadata', jsonb_build_object('id_source', 'export', 'time_precision', 'minute')))
     from generate_series(1, n) g));
  t0 := clock_timestamp();
  r1 := public.ingest_messages(export) - 'conversations';
  ms1 := round(extract(epoch from clock_timestamp() - t0) * 1000);
  t0 := clock_timestamp();
  r2 := public.ingest_messages(export) - 'conversations';
  return format('import %s ms %s; re-import %s ms %s', ms1, r1,
                round(extract(epoch from clock_timestamp() - t0) * 1000), r2);
end $$;
select '1. live, no export copies' as scenario, pg_temp.live_calls(null) as result
union all
select '2. live beside export copies', pg_temp.live_calls('{"id_source": "export", "time_precision": "minute"}')
union all
select '3. 5,000 export over 5,000 live', pg_temp.export_over_live(5000, 'message number #', interval '7 seconds')
union all
select '4. 3,000 ok on each side, one minute', pg_temp.export_over_live(3000, 'ok', interval '10 milliseconds');
rollback;
