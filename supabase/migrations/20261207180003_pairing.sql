-- Issue 30, item 4 and the edit-time cap of item 5 (hand-written: the rows; the functions
-- are in the pairing_functions migration drafted by `make migration`).
--
-- The allowance of an edit time past the database's clock: ingest_groups stores a later
-- edited_at as the time the edit arrived (metadata.edited_at_given keeps the one given).
insert into messaging_private.contract_limits (name, value, unit, description) values
  ('edit_future_seconds', 120, 'seconds',
   'How far past the database''s clock an edited_at is stored as given; a later one is stored as the time the edit arrived (metadata.edited_at_given keeps it), so a clock ahead never outranks the real later edits.');

