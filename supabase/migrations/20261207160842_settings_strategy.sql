-- 0.2.0 -> next: the ingest's strategy thresholds as settings
-- (messaging_private.settings.strategy). Written by hand; the functions that read them
-- follow in the next migration.

alter table messaging_private.settings add column strategy boolean not null default false;
alter table messaging_private.settings
  drop constraint settings_value_check,
  add constraint settings_value_check check (value > 0 or strategy);
comment on column messaging_private.settings.strategy is
  'The setting only chooses between two paths that give the same answers (a size past which a batch takes another path): 0 and 2147483647 force one path or the other, and the tests run both.';

insert into messaging_private.settings (key, value, strategy, description) values
  ('ingest_few_messages', 20, true,
   'A conversation''s part of a call with at most this many messages takes the live path: its stored copies are looked up per id first, and a part with none stored skips the dedupe query.'),
  ('ingest_unchanged_past_messages', 20, true,
   'A call of more messages than this is first checked for changing nothing (ingest_unchanged: an export sent again is answered without a write).'),
  ('ingest_repeats_past_conversations', 16, true,
   'A call into more existing conversations than this counts the ones it only repeats at once (ingest_repeats) before the per-conversation work.');
update messaging_private.settings set strategy = true where key = 'search_dense_segments';
insert into messaging_private.settings (key, value, strategy, description) values
  ('index_probe_max_conversations', 64, true,
   'An ingest call into at most this many conversations counts each one''s open search segments through their partial index; a larger one joins the owner''s open segments at once.');
