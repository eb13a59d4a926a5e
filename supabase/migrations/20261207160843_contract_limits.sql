-- 0.2.0 -> next: the limits that lived in code as contract rows (written by hand; the
-- functions that read them are re-declared in the next migration).
insert into messaging_private.contract_limits (name, value, unit, description) values
  ('page_max_messages', 1000, 'messages',
   'Most messages one page of get_conversation_messages or get_conversation_messages_after returns (max_count).'),
  ('search_max_hits', 500, 'hits', 'Most hits one search_messages call returns (max_count).'),
  ('app_body_bytes', 9437184, 'bytes',
   'Largest JSON body the messaging-ingest function reads on its app route (413 past it); the Python client keeps its batches 1 MiB below it.'),
  ('webhook_body_bytes', 1048576, 'bytes',
   'Largest webhook body the messaging-ingest function reads (413 past it); every platform''s deliveries are far smaller.');
