-- The inbox preview of a deleted message is [deleted] (was [text] once its text was erased,
-- and the kept text itself for a user who keeps deleted text); an export's tombstone keeps
-- its words.

create or replace function messaging_private.preview(m jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select case
      -- a deleted message: its text is gone (or kept for the CRM user only: not a preview);
      -- an export's tombstone (no deleted_at) keeps its words
      when (m #> '{metadata,deleted}') = 'true'::jsonb
           and (m #> '{metadata,deleted_at}' is not null or pg_catalog.btrim(coalesce(m ->> 'content', '')) = '')
        then '[deleted]'
      when pg_catalog.btrim(coalesce(m ->> 'content', '')) <> '' then
        pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace(m ->> 'content', '\s+', ' ', 'g')), 100)
      -- an other names the platform's kind (a call line reads [call], not [other])
      when m ->> 'type' = 'other' and pg_catalog.btrim(coalesce(m -> 'metadata' ->> 'platform_kind', '')) <> '' then
        '[' || pg_catalog.left(pg_catalog.replace(pg_catalog.btrim(m -> 'metadata' ->> 'platform_kind'), '_', ' '), 60) || ']'
      else '[' || coalesce(m ->> 'type', 'message') || ']'
    end
  );
end;
$$;
comment on function messaging_private.preview(jsonb) is 'The inbox preview of a stored message: [deleted] for a deleted one (its text erased, or kept for the CRM user only); its text; for an other without text the platform''s kind ([call], [request welcome]); else [type] for media.';
