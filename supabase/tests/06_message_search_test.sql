-- search_messages: the owner finds their messages in hot rows and archives; nobody else does.
-- search_conversations: the owner finds their contacts by name, exact name first; nobody else does.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(29);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
update messaging_private.settings set value = 4 where key = 'hot_max_messages';
update messaging_private.settings set value = 2 where key = 'hot_keep_messages';
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'whatsapp',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'chat', 'id', 'm' || i,
    'direction', 'inbound', 'content', case i when 1 then 'Um café, por favor' else 'filler ' || i end,
    'sent_at', '2026-01-01T10:00:00Z'::timestamptz + i * interval '1 minute'))
    from generate_series(1, 9) i)));
select messaging_private.ingest_messages(jsonb_build_object(
  'user_id', '11111111-1111-4111-8111-111111111111', 'platform', 'telegram',
  'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'bulk' || i, 'id', 'b' || i,
    'direction', 'inbound', 'content', 'hi', 'participant_name', 'Bulk Contact ' || i, 'sender_name', 'Bulk Contact ' || i,
    'sent_at', '2026-02-01T10:00:00Z'::timestamptz + (case i when 42 then 0 else i end) * interval '1 minute'))
    from generate_series(1, 200) i)));
insert into public.people (id, user_id, full_name) values
  ('33333333-3333-4333-8333-333333333333', '11111111-1111-4111-8111-111111111111', 'Renée Linked');
update public.chat_conversations set person_id = '33333333-3333-4333-8333-333333333333'
 where external_conversation_id = 'bulk7';

select has_index('messaging_private', 'search_segments', 'search_segments_fts_idx', 'search segments: full-text index');
select has_index('messaging_private', 'search_segments', 'search_segments_trgm_idx', 'search segments: trigram index');
select has_index('messaging_private', 'conversation_names', 'conversation_names_trgm_idx', 'conversations: trigram index of their names');
select has_index('public', 'people', 'people_full_name_search_trgm_idx', 'people: trigram index of their names');
select function_privs_are('public', 'search_messages',
  array['text', 'uuid', 'integer', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'uuid', 'boolean'],
  'anon', array[]::text[], 'anon cannot execute');
select function_privs_are('public', 'search_conversations',
  array['text', 'integer', 'text', 'timestamp with time zone', 'uuid', 'text', 'boolean', 'uuid',
        'timestamp with time zone', 'timestamp with time zone', 'uuid'],
  'anon', array[]::text[], 'anon cannot execute search_conversations');

-- ============================== owner =========================================
select tests.authenticate_as('owner');
select results_eq($$ select s -> 'message' ->> 'id' from search_messages('cafe') s $$, array['m1'],
  'the owner finds an archived message without its accent');
select results_eq($$ select s ->> 'snippet' from search_messages('CAFÉ') s $$, array['Um [[café]], por favor'],
  'the snippet highlights the original text');
select is_empty($$ select 1 from search_messages('%') $$, 'a lone % matches nothing');
select throws_ok($$ select * from search_messages('cafe', max_count => 501) $$, '22023', null, 'max_count is bounded');
select results_eq($$ select s ->> 'participant_name' from search_conversations('bulk contact 42') s $$,
  array['Bulk Contact 42', 'Bulk Contact 142'], 'the exact name first, though it is the oldest; then the contains');
select results_eq($$ select s ->> 'match' from search_conversations('Bulk Contact 42') s $$,
  array['exact', 'contains'], 'each row says how it matched');
select results_eq($$ select s ->> 'participant_name' from search_conversations('renee linked') s $$,
  array['Bulk Contact 7'], 'a linked person''s name finds the conversation, accents aside');
select results_eq($$ select count(*)::integer from search_conversations('bulk contact', linked => false, platform => 'telegram', max_count => 500) s $$,
  array[199], 'linked and platform filters together');
select results_eq($$ select s -> 'message' ->> 'id' from search_messages('bulk contact 42', max_count => 1) s $$,
  array['b42'], 'a message hit through its sender''s name');
select results_eq($$ select s ->> 'matched_in' from search_messages('bulk contact 42', max_count => 1) s $$,
  array['sender_name'], 'says it matched only through the sender''s name');
select throws_ok($$ select * from search_conversations('bulk', after_match => 'exact') $$, '22023', null,
  'a cursor without its id is refused');

-- ============================== other user ===================================
select tests.authenticate_as('other');
select is_empty($$ select 1 from search_messages('cafe') $$, 'another user finds nothing');
select is_empty($$ select 1 from search_conversations('bulk contact') $$, 'another user finds no conversation');

-- ============================== anon =========================================
select tests.clear_authentication();
select throws_ok($$ select * from search_messages('cafe') $$, '42501', null, 'anon is refused');
select throws_ok($$ select * from search_conversations('bulk') $$, '42501', null, 'anon is refused conversations');

-- ============================== service_role =================================
select tests.authenticate_as_service_role();
select throws_ok($$ select * from search_messages('cafe') $$, '22023',
  'user_id: required (the service role must name the CRM user whose messages it searches)',
  'service_role must name the user it searches for');
select results_eq($$ select s -> 'message' ->> 'id' from search_messages('cafe', user_id => '11111111-1111-4111-8111-111111111111') s $$,
  array['m1'], 'service_role finds the named user''s messages');
select is_empty($$ select 1 from search_messages('cafe', user_id => '22222222-2222-4222-8222-222222222222') $$,
  'and only that user''s');
select results_eq($$ select s ->> 'participant_name' from search_conversations('bulk contact 42', user_id => '11111111-1111-4111-8111-111111111111') s $$,
  array['Bulk Contact 42', 'Bulk Contact 142'], 'service_role finds the named user''s conversations');
select throws_ok($$ select * from search_conversations('bulk') $$, '22023', null, 'service_role must name the user for conversations too');

-- ============================== a user naming another =========================
select tests.authenticate_as('other');
select throws_ok($$ select * from search_messages('cafe', user_id => '11111111-1111-4111-8111-111111111111') $$,
  '42501', null, 'a signed-in user cannot search another user''s messages');
select throws_ok($$ select * from search_conversations('bulk', user_id => '11111111-1111-4111-8111-111111111111') $$,
  '42501', null, 'nor another user''s conversations');

reset role;
select ok(
  (select p.prosecdef and n.nspname = 'messaging_private'
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where p.proname = 'search_messages' and n.nspname = 'messaging_private'),
  'the search body is a definer function in the private schema');

select * from finish();
rollback;
