-- The contract published as data (20261202123000_messaging_contract.sql): who may read it,
-- that it agrees with the vocabulary, and that the checks read their rules from it.
begin;
set local search_path = extensions, public;
select plan(14);

select tests.create_supabase_user('contract_owner');

-- ============================== the data itself =============================
select is(
  (select array_agg(p ->> 'platform') from jsonb_array_elements(public.messaging_contract() -> 'platforms') p),
  enum_range(null::public.messaging_platform)::text[],
  'the contract lists every platform of the vocabulary, in its order');
select is_empty($$
  select p ->> 'platform' from jsonb_array_elements(public.messaging_contract() -> 'platforms') p
   where p ->> 'label' is null or jsonb_array_length(p -> 'secrets') = 0
$$, 'every platform has a label and at least one secret');
select is_empty($$
  select s.name from messaging_private.platform_secrets s
   where not exists (select 1 from pg_attribute a
                      where a.attrelid = 'messaging_private.connection_secrets'::regclass
                        and a.attname = s.name and not a.attisdropped)
$$, 'every secret name is a column of connection_secrets');
select is(
  (select array_agg(s ->> 'status' order by (s ->> 'rank')::int)
     from jsonb_array_elements(public.messaging_contract() -> 'delivery_statuses') s),
  array['sent', 'failed', 'delivered', 'read', 'played'],
  'delivery statuses in the order a status may move');

-- ============================== the checks read it ==========================
select is(messaging_private.status_rank('delivered'),
  (select rank from messaging_private.delivery_statuses where status = 'delivered'),
  'status_rank is the rank of delivery_statuses');
select is(messaging_private.status_rank('unknown'), 0, 'a status the contract does not know ranks 0');

-- a lower limit in the contract is what payload_errors then enforces
update messaging_private.payload_fields set max_length = 5 where scope = 'message' and field = 'content';
update messaging_private.contract_limits set value = 3 where name = 'metadata_max_depth';
select is(
  messaging_private.payload_errors(jsonb_build_object('messages', jsonb_build_array(jsonb_build_object(
    'platform', 'whatsapp', 'external_conversation_id', '+34600000001', 'id', 'c1',
    'direction', 'inbound', 'content', 'too long', 'sent_at', '2026-03-01T10:00:00Z')))),
  array['messages[0].content: longer than 5 characters (8)'],
  'payload_errors takes a field''s length from payload_fields');
select is(
  messaging_private.payload_errors(jsonb_build_object('messages', jsonb_build_array(jsonb_build_object(
    'platform', 'whatsapp', 'external_conversation_id', '+34600000001', 'id', 'c1',
    'direction', 'inbound', 'sent_at', '2026-03-01T10:00:00Z',
    'metadata', '{"a": {"b": {"c": {"d": 1}}}}'::jsonb)))),
  array['messages[0].metadata: nested deeper than 3 levels'],
  'payload_errors takes the metadata depth from contract_limits');
update messaging_private.contract_limits set value = 60 where name = 'future_seconds';
select is(
  messaging_private.payload_errors(jsonb_build_object('messages', jsonb_build_array(jsonb_build_object(
    'platform', 'whatsapp', 'external_conversation_id', '+34600000001', 'id', 'c1',
    'direction', 'inbound', 'sent_at', to_char(now() + interval '10 minutes', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))))),
  array[format('messages[0].sent_at: "%s" is out of range (1970-01-01 to 00:01:00 from now)',
               to_char(now() + interval '10 minutes', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))],
  'payload_errors takes the future bound from contract_limits');

-- ============================== authenticated ===============================
select tests.authenticate_as('contract_owner');
select lives_ok($$ select public.messaging_contract() $$, 'a signed-in user reads the contract');
select throws_ok($$ select * from messaging_private.refusal_kinds $$, '42501', null,
  'the contract tables are not readable directly');

-- ============================== service_role ================================
select tests.authenticate_as_service_role();
select ok(public.messaging_contract() ? 'refusals', 'the service role reads the contract');

-- ============================== anon ========================================
select tests.clear_authentication();
set local role anon;
select throws_ok($$ select public.messaging_contract() $$, '42501', null, 'anon may not read it');
reset role;

select ok(
  (select bool_and(r ->> 'sqlstate' ~ '^[0-9A-Z]{5}$') from jsonb_array_elements(public.messaging_contract() -> 'refusals') r),
  'every refusal kind has a SQLSTATE');

select * from finish();
rollback;
