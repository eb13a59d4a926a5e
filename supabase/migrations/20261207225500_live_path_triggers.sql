-- issues 27 and 31, session 8 (written by hand): the live call's speed won back.
-- Before live_path_functions, which declares the new bodies of the two trigger functions.

-- a conversation's change stamp: a writer that stamps the row in its own statement (the
-- ingest's insert and update) skips the trigger function; every other writer is stamped
drop trigger chat_conversations_stamp_change on public.chat_conversations;
create trigger chat_conversations_stamp_change
  before insert or update on public.chat_conversations
  for each row
  when (new.change_xid is distinct from pg_catalog.pg_current_xact_id()::text::bigint)
  execute function messaging_private.stamp_change_xid();

-- new conversations' names: one insert per statement (its transition table), not one per row
drop trigger chat_conversations_names_added on public.chat_conversations;
create trigger chat_conversations_names_added
  after insert on public.chat_conversations
  referencing new table as added
  for each statement execute function messaging_private.conversation_names_added();
