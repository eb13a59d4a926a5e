-- Written by `make migration` from supabase/schemas; finish the todo lines.

create or replace function messaging_private.match_pairs(incoming jsonb, stored jsonb, direct boolean)
returns jsonb
language plpgsql
stable  -- (text to timestamptz)
set search_path = ''
as $$
-- (the rule: in the comment above)
declare
  v_pair record;
  v_taken_i boolean[] := '{}'::boolean[];  -- by position (an expanded array: O(1) a look-up)
  v_taken_s boolean[] := '{}'::boolean[];
  v_out jsonb[] := '{}'::jsonb[];
begin
  -- re-imports: an incoming export copy whose id a stored platform copy records as met
  for v_pair in select a.i, a.s from messaging_private.match_again(incoming, stored) a loop
    v_taken_i[v_pair.i] := true;
    v_taken_s[v_pair.s] := true;
    v_out := v_out || pg_catalog.jsonb_build_object('i', v_pair.i, 's', v_pair.s);
  end loop;
  for v_pair in
    -- joined on (text, minute): an export copy's precision is a minute or a second, so
    -- the two copies always share their UTC minute; the rest is checked per pair. Where
    -- one minute repeats one text very often (over 64 copies on a side: every pair would
    -- be tried), the k-th copy is tried only against the k-th of the other side: a pair
    -- missed that way leaves both copies stored, never one dropped.
    with n0 as (
      select (x.ord - 1)::integer as i, x.m, coalesce(x.m #>> '{metadata,id_source}' = 'export', false) as export,
             pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(x.m ->> 'content', '')), '\s+', ' ', 'g') as words,
             pg_catalog.date_trunc('minute', (x.m ->> 'sent_at')::timestamptz, 'UTC') as minute
        from pg_catalog.jsonb_array_elements(incoming) with ordinality x(m, ord)
    ),
    n as (
      select n0.*, pg_catalog.count(*) over w as copies, pg_catalog.row_number() over (w order by n0.i) as k
        from n0 window w as (partition by n0.words, n0.minute, n0.export)
    ),
    s0 as (
      select (x.ord - 1)::integer as s, x.v -> 'm' as m,
             coalesce(x.v #>> '{m,metadata,id_source}' = 'export', false) as export,
             pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(x.v #>> '{m,content}', '')), '\s+', ' ', 'g') as words,
             pg_catalog.date_trunc('minute', (x.v #>> '{m,sent_at}')::timestamptz, 'UTC') as minute
        from pg_catalog.jsonb_array_elements(stored) with ordinality x(v, ord)
       -- a platform copy that met an export copy before is not met again by another one
       where x.v #> '{m,metadata,matched}' is null or x.v #>> '{m,metadata,id_source}' = 'export'
    ),
    s as (
      select s0.*, pg_catalog.count(*) over w as copies, pg_catalog.row_number() over (w order by s0.s) as k
        from s0 window w as (partition by s0.words, s0.minute, s0.export)
    ),
    joined as (
      select n.i, s.s, n.export, n.m as nm, s.m as sm
        from n join s on n.words = s.words and n.minute = s.minute and n.export <> s.export
       where n.copies <= 64 and s.copies <= 64
      union all
      select n.i, s.s, n.export, n.m, s.m
        from n join s on n.words = s.words and n.minute = s.minute and n.k = s.k and n.export <> s.export
       where n.copies > 64 or s.copies > 64
      union all  -- the same media file (its hash) in the same minute, whatever the captions say
      select n.i, s.s, n.export, n.m, s.m from n join s on n.minute = s.minute and n.export <> s.export
         and n.words <> s.words and messaging_private.media_sha256(n.m) = messaging_private.media_sha256(s.m)
    ),
    pairs as (
      select j.i, j.s, j.nm, j.sm,
             case when j.export then j.nm else j.sm end as e,   -- the export copy
             case when j.export then j.sm else j.nm end as l    -- the platform copy
        from joined j
    )
    select p.i, p.s
      from pairs p
     where (p.e ->> 'type' = p.l ->> 'type'
            or (p.e ->> 'type' = 'other' and p.e #>> '{metadata,media_omitted}' = 'true'
                and p.l ->> 'type' in ('image', 'video', 'audio', 'voice', 'document', 'sticker')))
       and coalesce(messaging_private.media_sha256(p.e) = messaging_private.media_sha256(p.l), true)
       and pg_catalog.date_trunc(
             case when p.e #>> '{metadata,time_precision}' = 'minute' then 'minute' else 'second' end,
             (p.e ->> 'sent_at')::timestamptz, 'UTC')
         = pg_catalog.date_trunc(
             case when p.e #>> '{metadata,time_precision}' = 'minute' then 'minute' else 'second' end,
             (p.l ->> 'sent_at')::timestamptz, 'UTC')
       and ((p.nm ->> 'direction' = p.sm ->> 'direction'
             and (p.nm ->> 'direction' = 'outbound' or direct
                  or pg_catalog.regexp_replace(p.nm ->> 'sender_identifier', '^user(\d+)$', '\1')
                     = pg_catalog.regexp_replace(p.sm ->> 'sender_identifier', '^user(\d+)$', '\1')
                  or pg_catalog.lower(pg_catalog.btrim(p.nm ->> 'sender_name'))
                     = pg_catalog.lower(pg_catalog.btrim(p.sm ->> 'sender_name'))))
            -- a bot in a group cannot tell the account's own messages from the others': there
            -- the same sender id is the same sender whatever the direction says
            or (not direct
                and pg_catalog.regexp_replace(p.nm ->> 'sender_identifier', '^user(\d+)$', '\1')
                    = pg_catalog.regexp_replace(p.sm ->> 'sender_identifier', '^user(\d+)$', '\1')))
     order by p.i, p.s
  loop
    if v_taken_i[v_pair.i] is null and v_taken_s[v_pair.s] is null then
      v_taken_i[v_pair.i] := true;
      v_taken_s[v_pair.s] := true;
      v_out := v_out || pg_catalog.jsonb_build_object('i', v_pair.i, 's', v_pair.s);
    end if;
  end loop;
  return pg_catalog.to_jsonb(v_out);
end;
$$;
comment on function messaging_private.match_pairs(jsonb, jsonb, boolean) is
  'Export/live matching: one-to-one, in-order pairs [{i, s}] of incoming messages and stored {chunk, m} copies of the other kind that are the same message.';

create or replace function messaging_private.media_sha256(m jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  -- metadata.sha256 of a message's media as 64 lowercase hex digits: WhatsApp's webhooks send
  -- base64 (standard or URL-safe), an export's importer hex; anything else is no hash
  select case
           when x.v ~ '^[0-9A-Fa-f]{64}$' then pg_catalog.lower(x.v)
           when x.v ~ '^[A-Za-z0-9+/_-]{43}=?$' then pg_catalog.encode(pg_catalog.decode(
             pg_catalog.rpad(pg_catalog.translate(x.v, '-_', '+/'), 44, '='), 'base64'), 'hex')
         end
    from (select m #>> '{metadata,sha256}' as v) x;
$$;
comment on function messaging_private.media_sha256(jsonb) is
  'Export/live matching: the SHA-256 of a message''s media file (metadata.sha256, hex or base64) as lowercase hex; null when the message carries none.';
revoke all on function messaging_private.media_sha256(jsonb)
  from public, anon, authenticated, service_role;
