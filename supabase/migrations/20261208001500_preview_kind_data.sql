-- The inbox preview of an other without text names the platform's kind ([call], not
-- [other]; messaging_private.preview, 20261208001129): conversations whose newest message
-- is such a one get their preview again. Nothing else changes.
update public.chat_conversations c
   set last_message_preview = messaging_private.preview(c.messages -> -1)
 where c.last_message_preview = '[other]'
   and pg_catalog.jsonb_array_length(c.messages) > 0
   and messaging_private.preview(c.messages -> -1) is distinct from '[other]';
