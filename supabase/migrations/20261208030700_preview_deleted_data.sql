-- The inbox preview of a deleted message is [deleted] (messaging_private.preview,
-- 20261208030627): conversations whose newest message was deleted get their preview again
-- (it read [text] once the text was erased). Nothing else changes.
update public.chat_conversations c
   set last_message_preview = messaging_private.preview(c.messages -> -1)
 where pg_catalog.jsonb_array_length(c.messages) > 0
   and (c.messages -> -1 #> '{metadata,deleted}') = 'true'::jsonb
   and messaging_private.preview(c.messages -> -1) is distinct from c.last_message_preview;
