-- The parts of ingest_messages, each on its own: owner, references, groups, dedupe, edits,
-- merge (hot row, archive, caps by count and bytes), summary; and the sizing helpers.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(52);
set local timezone = 'UTC';

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');
insert into public.people (id, user_id, full_name) values
  ('11111111-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Owner''s client'),
  ('22222222-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Other''s client');
insert into public.messaging_connections (id, user_id, platform, account_identifier) values
  ('11111111-0000-4000-8000-0000000000c1', '11111111-1111-4111-8111-111111111111', 'whatsapp', '+34600000001'),
  ('22222222-0000-4000-8000-0000000000c2', '22222222-2222-4222-8222-222222222222', 'whatsapp', '+34600000002');

-- a message object as ingest_groups stores it
create function pg_temp.m(mid text, minute integer, content text default 'hi', edited text default null)
returns jsonb language sql as $$
  select jsonb_strip_nulls(jsonb_build_object('id', mid, 'direction', 'inbound', 'type', 'text',
    'content', content, 'sent_at', to_char(timestamptz '2026-01-01 10:00Z' + minute * interval '1 minute',
    'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'edited_at', edited))
$$;

-- ============================== privileges ====================================
select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = 'messaging_private' and p.proname like 'ingest\_%' and p.proname <> 'ingest_messages'
    and (has_function_privilege('authenticated', p.oid, 'execute')
         or has_function_privilege('anon', p.oid, 'execute')
         or has_function_privilege('service_role', p.oid, 'execute'))), 0,
  'no API role may call an ingest part directly');

-- ============================== ingest_owner ==================================
select tests.authenticate_as('owner');
reset role;  -- the parts run as the definer's owner; the claims decide
select is(messaging_private.ingest_owner('{"messages": []}'), '11111111-1111-4111-8111-111111111111'::uuid,
  'owner: a signed-in caller owns what they ingest');
select throws_ok($$ select messaging_private.ingest_owner('{"user_id": "22222222-2222-4222-8222-222222222222"}') $$,
  '42501', 'user_id: a signed-in user can only ingest their own messages', 'owner: not another user''s');
select tests.authenticate_as_service_role();
reset role;
select is(messaging_private.ingest_owner('{"user_id": "22222222-2222-4222-8222-222222222222"}'),
  '22222222-2222-4222-8222-222222222222'::uuid, 'owner: service_role names the user');
select throws_ok($$ select messaging_private.ingest_owner('{}') $$, '22023', null,
  'owner: service_role without user_id is 22023');
select throws_ok($$ select messaging_private.ingest_owner('{"user_id": "33333333-3333-4333-8333-333333333333"}') $$,
  '22023', 'user_id: no user 33333333-3333-4333-8333-333333333333 in auth.users', 'owner: an unknown user is 22023');
select tests.clear_authentication();
reset role;
select throws_ok($$ select messaging_private.ingest_owner('{}') $$, '42501', null, 'owner: anon is refused');
select set_config('request.jwt.claims', '', true);  -- no claims: a direct database session

-- ============================== ingest_references =============================
select is(messaging_private.ingest_references(
    '{"connection_id": "11111111-0000-4000-8000-0000000000c1", "messages": []}', '11111111-1111-4111-8111-111111111111'),
  '11111111-0000-4000-8000-0000000000c1'::uuid, 'references: the owner''s connection');
select is(messaging_private.ingest_references('{"messages": []}', '11111111-1111-4111-8111-111111111111'), null,
  'references: no connection');
select throws_ok($$ select messaging_private.ingest_references(
    '{"connection_id": "22222222-0000-4000-8000-0000000000c2", "messages": []}', '11111111-1111-4111-8111-111111111111') $$,
  '42501', null, 'references: another user''s connection is 42501');
select throws_ok($$ select messaging_private.ingest_references(
    '{"messages": [{"person_id": "22222222-0000-4000-8000-000000000002"}]}', '11111111-1111-4111-8111-111111111111') $$,
  '42501', null, 'references: another user''s person is 42501');
select lives_ok($$ select messaging_private.ingest_references(
    '{"messages": [{"person_id": "11111111-0000-4000-8000-000000000001"}]}', '11111111-1111-4111-8111-111111111111') $$,
  'references: the owner''s person');

-- ============================== ingest_groups =================================
select is(messaging_private.ingest_groups('{"platform": "whatsapp", "messages": [
    {"external_conversation_id": "b", "id": "2", "direction": "inbound", "content": "x", "sent_at": "2026-01-01T10:05:00+01:00"},
    {"external_conversation_id": "a", "id": "1", "direction": "outbound", "content": "old", "sent_at": "2026-01-01T10:00:00Z"},
    {"external_conversation_id": "a", "id": "1", "direction": "outbound", "content": "new", "sent_at": "2026-01-01T10:00:00Z", "edited_at": "2026-01-01T11:00:00Z"},
    {"platform": "signal", "external_conversation_id": "a", "id": "9", "direction": "inbound", "sent_at": "2026-01-01T09:00:00Z", "participant_name": "Ann"}
  ]}') #> '{}', '[
    {"platform": "signal", "external_conversation_id": "a", "batch_duplicates": 0, "participant_identifier": null,
     "participant_name": "Ann", "conversation_type": null, "person_id": null,
     "messages": [{"id": "9", "direction": "inbound", "type": "text", "content": null, "media_url": null, "sent_at": "2026-01-01T09:00:00Z"}]},
    {"platform": "whatsapp", "external_conversation_id": "a", "batch_duplicates": 1, "participant_identifier": null,
     "participant_name": null, "conversation_type": null, "person_id": null,
     "messages": [{"id": "1", "direction": "outbound", "type": "text", "content": "new", "media_url": null,
                   "sent_at": "2026-01-01T10:00:00Z", "edited_at": "2026-01-01T11:00:00Z"}]},
    {"platform": "whatsapp", "external_conversation_id": "b", "batch_duplicates": 0, "participant_identifier": null,
     "participant_name": null, "conversation_type": null, "person_id": null,
     "messages": [{"id": "2", "direction": "inbound", "type": "text", "content": "x", "media_url": null, "sent_at": "2026-01-01T09:05:00Z"}]}
  ]'::jsonb, 'groups: by conversation in a fixed order, UTC times, repeats collapsed (newest edit wins) and counted');

-- a conversation with an archive to work on: caps of 4 (keep 2), chunks of 3
update messaging_private.settings set value = 4 where key = 'hot_max_messages';
update messaging_private.settings set value = 2 where key = 'hot_keep_messages';
update messaging_private.settings set value = 3 where key = 'archive_chunk_messages';
insert into public.chat_conversations (id, user_id, platform, external_conversation_id)
values ('11111111-0000-4000-8000-0000000000aa', '11111111-1111-4111-8111-111111111111', 'whatsapp', 'parts');

-- ============================== ingest_merge ==================================
create temp table hot (m jsonb);
insert into hot select messaging_private.ingest_merge('11111111-0000-4000-8000-0000000000aa',
  '11111111-1111-4111-8111-111111111111', '[]', jsonb_build_array(pg_temp.m('a', 1), pg_temp.m('b', 2), pg_temp.m('c', 3)));
select is((select jsonb_path_query_array(m, '$[*].id') from hot), '["a", "b", "c"]', 'merge: under the cap all stay hot');
update hot set m = messaging_private.ingest_merge('11111111-0000-4000-8000-0000000000aa',
  '11111111-1111-4111-8111-111111111111', m, jsonb_build_array(pg_temp.m('d', 4), pg_temp.m('e', 5)));
select is((select jsonb_path_query_array(m, '$[*].id') from hot), '["d", "e"]', 'merge: past the cap the newest 2 stay');
select results_eq($$ select jsonb_path_query_array(messages, '$[*].id') from public.chat_conversation_archives
  where conversation_id = '11111111-0000-4000-8000-0000000000aa' order by first_message_at $$,
  $$ values ('["a", "b", "c"]'::jsonb) $$, 'merge: the oldest spill into a chunk');
update hot set m = messaging_private.ingest_merge('11111111-0000-4000-8000-0000000000aa',
  '11111111-1111-4111-8111-111111111111', m, jsonb_build_array(pg_temp.m('a0', 0), pg_temp.m('b5', 2), pg_temp.m('d5', 4)));
select is((select jsonb_path_query_array(m, '$[*].id') from hot), '["d", "d5", "e"]', 'merge: a message newer than the hot row''s oldest joins it, sorted');
select results_eq($$ select jsonb_path_query_array(messages, '$[*].id') from public.chat_conversation_archives
  where conversation_id = '11111111-0000-4000-8000-0000000000aa' order by first_message_at $$,
  $$ values ('["a0", "a", "b"]'::jsonb), ('["b5", "c"]'::jsonb) $$,
  'merge: older ones go into the chunk holding their time (or the oldest), chunks cut at their count');

-- ============================== stored_copies =================================
select ok((select array_agg(s.m ->> 'id') from messaging_private.stored_copies('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), true, '[{"id": "c"}, {"id": "zz"}, {"id": "e"}, {"id": "a0"}]') s)
    in (array['e', 'a0', 'c'], array['e', 'c', 'a0']),  -- (the chunks in no particular order)
  'stored_copies: the hot row''s copies first, then the archive''s; an unknown id has none');
select results_eq($$ select s.m ->> 'id', s.chunk from messaging_private.stored_copies('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), true, '[{"id": "e"}, {"id": "c"}]') s $$,
  $$ select 'e', null::uuid union all select 'c', a.id from public.chat_conversation_archives a
      where a.conversation_id = '11111111-0000-4000-8000-0000000000aa' and a.first_message_id = 'b5' $$,
  'stored_copies: chunk null for the hot row, else the chunk holding the copy');
select results_eq($$ select s.m ->> 'id' from messaging_private.stored_copies('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), false, '[{"id": "c"}, {"id": "e"}]') s $$, $$ values ('e') $$,
  'stored_copies: without an archive only the hot row is asked');
select is_empty($$ select * from messaging_private.stored_copies('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), true, '[{"id": "zz"}]') $$, 'stored_copies: nothing stored, no row');
select ok(not has_function_privilege('service_role',
    'messaging_private.stored_copies(uuid, jsonb, boolean, jsonb, integer)', 'execute')
  and not has_function_privilege('authenticated', 'messaging_private.stored_copies(uuid, jsonb, boolean, jsonb, integer)', 'execute'),
  'stored_copies: no API role may call it');

-- ============================== ingest_dedupe =================================
select is((select to_jsonb(d) from messaging_private.ingest_dedupe('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), true,
    jsonb_build_array(pg_temp.m('e', 5), pg_temp.m('b', 2), pg_temp.m('d', 4, 'edited', '2026-01-02T00:00:00Z'),
                      pg_temp.m('a', 1, 'edited', '2026-01-02T00:00:00Z'), pg_temp.m('z', 9))) d) - 'archive_edits',
  jsonb_build_object('fresh', jsonb_build_array(pg_temp.m('z', 9)),
                     -- (the edit keeps the replaced text as a version)
                     'hot_edits', jsonb_build_array(pg_temp.m('d', 4, 'edited', '2026-01-02T00:00:00Z')
                       || '{"metadata": {"versions": [{"content": "hi", "at": "2026-01-01T10:04:00Z"}]}}'::jsonb),
                     'duplicates', 2, 'matched', 0, 'replaced', '[]'::jsonb),
  'dedupe: new, hot-row edit, and duplicates from the hot row and the archive');
select is((select jsonb_array_length(d.archive_edits) from messaging_private.ingest_dedupe('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), true, jsonb_build_array(pg_temp.m('a', 1, 'edited', '2026-01-02T00:00:00Z'))) d), 1,
  'dedupe: an edit of an archived message is found through id_hashes');
select is((select d.duplicates from messaging_private.ingest_dedupe('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), true, jsonb_build_array(pg_temp.m('d', 4, 'older?'))) d), 1,
  'dedupe: a copy without edited_at never replaces the stored one');

-- ============================== ingest_apply_edits ============================
select is(messaging_private.ingest_apply_edits('11111111-0000-4000-8000-0000000000aa', '11111111-1111-4111-8111-111111111111',
    (select m from hot), jsonb_build_array(pg_temp.m('d5', 4, 'x', '2026-01-02T00:00:00Z')), '[]'),
  jsonb_build_array(pg_temp.m('d', 4), pg_temp.m('e', 5)), 'edits: the old hot-row version is taken out');
select is(messaging_private.ingest_apply_edits('11111111-0000-4000-8000-0000000000aa', '11111111-1111-4111-8111-111111111111',
    (select m from hot), '[]', (select jsonb_agg(jsonb_build_object('chunk', a.id, 'm', pg_temp.m(x, 0, 'x', '2026-01-02T00:00:00Z')))
      from public.chat_conversation_archives a, unnest(array['a0', 'a', 'b']) x
     where a.conversation_id = '11111111-0000-4000-8000-0000000000aa' and a.first_message_id = 'a0')),
  (select m from hot), 'edits: archived versions leave the hot row alone');
select results_eq($$ select jsonb_path_query_array(messages, '$[*].id') from public.chat_conversation_archives
  where conversation_id = '11111111-0000-4000-8000-0000000000aa' order by first_message_at $$,
  $$ values ('["b5", "c"]'::jsonb) $$, 'edits: a chunk emptied by edits is deleted');

-- ============================== ingest_summary ================================
select is((select to_jsonb(s) from messaging_private.ingest_summary('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), '2026-01-01T09:00:00Z', false) s),
  jsonb_build_object('first_at', '2026-01-01T09:00:00+00:00', 'last_message', pg_temp.m('e', 5)),
  'summary: an append keeps the given first time, the hot row''s last message');
select is((select to_jsonb(s) from messaging_private.ingest_summary('11111111-0000-4000-8000-0000000000aa',
    (select m from hot), '2026-01-01T09:00:00Z', true) s),
  jsonb_build_object('first_at', '2026-01-01T10:02:00+00:00', 'last_message', pg_temp.m('e', 5)),
  'summary: after an edit the first time is the first chunk''s');
select is((select s.last_message from messaging_private.ingest_summary('11111111-0000-4000-8000-0000000000aa',
    '[]', null, true) s), pg_temp.m('c', 3), 'summary: with an empty hot row the newest chunk''s last message');

-- ============================== sizes and cuts ================================
select is(messaging_private.line_sizes(jsonb_build_array(
    jsonb_build_object('content', 'abc', 'sender_name', 'Zé'),
    jsonb_build_object('media_url', 'https://h/p.jpg?sig=0123456789'),
    jsonb_build_object('content', repeat('x', 5000)))),
  array[8, 16, 2001], 'line sizes: content, sender and media URL without its query, at most 2,000 characters');
select is(messaging_private.search_document(jsonb_build_array(
    jsonb_build_object('content', 'Café ' || repeat('y', 3000), 'media_url', 'https://h/A.jpg?X-Sig=secret'))),
  'cafe ' || repeat('y', 1995), 'search document: a line is cut at 2,000 characters, unaccented and lower-cased');
select is(cardinality(messaging_private.cut_pieces(
    (select jsonb_agg(pg_temp.m('p' || i, i)) from generate_series(1, 10) i), 4, 100000)), 3,
  'cut: by count (10 messages in pieces of 4)');
select is((select array_agg(jsonb_array_length(p)) from unnest(messaging_private.cut_pieces(
    (select jsonb_agg(pg_temp.m('p' || i, i, repeat('w', 1000))) from generate_series(1, 10) i), 1000, 3500)) p),
  array[3, 3, 3, 1], 'cut: by bytes of searchable text (3 lines of 1,001 bytes fit 3,500)');
select is((select array_agg(jsonb_array_length(p)) from unnest(messaging_private.cut_pieces(
    jsonb_build_array(pg_temp.m('big', 1, repeat('w', 60000))), 1000, 100)) p),
  array[1], 'cut: a message larger than the budget is a piece of its own, never refused');
select is(messaging_private.newest_fitting(
    (select jsonb_agg(pg_temp.m('p' || i, i, repeat('w', 1000))) from generate_series(1, 10) i), 50, 3500), 3,
  'newest fitting: as many of the newest as the byte budget holds');
select is(messaging_private.newest_fitting(
    (select jsonb_agg(pg_temp.m('p' || i, i)) from generate_series(1, 10) i), 4, 100000), 4,
  'newest fitting: or the count');
select is(messaging_private.newest_fitting(jsonb_build_array(pg_temp.m('big', 1, repeat('w', 9000))), 4, 10), 1,
  'newest fitting: at least one');

-- ============================== index_messages (search segments) ===============
select messaging_private.index_messages('11111111-0000-4000-8000-0000000000aa', '11111111-1111-4111-8111-111111111111',
  jsonb_build_array(pg_temp.m('i1', 1, E'Line one\nand two'), pg_temp.m('i2', 2, null),
    jsonb_build_object('id', 'i3', 'direction', 'outbound', 'type', 'image', 'content', null,
      'media_url', 'https://cdn/x/Photo.JPG?sig=abc', 'sent_at', '2026-01-01T10:03:00Z')));
select results_eq($$ select message_ids, outbound, document, sealed from messaging_private.search_segments
  where conversation_id = '11111111-0000-4000-8000-0000000000aa' $$,
  $$ values (array['i1', 'i3'], array[false, true], E'line one and two\nhttps://cdn/x/photo.jpg', false) $$,
  'index: one segment, a normalised line per message with text, newlines as spaces, no URL query');
select messaging_private.index_messages('11111111-0000-4000-8000-0000000000aa', '11111111-1111-4111-8111-111111111111',
  jsonb_build_array(pg_temp.m('j' || i, 10 + i, 'word ' || i))) from generate_series(1, 14) i;
select is((select count(*)::int from messaging_private.search_segments
  where conversation_id = '11111111-0000-4000-8000-0000000000aa' and not sealed), 15, 'index: small segments pile up to 15');
select messaging_private.index_messages('11111111-0000-4000-8000-0000000000aa', '11111111-1111-4111-8111-111111111111',
  jsonb_build_array(pg_temp.m('j15', 25, 'word 15')));
select results_eq($$ select count(*)::int, bool_and(sealed), sum(cardinality(message_ids))::int
  from messaging_private.search_segments where conversation_id = '11111111-0000-4000-8000-0000000000aa' $$,
  $$ values (1, true, 17) $$, 'index: the 16th merges them into one sealed segment, every line kept');
select is((select lexemes from messaging_private.search_segments where conversation_id = '11111111-0000-4000-8000-0000000000aa')
  @@ to_tsquery('simple', 'line & word & 15'), true, 'index: the segment''s words are stored for the full-text index');
select is((select array_agg(jsonb_array_length(p)) from unnest(messaging_private.segment_pieces(
    (select jsonb_agg(jsonb_build_object('id', i, 'sent_at', '2026-01-01T00:00:00Z', 'outbound', false, 'line', repeat('z', 1999)))
       from generate_series(1, 70) i))) p), array[8, 8, 8, 8, 8, 9, 8, 8, 5],
  'pieces: lines cut where their running total passes each 16 kB (a piece exceeds it by one line at most)');
select messaging_private.index_messages('11111111-0000-4000-8000-0000000000aa', '11111111-1111-4111-8111-111111111111',
  (select jsonb_agg(pg_temp.m('k' || i, 100 + i, repeat('q', 1990) || i)) from generate_series(1, 70) i));
select ok((select max(octet_length(document)) <= 16384 + 8000 and count(*) >= 3 from messaging_private.search_segments
  where conversation_id = '11111111-0000-4000-8000-0000000000aa'),
  'index: a large batch becomes segments of about 16 kB of lines (under 24 kB)');

-- ============== the stored-copy lookup from the webhook side (stored_copies) ==============
select messaging_private.ingest_messages(jsonb_build_object('user_id', '11111111-1111-4111-8111-111111111111',
  'messages', (select jsonb_agg(jsonb_build_object('platform', 'whatsapp', 'external_conversation_id', 'upd',
      'id', 'u' || i, 'direction', 'inbound', 'content', 'text ' || i,
      'sent_at', to_char(timestamptz '2026-01-01 10:00Z' + i * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
    from generate_series(1, 6) i)));
select is((select jsonb_path_query_array(c.messages, '$[*].id') || to_jsonb(c.message_count)
  from public.chat_conversations c where c.external_conversation_id = 'upd'), '["u5", "u6", 6]',
  'lookup: u1-u4 are archived (caps of 4, keep 2)');
select is(messaging_private.stored_message('11111111-1111-4111-8111-111111111111', 'whatsapp', 'upd', 'u2') ->> 'content',
  'text 2', 'stored_message: an archived copy');
select is(messaging_private.stored_message('11111111-1111-4111-8111-111111111111', 'whatsapp', 'upd', 'u6') ->> 'content',
  'text 6', 'stored_message: a hot-row copy');
select is(messaging_private.stored_message('11111111-1111-4111-8111-111111111111', 'whatsapp', 'upd', 'u9'), null,
  'stored_message: none');
select is(messaging_private.apply_message_updates('11111111-1111-4111-8111-111111111111', jsonb_build_array(
    jsonb_build_object('platform', 'whatsapp', 'external_conversation_id', 'upd', 'id', 'u2', 'kind', 'status',
                       'status', 'delivered', 'at', '2026-01-01T11:00:00Z'),
    jsonb_build_object('platform', 'whatsapp', 'external_conversation_id', 'upd', 'id', 'u6', 'kind', 'status',
                       'status', 'read', 'at', '2026-01-01T11:00:00Z'),
    jsonb_build_object('platform', 'whatsapp', 'external_conversation_id', 'upd', 'id', 'u2', 'kind', 'status',
                       'status', 'delivered', 'at', '2026-01-01T11:00:00Z'),
    jsonb_build_object('platform', 'whatsapp', 'external_conversation_id', 'upd', 'id', 'u9', 'kind', 'status',
                       'status', 'read', 'at', '2026-01-01T11:00:00Z'))),
  '{"applied": 2, "unchanged": 1, "missing": 0, "pending": 1}'::jsonb,
  'updates: an archived and a hot-row copy updated, a repeat unchanged, an unknown id kept pending');
select results_eq($$ select e.m ->> 'id', e.m #>> '{metadata,status}'
    from public.chat_conversations c
    left join public.chat_conversation_archives a on a.conversation_id = c.id
    cross join lateral jsonb_array_elements(coalesce(a.messages, '[]') || c.messages) e(m)
   where c.external_conversation_id = 'upd' and e.m #>> '{metadata,status}' is not null
   group by 1, 2 order by 1 $$,
  $$ values ('u2', 'delivered'), ('u6', 'read') $$,
  'updates: each lands on its stored copy, in its chunk or in the hot row');

select * from finish();
rollback;
