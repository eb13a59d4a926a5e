-- get_conversation_messages: pages newest-first across hot row and archive, under RLS.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(14);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
update messaging_private.settings set value = 5 where key = 'hot_max_messages';
update messaging_private.settings set value = 3 where key = 'hot_keep_messages';
update messaging_private.settings set value = 4 where key = 'archive_chunk_messages';
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'thread', 'id', 'm' || lpad(i::text, 2, '0'),
    'direction', 'inbound', 'content', 'n' || i, 'sent_at', '2026-01-01T10:00:00Z'::timestamptz + i * interval '1 minute'))
    from generate_series(1, 20) i)));
-- 'ties': three messages a minute, ids out of arrival order (upper and lower case, so the
-- "C" order matters), spread over the hot row and seven archive chunks
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'signal',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'ties',
    'id', case when i % 2 = 0 then 'K' else 'k' end || lpad(((i * 7) % 30)::text, 2, '0'),
    'direction', 'inbound', 'content', 't' || i,
    'sent_at', '2026-01-01T10:00:00Z'::timestamptz + (i / 3) * interval '1 minute'))
    from generate_series(0, 29) i)));
-- the reference order, newest first, read from the tables themselves (not through the function)
create temp table ties_ref on commit drop as
select row_number() over (order by (x.m ->> 'sent_at')::timestamptz desc, (x.m ->> 'id') collate "C" desc) as k, x.m
  from (select jsonb_array_elements(c.messages) as m from public.chat_conversations c where c.external_conversation_id = 'ties'
        union all
        select jsonb_array_elements(a.messages) from public.chat_conversation_archives a
          join public.chat_conversations c on c.id = a.conversation_id where c.external_conversation_id = 'ties') x;
grant select on ties_ref to authenticated;
select set_config('test.ties', (select id::text from public.chat_conversations where external_conversation_id = 'ties'), true);

select function_privs_are('public', 'get_conversation_messages', array['uuid', 'timestamp with time zone', 'text', 'integer'],
  'anon', array[]::text[], 'anon cannot execute');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select is(jsonb_path_query_array(get_conversation_messages((select id from public.chat_conversations where external_conversation_id = 'thread'), max_count => 4), '$[*].id'),
  '["m20", "m19", "m18", "m17"]', 'the newest page');
select is(jsonb_path_query_array(get_conversation_messages((select id from public.chat_conversations where external_conversation_id = 'thread'),
  '2026-01-01T10:05:00Z', 'm05', 10), '$[*].id'), '["m04", "m03", "m02", "m01"]', 'a page before a cursor, from the archive');
select is(jsonb_array_length(get_conversation_messages((select id from public.chat_conversations where external_conversation_id = 'thread'), max_count => 1000)), 20,
  'pages to the first message');
select is(jsonb_path_query_array(get_conversation_messages((select id from public.chat_conversations where external_conversation_id = 'thread'),
  '2026-01-01T10:12:00Z', null, 5), '$[*].id'), '["m11", "m10", "m09", "m08", "m07"]', 'a time-only cursor');
select is((select count(*)::int from ties_ref), 30, 'the tied thread holds 30 messages');
select is(get_conversation_messages(current_setting('test.ties')::uuid, max_count => 1000),
  (select jsonb_agg(r.m order by r.k) from ties_ref r), 'a whole tied thread, in (sent_at, id) order newest first');
select is((select count(*)::int from ties_ref r
            where get_conversation_messages(current_setting('test.ties')::uuid, (r.m ->> 'sent_at')::timestamptz, r.m ->> 'id', 4)
                  is distinct from (select coalesce(jsonb_agg(o.m order by o.k), '[]'::jsonb) from ties_ref o
                                     where o.k between r.k + 1 and r.k + 4)), 0,
  'from every (sent_at, id) cursor, hot row or any chunk, the next 4 strictly older messages');
select is((select count(*)::int from (select distinct (r.m ->> 'sent_at')::timestamptz as t from ties_ref r) d
            where get_conversation_messages(current_setting('test.ties')::uuid, d.t, null, 5)
                  is distinct from (select coalesce(jsonb_agg(o.m order by o.k), '[]'::jsonb)
                                      from (select * from ties_ref o where (o.m ->> 'sent_at')::timestamptz < d.t
                                             order by o.k limit 5) o)), 0,
  'from every time-only cursor, the next 5 messages sent strictly before it');
select throws_ok($$ select get_conversation_messages((select id from public.chat_conversations where external_conversation_id = 'thread'), max_count => 0) $$,
  '22023', null, 'max_count is bounded');

-- ============================== other user ===================================
reset role;  -- the owner's thread, looked up before acting as the other user
select set_config('test.conv', (select id::text from public.chat_conversations where external_conversation_id = 'thread'), true);
select tests.authenticate_as('other');
select is(get_conversation_messages(current_setting('test.conv')::uuid), '[]'::jsonb, 'another user reads nothing');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select get_conversation_messages(current_setting('test.conv')::uuid) $$, '42501', null, 'anon is refused');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select is(jsonb_array_length(get_conversation_messages(current_setting('test.conv')::uuid, max_count => 50)), 20,
  'service_role reads every page');
select is(get_conversation_messages('00000000-0000-4000-8000-000000000000'), '[]'::jsonb, 'an unknown conversation is empty');

select * from finish();
rollback;
