-- Export and live copies of one message: the matching helpers on their own, then through
-- ingest_messages as a signed-in user (both orders of arrival, re-imports, the archive).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(55);
set local timezone = 'UTC';
update messaging_private.settings set value = 4 where key = 'hot_max_messages';
update messaging_private.settings set value = 2 where key = 'hot_keep_messages';

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '11111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '22222222-2222-4222-8222-222222222222');

-- a live copy (platform id, exact time) and an export copy (hash id, minute precision)
create function pg_temp.live(mid text, at text, content text default 'ok', dir text default 'inbound',
                             sender text default null, kind text default 'text')
returns jsonb language sql as $$
  select jsonb_strip_nulls(jsonb_build_object('id', mid, 'direction', dir, 'type', kind, 'content', content,
    'sent_at', at, 'sender_name', sender))
$$;
create function pg_temp.exp(mid text, at text, content text default 'ok', dir text default 'inbound',
                            sender text default null, kind text default 'text', prec text default 'minute')
returns jsonb language sql as $$
  select jsonb_strip_nulls(jsonb_build_object('id', mid, 'direction', dir, 'type', kind, 'content', content,
    'sent_at', at, 'sender_name', sender,
    'metadata', jsonb_build_object('id_source', 'export', 'time_precision', prec)))
$$;
create function pg_temp.st(variadic msgs jsonb[]) returns jsonb language sql as $$
  select coalesce(jsonb_agg(jsonb_build_object('chunk', null, 'm', m)), '[]') from unnest(msgs) m
$$;

-- ============================== privileges ====================================
select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = 'messaging_private'
    and p.proname in ('match_candidates', 'match_again', 'match_pairs', 'match_copy', 'ingest_match',
                      'match_take_out', 'edit_keeps_match', 'media_sha256')
    and (has_function_privilege('authenticated', p.oid, 'execute')
         or has_function_privilege('anon', p.oid, 'execute')
         or has_function_privilege('service_role', p.oid, 'execute'))), 0,
  'no API role may call a matching helper directly');
select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = 'messaging_private'
    and p.proname in ('match_candidates', 'match_again', 'match_pairs', 'match_copy', 'ingest_match',
                      'match_take_out', 'edit_keeps_match', 'media_sha256')), 8,
  'the eight helpers exist');

-- ============================== match_pairs ===================================
-- a pairing is made once (the same rule through ingest_messages below)
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h2', '2026-01-01T10:30:00Z')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z') || '{"metadata": {"matched": {"id": "h1"}}}'), true),
  '[]', 'pairs: a live copy that met h1 meets no twin of it (h2, same words, same minute)');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h2', '2026-01-01T10:30:00Z'),
                                                          pg_temp.exp('h1', '2026-01-01T10:30:00Z')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z', 'ok (edited)') || '{"metadata": {"matched": {"id": "h1"}}}',
               pg_temp.live('w2', '2026-01-01T10:30:06Z')), true),
  '[{"i": 1, "s": 0}, {"i": 0, "s": 1}]',
  'pairs: h1 meets the copy that met it, by id, words aside (edited since); the twin h2 meets the free one');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:41Z')), true),
  '[{"i": 0, "s": 0}]', 'pairs: an export copy meets the live one of its minute');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:31:00Z')), true),
  '[]', 'pairs: not one of the next minute');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.live('w1', '2026-01-01T10:30:41.250Z')),
    pg_temp.st(pg_temp.exp('h1', '2026-01-01T10:30:00.001Z')), true),
  '[{"i": 0, "s": 0}]', 'pairs: the other way round, and a millisecond offset of the export is its minute');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z'),
                                                          pg_temp.exp('h2', '2026-01-01T10:30:00Z')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z')), true),
  '[{"i": 0, "s": 0}]', 'pairs: ok, ok against one live ok: one pair, the other stays');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z'),
                                                          pg_temp.exp('h2', '2026-01-01T10:30:00Z')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z'), pg_temp.live('w2', '2026-01-01T10:30:50Z')), true),
  '[{"i": 0, "s": 0}, {"i": 1, "s": 1}]', 'pairs: ok, ok against two: one to one, in order');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z', 'ok', 'outbound')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z')), true),
  '[]', 'pairs: not across directions');
select is(messaging_private.match_pairs(
    jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z', 'ok', 'outbound') || '{"sender_identifier": "user700"}'),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z') || '{"sender_identifier": "700"}'), false),
  '[{"i": 0, "s": 0}]', 'pairs: in a group, the same sender id across directions (a bot sees us as a member)');
select is(messaging_private.match_pairs(
    jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z', 'ok', 'outbound') || '{"sender_identifier": "user700"}'),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z') || '{"sender_identifier": "701"}'), false),
  '[]', 'pairs: but not another sender''s');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z', 'ok!')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z')), true),
  '[]', 'pairs: not with other content');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z', E'see\nyou  ')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z', 'see you')), true),
  '[{"i": 0, "s": 0}]', 'pairs: whitespace runs aside');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:05Z', prec => 'second')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05.900Z'), pg_temp.live('w2', '2026-01-01T10:30:06Z')), true),
  '[{"i": 0, "s": 0}]', 'pairs: at second precision, the same second only');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z')),
    pg_temp.st(pg_temp.exp('h9', '2026-01-01T10:30:00Z')), true),
  '[]', 'pairs: two export copies never pair (their ids say)');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z', sender => 'Ana')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z', sender => 'Luis')), false),
  '[]', 'pairs: in a group, not from another sender');
select is(messaging_private.match_pairs(jsonb_build_array(pg_temp.exp('h1', '2026-01-01T10:30:00Z', sender => 'Ana')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z', sender => 'ana ')), false),
  '[{"i": 0, "s": 0}]', 'pairs: in a group, the same sender name');
select is(messaging_private.match_pairs(
    jsonb_build_array(jsonb_set(pg_temp.exp('h1', '2026-01-01T10:30:00Z', null, kind => 'other'),
                                '{metadata,media_omitted}', 'true')),
    pg_temp.st(pg_temp.live('w1', '2026-01-01T10:30:05Z', null, kind => 'image')), true),
  '[{"i": 0, "s": 0}]', 'pairs: an export''s omitted media meets the live image');

select is(messaging_private.match_pairs(
    (select jsonb_agg(pg_temp.exp('h' || g, to_char(timestamptz '2026-01-01T10:30:00Z' + g * interval '1 millisecond',
                                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) order by g) from generate_series(1, 70) g),
    (select jsonb_agg(jsonb_build_object('chunk', null, 'm', pg_temp.live('w' || g,
              to_char(timestamptz '2026-01-01T10:30:00Z' + g * interval '500 milliseconds', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
              order by g) from generate_series(1, 70) g), true),
  (select jsonb_agg(jsonb_build_object('i', g, 's', g) order by g) from generate_series(0, 69) g),
  'pairs: 70 ok against 70 in one minute, k-th with k-th (no 70 x 70 tries)');

-- ============================== media files ===================================
-- a media file's SHA-256: hex from an export, base64 (standard or URL-safe) from WhatsApp
select is(messaging_private.media_sha256('{"metadata": {"sha256": "0171178AE901E108F56305AFF7E36268A690BC49933A24B1AAA587FDA00F4D3B"}}'),
  '0171178ae901e108f56305aff7e36268a690bc49933a24b1aaa587fda00f4d3b', 'media_sha256: hex, lowercased');
select is(messaging_private.media_sha256('{"metadata": {"sha256": "AXEXiukB4Qj1YwWv9+NiaKaQvEmTOiSxqqWH/aAPTTs="}}'),
  '0171178ae901e108f56305aff7e36268a690bc49933a24b1aaa587fda00f4d3b', 'media_sha256: base64 as WhatsApp sends it');
select is(messaging_private.media_sha256('{"metadata": {"sha256": "AXEXiukB4Qj1YwWv9-NiaKaQvEmTOiSxqqWH_aAPTTs"}}'),
  '0171178ae901e108f56305aff7e36268a690bc49933a24b1aaa587fda00f4d3b', 'media_sha256: URL-safe base64 without padding');
select is(messaging_private.media_sha256('{"metadata": {"sha256": "abc="}}'), null, 'media_sha256: no hash of 32 bytes is none');
select is(messaging_private.match_pairs(
    jsonb_build_array(pg_temp.exp('p1', '2026-01-01T11:00:00Z', null) || '{"type": "image", "metadata": {"id_source": "export", "time_precision": "minute", "sha256": "0171178ae901e108f56305aff7e36268a690bc49933a24b1aaa587fda00f4d3b"}}'),
    pg_temp.st(pg_temp.live('w9', '2026-01-01T11:00:20Z', null) || '{"type": "image", "metadata": {"sha256": "hcvPd1y2cZWW9aPC/a5IS551PDvTfB9KEsgMMgTX1Z0="}}'),
    true), '[]', 'two photos of one minute, other hashes: no pair');
select is(messaging_private.match_pairs(
    jsonb_build_array(pg_temp.exp('p1', '2026-01-01T11:00:00Z', null) || '{"type": "image", "metadata": {"id_source": "export", "time_precision": "minute", "sha256": "0171178ae901e108f56305aff7e36268a690bc49933a24b1aaa587fda00f4d3b"}}'),
    pg_temp.st(pg_temp.live('w9', '2026-01-01T11:00:20Z', 'la talla M') || '{"type": "image", "metadata": {"sha256": "AXEXiukB4Qj1YwWv9+NiaKaQvEmTOiSxqqWH/aAPTTs="}}'),
    true), '[{"i": 0, "s": 0}]', 'the same photo meets whatever the captions say');

-- ============================== match_copy ====================================
select is(messaging_private.match_copy(pg_temp.live('w1', '2026-01-01T10:30:05Z'),
    pg_temp.exp('h1', '2026-01-01T10:30:00Z', sender => 'Ana')),
  jsonb_build_object('id', 'w1', 'direction', 'inbound', 'type', 'text', 'content', 'ok',
    'sent_at', '2026-01-01T10:30:05Z', 'sender_name', 'Ana',
    'metadata', jsonb_build_object('matched', jsonb_build_object('id', 'h1', 'sent_at', '2026-01-01T10:30:00Z',
                                                                 'sender_name', 'Ana'))),
  'copy: the live copy is kept, with the export''s id, time and the name it lacked');

-- ============================== through ingest_messages =======================
select tests.authenticate_as('owner');
create temporary table r (step text primary key, res jsonb) on commit drop;
grant all on r to authenticated;
create function pg_temp.ingest(step text, variadic msgs jsonb[]) returns jsonb language sql as $$
  insert into r values (step, public.ingest_messages(jsonb_build_object('platform', 'whatsapp',
    'messages', (select jsonb_agg(m || '{"external_conversation_id": "+34600000001"}') from unnest(msgs) m))))
  returning res - 'conversations'
$$;
create function pg_temp.ids() returns jsonb language sql as $$
  select jsonb_agg(e.m ->> 'id' order by (e.m ->> 'sent_at')::timestamptz, e.m ->> 'id')
    from public.chat_conversations c,
         lateral (select h.m from jsonb_array_elements(c.messages) h(m)
                  union all
                  select a.m from public.chat_conversation_archives x, jsonb_array_elements(x.messages) a(m)
                   where x.conversation_id = c.id) e
   where c.external_conversation_id = '+34600000001'
$$;

-- live first, then the export of the same minutes
select pg_temp.ingest('live', pg_temp.live('w1', '2026-01-01T10:30:05Z'), pg_temp.live('w2', '2026-01-01T10:31:10Z', 'bye'));
select is(pg_temp.ingest('export',
    pg_temp.exp('h1', '2026-01-01T10:30:00Z'), pg_temp.exp('h2', '2026-01-01T10:30:00.001Z'),
    pg_temp.exp('h3', '2026-01-01T10:31:00Z', 'bye')),
  '{"inserted": 1, "duplicates": 2, "updated": 2, "matched": 2}',
  'live then export: the two copies meet, the second ok is new');
select is(pg_temp.ids(), '["h2", "w1", "w2"]', 'each message once: the live copies and the second ok, only the export has it');
select is((select c.message_count from public.chat_conversations c where c.external_conversation_id = '+34600000001'),
  3, 'message_count counts each once');
select is((select m #>> '{metadata,matched,id}' from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where m ->> 'id' = 'w2'), 'h3', 'the live copy carries the export copy''s id');
select is(pg_temp.ingest('re-import',
    pg_temp.exp('h1', '2026-01-01T10:30:00Z'), pg_temp.exp('h2', '2026-01-01T10:30:00.001Z'),
    pg_temp.exp('h3', '2026-01-01T10:31:00Z', 'bye')),
  '{"inserted": 0, "duplicates": 3, "updated": 0, "matched": 2}', 'a re-import stores nothing');
select is(pg_temp.ids(), '["h2", "w1", "w2"]', 'and changes nothing');

-- export first, then the live deliveries
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.exp('k1', '2026-01-02T09:00:00Z', 'hola') || '{"external_conversation_id": "+34600000002"}',
    pg_temp.exp('k2', '2026-01-02T09:00:00.001Z', 'hola') || '{"external_conversation_id": "+34600000002"}'))) ->> 'inserted',
  '2', 'export first: two hola of one minute');
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.live('x1', '2026-01-02T09:00:20Z', 'hola') || '{"external_conversation_id": "+34600000002"}'))) - 'conversations',
  '{"inserted": 0, "duplicates": 1, "updated": 1, "matched": 1}', 'the live copy takes the place of the first');
select is((select jsonb_agg(m ->> 'id' order by m ->> 'sent_at') from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where c.external_conversation_id = '+34600000002'), '["k2", "x1"]',
  'the live copy and the other hola, sorted');
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.live('x1', '2026-01-02T09:00:20Z', 'hola') || '{"external_conversation_id": "+34600000002"}'))) - 'conversations',
  '{"inserted": 0, "duplicates": 1, "updated": 0, "matched": 0}', 'a redelivery is a plain duplicate');
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.exp('k1', '2026-01-02T09:00:00Z', 'hola') || '{"external_conversation_id": "+34600000002"}',
    pg_temp.exp('k2', '2026-01-02T09:00:00.001Z', 'hola') || '{"external_conversation_id": "+34600000002"}'))) - 'conversations',
  '{"inserted": 0, "duplicates": 2, "updated": 0, "matched": 1}', 're-importing the export stores nothing');
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.live('x2', '2026-01-02T09:00:59Z', 'hola') || '{"external_conversation_id": "+34600000002"}'))) - 'conversations',
  '{"inserted": 0, "duplicates": 1, "updated": 1, "matched": 1}', 'the second live hola takes the other''s place');
select is((select jsonb_build_array(c.message_count, jsonb_agg(m ->> 'id' order by m ->> 'sent_at'))
             from public.chat_conversations c, jsonb_array_elements(c.messages) m
            where c.external_conversation_id = '+34600000002' group by c.message_count),
  '[2, ["x1", "x2"]]', 'two hola, both live, counted twice');

-- the archive: export copies spilled out of the hot row (4 messages at most), then live
select pg_temp.ingest('old export',
  pg_temp.exp('e1', '2026-01-03T08:00:00Z', 'one'), pg_temp.exp('e2', '2026-01-03T08:01:00Z', 'two'),
  pg_temp.exp('e3', '2026-01-03T08:02:00Z', 'three'), pg_temp.exp('e4', '2026-01-03T08:03:00Z', 'four'),
  pg_temp.exp('e5', '2026-01-03T08:04:00Z', 'five'), pg_temp.exp('e6', '2026-01-03T08:05:00Z', 'six'));
select ok((select count(*) from public.chat_conversation_archives a, jsonb_array_elements(a.messages) m
            where m ->> 'id' = 'e1') = 1, 'e1 is in an archive chunk');
select is(pg_temp.ingest('late live', pg_temp.live('L1', '2026-01-03T08:00:30Z', 'one')),
  '{"inserted": 0, "duplicates": 1, "updated": 1, "matched": 1}', 'a late live copy meets the archived export copy');
select is(pg_temp.ids(), '["h2", "w1", "w2", "L1", "e2", "e3", "e4", "e5", "e6"]', 'and takes its place there');
select is((select c.message_count from public.chat_conversations c where c.external_conversation_id = '+34600000001'),
  9, 'message_count unchanged by a replacement');

-- the archive the other way: live copies spilled out, then the export of their minutes
select public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', (
  select jsonb_agg(pg_temp.live('v' || g, to_char(timestamptz '2026-01-04T08:00:00Z' + g * interval '1 minute',
                                 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'n' || g) || '{"external_conversation_id": "+34600000003"}')
    from generate_series(1, 6) g)));
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.exp('q1', '2026-01-04T08:01:00Z', 'n1', sender => 'Marta') || '{"external_conversation_id": "+34600000003"}'))) - 'conversations',
  '{"inserted": 0, "duplicates": 1, "updated": 1, "matched": 1}', 'an export copy meets an archived live copy');
select is((select jsonb_build_array(m ->> 'id', m #>> '{metadata,matched,id}', m ->> 'sender_name')
             from public.chat_conversation_archives a, jsonb_array_elements(a.messages) m
            where m ->> 'id' = 'v1'), '["v1", "q1", "Marta"]', 'which keeps its place in the archive and learns the export''s id');

-- ============================== a pairing is made once ========================
-- through ingest_messages: the archived v1 met q1 above; a twin of q1 in a later call is stored
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.exp('q1b', '2026-01-04T08:01:00.001Z', 'n1', sender => 'Marta') || '{"external_conversation_id": "+34600000003"}'))) - 'conversations',
  '{"inserted": 1, "duplicates": 0, "updated": 0, "matched": 0}', 'a twin export copy in a later call is a message of its own');
-- an edit of the archived v1 keeps the export copy it met; q1 sent again is still a duplicate
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.live('v1', '2026-01-04T08:01:00Z', 'n1, edited') || '{"external_conversation_id": "+34600000003", "edited_at": "2026-01-05T00:00:00Z"}'))) - 'conversations',
  '{"inserted": 0, "duplicates": 0, "updated": 1, "matched": 0}', 'an edit of the archived live copy');
select is((select jsonb_build_array(m ->> 'content', m #>> '{metadata,matched,id}')
             from public.chat_conversation_archives a, jsonb_array_elements(a.messages) m
            where m ->> 'id' = 'v1'), '["n1, edited", "q1"]', 'keeps metadata.matched');
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.exp('q1', '2026-01-04T08:01:00Z', 'n1', sender => 'Marta') || '{"external_conversation_id": "+34600000003"}',
    pg_temp.exp('q1b', '2026-01-04T08:01:00.001Z', 'n1', sender => 'Marta') || '{"external_conversation_id": "+34600000003"}'))) - 'conversations',
  '{"inserted": 0, "duplicates": 2, "updated": 0, "matched": 1}', 'the export sent again after the edit stores nothing');

-- ============================== the edit-time cap =============================
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.live('v2', '2026-01-04T08:02:00Z', 'n2, from a clock ahead') || jsonb_build_object(
      'external_conversation_id', '+34600000003', 'edited_at', to_char(now() + interval '3 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))))
    - 'conversations', '{"inserted": 0, "duplicates": 0, "updated": 1, "matched": 0}', 'an edit 3 hours ahead of the clock');
select is((select jsonb_build_array((m ->> 'edited_at')::timestamptz = now(), m #>> '{metadata,edited_at_given}')
             from (select a.messages from public.chat_conversation_archives a
                   union all select c.messages from public.chat_conversations c) x, jsonb_array_elements(x.messages) m
            where m ->> 'id' = 'v2'),
  jsonb_build_array(true, to_char(now() + interval '3 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
  'is stored as the time it arrived, the time given kept in metadata.edited_at_given');

-- ============================== another user ==================================
-- the same chat exported by another CRM user meets nothing of the owner's
select tests.authenticate_as('other');
select is(public.ingest_messages(jsonb_build_object('platform', 'whatsapp', 'messages', jsonb_build_array(
    pg_temp.exp('k1', '2026-01-02T09:00:00Z', 'hola') || '{"external_conversation_id": "+34600000002"}'))) - 'conversations',
  '{"inserted": 1, "duplicates": 0, "updated": 0, "matched": 0}', 'other: an export meets only their own messages');
select is((select count(*)::int from public.chat_conversations), 1, 'other: sees their own conversation only');
select tests.authenticate_as('owner');
select is((select c.message_count from public.chat_conversations c where c.external_conversation_id = '+34600000002'),
  2, 'owner: unchanged by it');

select * from finish();
rollback;
