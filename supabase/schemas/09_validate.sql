-- =============================================================================
-- ingest_messages(payload jsonb): the one write path for messages
--
-- Validates the whole batch first (all-or-nothing, SQLSTATE 22023 naming every
-- bad field by path), derives the owner from the caller, groups by conversation,
-- locks the conversations in a fixed order, drops ids the conversation already
-- holds (hot row, or an archive chunk found through its id_hashes GIN index),
-- replaces messages re-sent with a newer edited_at, merges the rest in
-- (sent_at, id) order, spills the oldest into archive chunks past the cap, and
-- refreshes the conversation's counters and person link.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- Validation of a whole payload
-- -----------------------------------------------------------------------------

create or replace function messaging_private.payload_shape_errors(payload jsonb)
returns table (i integer, n integer, err text)
language plpgsql
stable
set search_path = ''
as $$
-- Messages that are not objects, and keys no rule of messaging_private.payload_fields names
-- (at the top level the message lists the fields expected). A message's known keys are
-- taken out in one operation (jsonb - text[]), so only unknown ones are listed.
declare
  v_known text[] := (select pg_catalog.array_agg(f.field) from messaging_private.payload_fields f
                      where f.scope = 'message');
begin
  return query
    select (e.ord - 1)::integer, 0,
           pg_catalog.format('messages[%s]: must be an object, got %s', e.ord - 1, pg_catalog.jsonb_typeof(e.m))
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
     where pg_catalog.jsonb_typeof(e.m) <> 'object'
    union all
    select -1, 1,
           pg_catalog.format('%s: unknown field (expected %s)', k,
             (select pg_catalog.string_agg(f.field, ', ' order by f.position)
                from messaging_private.payload_fields f where f.scope = 'payload'))
      from pg_catalog.jsonb_object_keys(payload) k
     where not exists (select 1 from messaging_private.payload_fields f
                        where f.scope = 'payload' and f.field = k)
    union all
    select (e.ord - 1)::integer, 1, pg_catalog.format('messages[%s].%s: unknown field', e.ord - 1, k)
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
     cross join lateral pg_catalog.jsonb_object_keys(e.m operator(pg_catalog.-) v_known) k
     where pg_catalog.jsonb_typeof(e.m) = 'object';
end;
$$;
comment on function messaging_private.payload_shape_errors(jsonb) is
  'payload_errors, first part: messages that are not objects and unknown keys, as (message position, rule position, error).';
revoke all on function messaging_private.payload_shape_errors(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.payload_field_errors(
  payload jsonb, earliest timestamptz, future interval
)
returns table (i integer, n integer, err text)
language plpgsql
stable
set search_path = ''
as $$
-- One set-based pass over a table of rules: every field of the top level and of every
-- message is checked by the same CASE, with no function call per message (a function
-- with its own search_path cannot be inlined and would cost a call per field). The rules
-- are the rows of messaging_private.payload_fields (published by messaging_contract()).
-- earliest / future: the contract's time bounds, read once by the caller.
#variable_conflict use_column
begin
  return query
    with rules (scope, n, field, kind, max_length, required, allowed) as (
      select f.scope, f.position, f.field, f.kind, f.max_length, f.required, v.labels
        from messaging_private.payload_fields f
        left join (select e.enumtypid, pg_catalog.array_agg(e.enumlabel::text order by e.enumsortorder) as labels
                     from pg_catalog.pg_enum e group by e.enumtypid) v on v.enumtypid = f.vocabulary
    ),
    items as (
      select 'payload' as scope, -1 as i, '' as path, payload as obj
      union all
      select 'message', (e.ord - 1)::integer, pg_catalog.format('messages[%s].', e.ord - 1), e.m
      from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
    ),
    top_platform as (
      select coalesce(payload -> 'platform', 'null'::jsonb) <> 'null'::jsonb as given
    )
    select it.i, r.n, it.path || r.field || ': ' || (
        case
          when f.v is null or f.v = 'null'::jsonb then
            case
              when r.field = 'platform' and r.scope = 'message' and tp.given then null
              when r.field = 'platform' and r.scope = 'message' then 'required (here or at the top level)'
              when r.required then 'required'
            end
          -- (the payload's messages array is checked before the fields are)
          when r.kind = 'array' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'array' then 'must be an array, got ' || pg_catalog.jsonb_typeof(f.v) end
          when r.kind = 'enum' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'string' or not (f.s = any (r.allowed)) then
              pg_catalog.format('must be one of %s, got %s',
                pg_catalog.array_to_string(r.allowed, ', '), pg_catalog.left(f.v::text, 60))
            end
          when r.kind = 'object' then
            case
              when pg_catalog.jsonb_typeof(f.v) <> 'object' then 'must be an object, got ' || pg_catalog.jsonb_typeof(f.v)
              when pg_catalog.length(f.v::text) > r.max_length then
                pg_catalog.format('longer than %s characters as JSON', r.max_length)
            end
          when r.kind = 'uuid' then
            case when pg_catalog.jsonb_typeof(f.v) <> 'string'
                   or f.s !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
              pg_catalog.format('must be a UUID, got %s', pg_catalog.left(f.v::text, 60))
            end
          when pg_catalog.jsonb_typeof(f.v) <> 'string' then
            pg_catalog.format('must be a%s string, got %s',
              case when r.kind = 'timestamp' then 'n ISO 8601' else '' end, pg_catalog.jsonb_typeof(f.v))
          when r.kind = 'text' then
            case
              when pg_catalog.length(f.s) > r.max_length then
                pg_catalog.format('longer than %s characters (%s)', r.max_length, pg_catalog.length(f.s))
              when r.required and pg_catalog.btrim(f.s) = '' then 'must not be empty'
            end
          -- timestamps: ISO 8601 with an offset, a real date and time, from the earliest
          -- time to future_seconds past now (contract_limits). The
          -- format is fixed-width up to the minutes, so the parts are read by position
          -- (a boolean regex match is cheap, one with captures is not: bench/HISTORY.md).
          when f.s !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$' then
            pg_catalog.format('%s is not an ISO 8601 timestamp with an offset, like 2026-02-01T10:30:00Z',
              pg_catalog.left(f.v::text, 60))
          when not (
            case
              when pg_catalog.substr(f.s, 1, 4)::integer < 1
                or pg_catalog.substr(f.s, 6, 2)::integer not between 1 and 12 then false
              else pg_catalog.substr(f.s, 9, 2)::integer between 1 and pg_catalog.date_part('day',
                     pg_catalog.make_date(pg_catalog.substr(f.s, 1, 4)::integer, pg_catalog.substr(f.s, 6, 2)::integer, 1)
                     + interval '1 month' - interval '1 day')::integer
                and pg_catalog.substr(f.s, 12, 2)::integer <= 23
                and pg_catalog.substr(f.s, 15, 2)::integer <= 59
                and (pg_catalog.substr(f.s, 17, 1) <> ':' or pg_catalog.substr(f.s, 18, 2)::integer <= 59)
                and f.s ~ '([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)$'
            end) then
            pg_catalog.format('%s is not a real date and time', f.v::text)
          when f.s::timestamptz < earliest or f.s::timestamptz > pg_catalog.now() + future then
            pg_catalog.format('%s is out of range (%s to %s from now)', f.v::text,
              pg_catalog.to_char(earliest at time zone 'UTC', 'YYYY-MM-DD'), future)
        end)
      from items it
      cross join top_platform tp
      join rules r on r.scope = it.scope
      cross join lateral (select it.obj -> r.field as v, it.obj ->> r.field as s) f
      where pg_catalog.jsonb_typeof(it.obj) = 'object';
end;
$$;
comment on function messaging_private.payload_field_errors(jsonb, timestamptz, interval) is
  'payload_errors, second part: every field of the payload and of each message against its rule (type, vocabulary, length, UUID, ISO 8601 time within the bounds), as (message position, rule position, error or null).';
revoke all on function messaging_private.payload_field_errors(jsonb, timestamptz, interval) from public, anon, authenticated, service_role;

create or replace function messaging_private.payload_errors(payload jsonb)
returns text[]
language plpgsql
stable
set search_path = ''
as $$
-- Every problem of a payload, in message and field order: its shape and each field
-- (payload_shape_errors, payload_field_errors); then, once every field is valid on its own,
-- the rules across fields.
declare
  v_errors text[];
  v_earliest timestamptz;
  v_future interval;
  v_depth bigint;
begin
  -- the contract's limits, in one read
  select pg_catalog.to_timestamp(pg_catalog.max(l.value) filter (where l.name = 'earliest_epoch_seconds')),
         pg_catalog.justify_interval(pg_catalog.make_interval(
           secs => pg_catalog.max(l.value) filter (where l.name = 'future_seconds'))),
         pg_catalog.max(l.value) filter (where l.name = 'metadata_max_depth')
    into v_earliest, v_future, v_depth
    from messaging_private.contract_limits l;
  select coalesce(pg_catalog.array_agg(x.err order by x.i, x.n), '{}') into v_errors
    from (select * from messaging_private.payload_shape_errors(payload)
          union all
          select * from messaging_private.payload_field_errors(payload, v_earliest, v_future)) x
   where x.err is not null;
  if pg_catalog.cardinality(v_errors) > 0 then
    return v_errors;
  end if;
  -- Rules across fields, once every field is valid on its own (the timestamps parse):
  -- an edit is not older than its message, and metadata nests at most metadata_max_depth
  -- levels (the bracket count is a cheap bound that spares walking flat metadata).
  return (
    select coalesce(pg_catalog.array_agg(x.err order by x.i, x.n), '{}')
    from (
      select e.ord - 1 as i, 10 as n,
             pg_catalog.format('messages[%s].edited_at: %s is earlier than sent_at %s',
               e.ord - 1, e.m -> 'edited_at', e.m -> 'sent_at') as err
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
       where pg_catalog.jsonb_typeof(e.m -> 'edited_at') = 'string'
         and (e.m ->> 'edited_at')::timestamptz < (e.m ->> 'sent_at')::timestamptz
      union all
      select e.ord - 1, 18,
             pg_catalog.format('messages[%s].metadata: nested deeper than %s levels', e.ord - 1, v_depth)
        from pg_catalog.jsonb_array_elements(payload -> 'messages') with ordinality e(m, ord)
       where pg_catalog.jsonb_typeof(e.m -> 'metadata') = 'object'
         and pg_catalog.length(pg_catalog.regexp_replace((e.m -> 'metadata')::text, '[^\[{]', '', 'g')) > v_depth
         and pg_catalog.jsonb_path_exists(e.m -> 'metadata', pg_catalog.format(
               'strict $.**{%s to last} ? (@.type() == "object" || @.type() == "array")', v_depth)::jsonpath)
      union all
      select p.i, p.n, p.err from messaging_private.participant_ids_errors(payload) p where p.err is not null
    ) x
  );
end;
$$;
comment on function messaging_private.payload_errors(jsonb) is
  'Every problem of an ingest payload, each naming its field by path (messages[4].sent_at: ...); empty when valid.';
