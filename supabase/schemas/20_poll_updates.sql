-- =============================================================================
-- Poll updates: votes and later counts applied to the poll message
--
-- Two update kinds (checked in check_updates, applied in apply_update,
-- 21_webhook_updates.sql): `vote` (a voter's choice: metadata.poll_votes[voter] =
-- {options, at}, the shape the signal-cli importer writes; the newest vote per voter
-- wins, an empty list is a vote taken back) and `poll` (the platform's later state:
-- options with their counts, total_votes, closed; a poll once closed stays closed). Both
-- name the poll message by conversation and id, or by `poll_id` alone (Telegram), which
-- poll_messages (15_pending_updates.sql) turns into the message.
-- =============================================================================

create or replace function messaging_private.poll_update_error(u jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
-- What a vote or poll update breaks, or any update naming a poll_id where it may not (null
-- when it is right).
begin
  if u ? 'poll_id' and (u ->> 'kind' not in ('vote', 'poll') or u ? 'id' or coalesce(u ->> 'poll_id', '') = '') then
    return 'poll_id: a non-empty string naming the poll instead of external_conversation_id and id (vote and poll only)';
  end if;
  if u ->> 'kind' = 'vote' then
    if coalesce(u ->> 'voter', '') = '' then
      return 'voter: required';
    end if;
    if pg_catalog.jsonb_typeof(u -> 'options') is distinct from 'array'
       or pg_catalog.jsonb_array_length(u -> 'options') > 100
       or u -> 'options' @? '$[*] ? (@.type() != "number" || @ < 0 || @ > 1000 || @.floor() != @)' then
      return 'options: required, an array of at most 100 option indexes (0-based integers; empty: the vote taken back)';
    end if;
  elsif u ->> 'kind' = 'poll' then
    if pg_catalog.jsonb_typeof(u -> 'poll') is distinct from 'object' then
      return 'poll: required, an object {options?, total_votes?, closed?}';
    end if;
    if u -> 'poll' ? 'options' and (pg_catalog.jsonb_typeof(u -> 'poll' -> 'options') <> 'array'
       or u -> 'poll' -> 'options' @? '$[*] ? (@.type() != "object" || @.text.type() != "string" || @.votes.type() != "number")') then
      return 'poll.options: must be an array of {text, votes}';
    end if;
    if u -> 'poll' ? 'total_votes' and pg_catalog.jsonb_typeof(u -> 'poll' -> 'total_votes') <> 'number' then
      return 'poll.total_votes: must be a number';
    end if;
    if u -> 'poll' ? 'closed' and pg_catalog.jsonb_typeof(u -> 'poll' -> 'closed') <> 'boolean' then
      return 'poll.closed: must be true or false';
    end if;
  end if;
  return null;
end;
$$;
comment on function messaging_private.poll_update_error(jsonb) is
  'The rule a vote update (voter, options as 0-based indexes) or poll update (poll: options with votes, total_votes, closed) breaks, or null.';
revoke all on function messaging_private.poll_update_error(jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.apply_poll_update(meta jsonb, u jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
-- A stored message's metadata after a vote or poll update, or null when it changes nothing
-- (an older or repeated vote, an older count).
declare
  v_old jsonb;
  v_poll jsonb := coalesce(meta -> 'poll', '{}'::jsonb);
begin
  if u ->> 'kind' = 'vote' then
    v_old := meta -> 'poll_votes' -> (u ->> 'voter');
    if v_old is not null and (v_old ->> 'at')::timestamptz >= (u ->> 'at')::timestamptz then
      return null;  -- an older vote, or the same one delivered again
    end if;
    return pg_catalog.jsonb_set(meta, '{poll_votes}', coalesce(meta -> 'poll_votes', '{}'::jsonb)
      || pg_catalog.jsonb_build_object(u ->> 'voter',
           pg_catalog.jsonb_build_object('options', u -> 'options', 'at', u ->> 'at')));
  end if;
  if (v_poll ->> 'counted_at')::timestamptz > (u ->> 'at')::timestamptz then
    return null;  -- counts older than the ones stored
  end if;
  v_poll := v_poll
    || (select coalesce(pg_catalog.jsonb_object_agg(k.key, k.value), '{}'::jsonb)
          from pg_catalog.jsonb_each(u -> 'poll') k where k.key in ('options', 'total_votes'))
    || pg_catalog.jsonb_build_object('counted_at', u ->> 'at',
         'closed', coalesce((v_poll ->> 'closed')::boolean, false) or coalesce((u -> 'poll' ->> 'closed')::boolean, false));
  if v_poll - 'counted_at' = coalesce(meta -> 'poll', '{}'::jsonb) - 'counted_at' then
    return null;
  end if;
  return meta || pg_catalog.jsonb_build_object('poll', v_poll);
end;
$$;
comment on function messaging_private.apply_poll_update(jsonb, jsonb) is
  'Metadata after a vote (poll_votes[voter] = {options, at}, newest wins) or poll update (poll.options / total_votes replaced, closed kept once true, counted_at), or null when nothing changes.';
revoke all on function messaging_private.apply_poll_update(jsonb, jsonb) from public, anon, authenticated, service_role;

create or replace function messaging_private.poll_target(owner uuid, u jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
-- An update naming a poll id only, with the conversation and id of the poll's stored
-- message; the update itself when it names its message; null when the poll is unknown.
declare
  v_at record;
begin
  if u ->> 'id' is not null or u ->> 'poll_id' is null then
    return u;
  end if;
  select p.external_conversation_id, p.message_id into v_at
    from messaging_private.poll_messages p
   where p.user_id = owner and p.platform = u ->> 'platform' and p.poll_id = u ->> 'poll_id';
  if not found then
    return null;
  end if;
  return u || pg_catalog.jsonb_build_object('external_conversation_id', v_at.external_conversation_id, 'id', v_at.message_id);
end;
$$;
comment on function messaging_private.poll_target(uuid, jsonb) is
  'A vote or poll update naming only poll_id, completed with its poll message''s conversation and id (poll_messages); null when no stored poll has that id.';
revoke all on function messaging_private.poll_target(uuid, jsonb) from public, anon, authenticated, service_role;
