-- Edits as versions (metadata.versions, capped) and the delete setting
-- (messaging_settings.keep_deleted_text, set_messaging_settings), in role sections.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(30);

select tests.create_supabase_user('owner', 'owner@test', fixed_id => '31111111-1111-4111-8111-111111111111');
select tests.create_supabase_user('other', 'other@test', fixed_id => '32222222-2222-4222-8222-222222222222');

create function pg_temp.put(owner text, id text, content text, edited text default null) returns jsonb
language sql as $$
  select messaging_private.ingest_messages(jsonb_build_object(
    'user_id', owner, 'platform', 'signal',
    'messages', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('external_conversation_id', 'c1',
      'id', id, 'direction', 'inbound', 'content', content, 'sent_at', '2026-01-01T10:00:00Z',
      'edited_at', edited)))))
$$;
create function pg_temp.stored(owner text, id text) returns jsonb
language sql as $$
  select m from public.chat_conversations c cross join lateral jsonb_array_elements(c.messages) m
   where c.user_id = $1::uuid and m ->> 'id' = $2
$$;
create function pg_temp.delete(owner text, id text) returns jsonb
language sql as $$
  select messaging_private.apply_message_updates(owner::uuid, jsonb_build_array(jsonb_build_object(
    'platform', 'signal', 'external_conversation_id', 'c1', 'id', id, 'kind', 'delete',
    'at', '2026-01-02T09:00:00Z')))
$$;

select tests.rls_enabled('public', 'messaging_settings');
select policies_are('public', 'messaging_settings', array[
  'Users can view their own messaging settings', 'Users can change their own messaging settings']);
select function_privs_are('public', 'set_messaging_settings', array['boolean'], 'anon', array[]::text[],
  'anon cannot execute set_messaging_settings');

-- ============================== versions (as the store writes them) =============
select pg_temp.put('31111111-1111-4111-8111-111111111111', 'a', 'first');
select is((pg_temp.put('31111111-1111-4111-8111-111111111111', 'a', 'second', '2026-01-01T10:05:00Z') ->> 'updated')::int,
  1, 'an edit replaces the stored copy');
select pg_temp.put('31111111-1111-4111-8111-111111111111', 'a', 'third', '2026-01-01T10:10:00Z');
select is(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'a') #> '{metadata,versions}',
  '[{"content": "first", "at": "2026-01-01T10:00:00Z"}, {"content": "second", "at": "2026-01-01T10:05:00Z"}]'::jsonb,
  'the replaced texts are kept oldest first, each with when it was written');
select is((pg_temp.put('31111111-1111-4111-8111-111111111111', 'a', 'third', '2026-01-01T10:10:00Z') ->> 'duplicates')::int,
  1, 'the same edit again is a duplicate');
select is(jsonb_array_length(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'a') #> '{metadata,versions}'),
  2, 'and adds no version');
do $$
begin
  for i in 1..22 loop
    perform pg_temp.put('31111111-1111-4111-8111-111111111111', 'b', 'v' || i,
      (timestamptz '2026-01-01T10:00:00Z' + i * interval '1 minute')::text);
  end loop;
end;
$$;
select is(jsonb_array_length(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'b') #> '{metadata,versions}'),
  20, 'at most 20 versions are kept');
select is(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'b') #>> '{metadata,versions_dropped}', '1',
  'versions_dropped counts the ones past the cap');
select is(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'b') #>> '{metadata,versions,0,content}', 'v2',
  'the oldest went first');

-- ============================== owner ==========================================
select tests.authenticate_as('owner');
select is((select count(*) from messaging_settings)::int, 0, 'no row: the defaults');
select is((set_messaging_settings(true)).keep_deleted_text, true, 'set_messaging_settings keeps deleted text');
select throws_ok($$ select set_messaging_settings(null) $$, '22023', null, 'a null setting is refused');
select is((select keep_deleted_text from messaging_settings), true, 'and changes nothing');
select is((select count(*) from messaging_settings)::int, 1, 'the owner reads their own row');
reset role;
select is(pg_temp.delete('31111111-1111-4111-8111-111111111111', 'a') ->> 'applied', '1', 'a delete is applied');
select is(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'a') ->> 'content', 'third',
  'kept: the text stays');
select is(jsonb_array_length(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'a') #> '{metadata,versions}'),
  2, 'kept: the versions stay');
select is(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'a') #>> '{metadata,deleted}', 'true',
  'with the deleted marker');
select tests.authenticate_as('owner');
update messaging_settings set keep_deleted_text = false;
reset role;
select is(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'a') ->> 'content', null,
  'turned off (an update of the row): the kept text is erased');
select ok(not (pg_temp.stored('31111111-1111-4111-8111-111111111111', 'a') -> 'metadata' ? 'versions'),
  'and its versions');
select is(pg_temp.delete('31111111-1111-4111-8111-111111111111', 'b') ->> 'applied', '1', 'another delete');
select is(pg_temp.stored('31111111-1111-4111-8111-111111111111', 'b') ->> 'content', null,
  'erased (the setting off): no text');

-- ============================== other user =====================================
select tests.authenticate_as('other');
select is((select count(*) from messaging_settings)::int, 0, 'sees no one else''s settings');
update messaging_settings set keep_deleted_text = true where user_id = '31111111-1111-4111-8111-111111111111';
select is((set_messaging_settings(true)).user_id, '32222222-2222-4222-8222-222222222222'::uuid,
  'set_messaging_settings writes the caller''s own row');
reset role;
select is((select keep_deleted_text from messaging_settings where user_id = '31111111-1111-4111-8111-111111111111'),
  false, 'the other user changed nothing of the owner''s');

-- ============================== anon ===========================================
select tests.clear_authentication();
select throws_ok($$ select * from messaging_settings $$, '42501', null, 'anon cannot read settings');
select throws_ok($$ select set_messaging_settings(true) $$, '42501', null, 'anon cannot set them');

-- ============================== service_role ===================================
select tests.authenticate_as_service_role();
select is((select count(*) from messaging_settings)::int, 2, 'the service role reads every row');
select throws_ok($$ select set_messaging_settings(true) $$, '42501', null,
  'set_messaging_settings is for signed-in users (the service role writes the table)');

select * from finish();
rollback;
