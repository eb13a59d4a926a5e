"""signal-cli's received messages: one JSON object per line, either the plain envelope of
`receive -o json` or the JSON-RPC `receive` notification of `daemon` / `jsonRpc` (and
signal-cli-rest-api in json-rpc mode); one file may mix them.

Incoming dataMessage, own messages from syncMessage.sentMessage; group updates are system
notices, shared contacts `contact`, polls `other`; receipts and typing are not messages.
Message ids are `author:sent timestamp`, and so are the ids replies point at; an author
named by service id (UUID) only is read as the number the same file gives that id.
Edits, remote deletes, reactions and poll votes are applied to the message of the file
they name, in the shapes the live path stores (messaging-ingest/signal.ts and
apply_update: `reactions`, `deleted`/`deleted_at`); an edit of a message the file does not
hold is sent as the edit (same id, newer edited_at) for the store to apply. Attachments
are named by the id signal-cli stores them under, with the original file name in metadata.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import IdentifierError
from ..identifiers import normalize_phone
from ..models import MAX_METADATA_LENGTH, Message, json_text_length
from . import ExportFormatError, ParsedChat, RereadSequence, participant_of, readable
from .limits import text_lines


class _LineError(ValueError):
    """What is wrong with one line; the caller adds the file and line number."""


def _ts(value: Any, field: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _LineError(f"{field} is missing or not a timestamp")
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise _LineError(f"{field} {value!r} is not a timestamp in milliseconds") from None


def _obj(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _LineError(f"{field} is not an object")
    return value


def _kind(data: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    attachments = data.get("attachments") or []
    if not isinstance(attachments, list):
        raise _LineError("attachments is not a list")
    for att in attachments:
        att = _obj(att, "attachments[]")
        ctype = str(att.get("contentType", ""))
        stored = att.get("id")
        meta = {"filename": str(att["filename"])} if att.get("filename") else {}
        if ctype:
            meta["content_type"] = ctype
        name = str(stored) if stored else None
        if att.get("voiceNote"):
            return "voice", name, meta
        for prefix, kind in (("image/", "image"), ("video/", "video"), ("audio/", "audio")):
            if ctype.startswith(prefix):
                return kind, name, meta
        return "document", name, meta
    if data.get("sticker"):
        return "sticker", None, {}
    contacts = data.get("contacts")
    if isinstance(contacts, list) and contacts:
        return "contact", None, {"contacts": [_contact(_obj(c, "contacts[]")) for c in contacts]}
    poll = data.get("pollCreate")
    if isinstance(poll, dict):
        options = poll["options"] if isinstance(poll.get("options"), list) else []
        return "other", None, {
            "signal_type": "poll", "poll_options": [str(o) for o in options],
            "allow_multiple": poll.get("allowMultiple") is True,
        }  # fmt: skip
    return "text", None, {}


def _contact(c: dict[str, Any]) -> dict[str, Any]:
    """A shared contact as {name, phones, organization} (what its card shows)."""
    name = _obj(c.get("name"), "contacts[].name")
    full = " ".join(str(name[k]) for k in ("given", "middle", "family") if name.get(k))
    phones = [
        str(p["value"]) for p in c.get("phone") or [] if isinstance(p, dict) and p.get("value")
    ]  # fmt: skip
    out: dict[str, Any] = {
        "name": full or str(name.get("nickname") or "") or None,
        "phones": phones,
    }
    if c.get("organization"):
        out["organization"] = str(c["organization"])
    return out


def _iso(ms: int) -> str:
    """Epoch milliseconds as the live path writes times (`...T22:15:20Z`, `.123Z` with ms)."""
    at = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    frac = f".{ms % 1000:03d}" if ms % 1000 else ""
    return at.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


class _Update(NamedTuple):
    """A change to a message of the file: delete, reaction, vote, close, edit."""

    kind: str
    target: str
    at: str
    actor: str | None = None
    value: Any = None


def _phone(value: Any) -> str | None:
    if not value:
        return None
    try:
        return normalize_phone(str(value))
    except IdentifierError:
        return str(value)


class _Ids:
    """Who is who in one file: service ids (UUIDs) mapped to the numbers the file gives them,
    so an edit, delete or reaction naming its author by service id only meets the message."""

    def __init__(self) -> None:
        self.numbers: dict[str, str] = {}

    def learn(self, o: dict[str, Any], prefix: str) -> None:
        number, uuid = o.get(f"{prefix}Number"), o.get(f"{prefix}Uuid")
        # normalised once per person, not per line
        if (
            isinstance(number, str)
            and number
            and isinstance(uuid, str)
            and uuid not in self.numbers
        ):
            self.numbers[uuid] = _phone(number) or number

    def of(self, o: dict[str, Any], prefix: str) -> str | None:
        given = o.get(f"{prefix}Number") or o.get(prefix)
        uuid = o.get(f"{prefix}Uuid")
        if isinstance(given, str) and given in self.numbers:  # `source` holding a service id
            return self.numbers[given]
        if given:
            return _phone(given)
        if isinstance(uuid, str) and uuid:
            return self.numbers.get(uuid, uuid)
        return None


_E164 = re.compile(r"^\+[1-9][0-9]{5,14}$")
_SERVICE_ID = re.compile(r"^(?:(ACI|PNI):)?[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.I)


def _peer_ids(holder: dict[str, Any], outbound: bool, peer: str | None) -> dict[str, str] | None:
    """The other party's service id (ACI, or a PNI) and number as participant_ids: a new
    number under the same service id is an alias of the same conversation."""
    uuid = holder.get("destinationUuid" if outbound else "sourceUuid")
    ids: dict[str, str] = {}
    if isinstance(uuid, str) and (found := _SERVICE_ID.match(uuid)):
        ids["signal_pni" if (found.group(1) or "").upper() == "PNI" else "signal_aci"] = uuid
    if peer and _E164.match(peer):  # (a number the file redacts is no phone: left out)
        ids["phone"] = peer
    return ids or None


def _message(
    env: dict[str, Any], account: str | None, ids: _Ids
) -> tuple[dict[str, Any], bool, str | None, str | None, datetime | None] | None:
    """(data, outbound, author, peer, edited_at) of an envelope that carries a message."""
    author = ids.of(env, "source")
    if "dataMessage" in env:
        return _obj(env["dataMessage"], "dataMessage"), False, author, author, None
    if "editMessage" in env:
        edit = _obj(env["editMessage"], "editMessage")
        if "targetSentTimestamp" not in edit:
            raise _LineError("editMessage has no targetSentTimestamp (which message it edits)")
        data = {**_obj(edit.get("dataMessage"), "editMessage.dataMessage")}
        data["timestamp"] = edit["targetSentTimestamp"]
        return data, False, author, author, _ts(env.get("timestamp"), "timestamp")
    sync = _obj(env.get("syncMessage"), "syncMessage")
    if "sentMessage" in sync:
        data = _obj(sync["sentMessage"], "syncMessage.sentMessage")
        return data, True, _phone(account) or author, ids.of(data, "destination"), None
    return None  # receipts, typing, calls


#: the keys of a dataMessage that change earlier messages (the cheap check, made first)
_CHANGES = frozenset(("reaction", "remoteDelete", "pollVote", "pollTerminate"))


def _updates(
    data: dict[str, Any], author: str, env: dict[str, Any], ids: _Ids
) -> list[_Update] | None:
    """The changes a message makes to earlier ones (None: it is no such change)."""
    when = _ts(env.get("timestamp") or data.get("timestamp"), "timestamp")
    at = _iso(round(when.timestamp() * 1000))
    if isinstance(data.get("reaction"), dict):
        r = data["reaction"]
        target = ids.of(r, "targetAuthor")
        if target is None or r.get("targetSentTimestamp") is None:
            raise _LineError("reaction names no targetAuthor or targetSentTimestamp")
        ts = _ts(r["targetSentTimestamp"], "reaction.targetSentTimestamp")
        emoji = None if r.get("isRemove") is True else r.get("emoji")
        if emoji is not None and not isinstance(emoji, str):
            raise _LineError("reaction.emoji is not text")
        return [_Update("reaction", f"{target}:{round(ts.timestamp() * 1000)}", at, author, emoji)]
    if isinstance(data.get("remoteDelete"), dict):
        ts = _ts(data["remoteDelete"].get("timestamp"), "remoteDelete.timestamp")
        return [_Update("delete", f"{author}:{round(ts.timestamp() * 1000)}", at)]
    if isinstance(data.get("pollVote"), dict):
        v = data["pollVote"]
        target = ids.of(v, "author")
        options = v.get("optionIndexes") if isinstance(v.get("optionIndexes"), list) else []
        return [_Update("vote", f"{target}:{v.get('targetSentTimestamp')}", at, author, options)]
    if isinstance(data.get("pollTerminate"), dict):
        ts = data["pollTerminate"].get("targetSentTimestamp")
        return [_Update("close", f"{author}:{ts}", at)]
    return None


def _one(
    env: dict[str, Any], account: str | None, ids: _Ids, updates: list[_Update]
) -> Message | None:
    found = _message(env, account, ids)
    if found is None:
        return None
    data, outbound, author, peer, edited_at = found
    if author is None:
        raise _LineError("no sourceNumber, source or sourceUuid: who sent it?")
    changes = _updates(data, author, env, ids) if _CHANGES.intersection(data) else None
    if changes is not None:
        updates.extend(changes)
        return None
    group_info = _obj(data.get("groupInfo"), "groupInfo")
    group = group_info.get("groupId")
    text = data.get("message")
    if text is not None and not isinstance(text, str):
        raise _LineError("message is not text")
    kind, media, meta = _kind(data)
    if kind == "contact" and not text:
        text = "; ".join(
            " ".join(x for x in (c["name"], *c["phones"][:1]) if x) for c in meta["contacts"]
        )  # fmt: skip
    if kind == "other" and not text:
        question = _obj(data.get("pollCreate"), "pollCreate").get("question")
        text = str(question) if question else None
    if kind == "text" and not text:
        if group and str(group_info.get("type", "")).upper() == "UPDATE":
            kind, text = "system", "Group updated"
            if group_info.get("groupName"):
                text += f": {group_info['groupName']}"
        else:
            return None  # nothing to show (a profile key update, an expiry timer, ...)
    if "timestamp" not in data:
        raise _LineError("the message has no timestamp")
    sent = _ts(data["timestamp"], "timestamp")
    if not group and not peer:
        raise _LineError("no destination: whom was it sent to?")
    conv = f"group:{group}" if group else str(peer)
    quote = _obj(data.get("quote"), "quote")
    reply_to = None
    if quote.get("id") is not None:
        quoted_author = ids.of(quote, "author")
        reply_to = f"{quoted_author}:{quote['id']}" if quoted_author else None
        if reply_to is None:
            meta["reply_to_timestamp"] = quote["id"]
    name = env.get("sourceName")
    return Message(
        platform="signal",
        external_conversation_id=conv,
        participant_identifier=None if group else peer,
        participant_ids=None if group else _peer_ids(data if outbound else env, outbound, peer),
        participant_name=(str(group_info["groupName"]) if group_info.get("groupName") else None)
        if group else (None if outbound or not name else str(name)),
        conversation_type="group" if group else "direct",
        id=f"{author}:{int(data['timestamp'])}",
        direction="outbound" if outbound else "inbound",
        type=kind,
        content=text or None,
        media_url=media,
        sent_at=sent,
        edited_at=edited_at,
        sender_identifier=str(author),
        sender_name=None if outbound or not name else str(name),
        reply_to_id=reply_to,
        metadata=meta or None,
    )  # fmt: skip


def _envelope(obj: Any) -> tuple[dict[str, Any], str | None]:
    """The envelope and account of a line: a plain `{"envelope", "account"}` object or a
    JSON-RPC receive notification (params, or params.result with --receive-mode=manual)."""
    if not isinstance(obj, dict):
        raise _LineError("not a signal-cli envelope")
    params = obj
    if "jsonrpc" in obj or "method" in obj:
        if obj.get("method") != "receive":
            raise _LineError(
                f"a JSON-RPC {obj.get('method')!r} message, not a receive notification"
                if "method" in obj else "a JSON-RPC answer, not a receive notification"
            )  # fmt: skip
        params = _obj(obj.get("params"), "params")
        if "envelope" not in params and isinstance(params.get("result"), dict):
            params = params["result"]
    env = params.get("envelope")
    if not isinstance(env, dict):
        raise _LineError("not a signal-cli envelope")
    account = params.get("account")
    return env, account if isinstance(account, str) and account else None


_NAMED = (("quote", "author"), ("reaction", "targetAuthor"), ("pollVote", "author"))


def _learn(env: dict[str, Any], ids: _Ids) -> None:
    """What a line tells of who is who; cheap when it tells nothing new (most lines)."""
    uuid = env.get("sourceUuid")
    if not isinstance(uuid, str) or uuid not in ids.numbers:
        ids.learn(env, "source")
    sync = env.get("syncMessage")
    for part in (
        env.get("dataMessage"),
        sync.get("sentMessage") if isinstance(sync, dict) else None,
    ):
        if not isinstance(part, dict):
            continue
        uuid = part.get("destinationUuid")
        if not isinstance(uuid, str) or uuid not in ids.numbers:
            ids.learn(part, "destination")
        for key, prefix in _NAMED:
            if isinstance(part.get(key), dict):
                ids.learn(part[key], prefix)


def _apply(messages: list[Message], updates: list[_Update]) -> int:
    """Edits, deletions, reactions and poll votes applied to the file's messages, as the
    store applies them (newest reaction or vote per person wins; a deletion marks the message
    and leaves erasing its text to the store, which follows the user's delete setting).
    Returns how many named no message of the file."""
    where: dict[str, list[int]] = {}
    for i, m in enumerate(messages):
        where.setdefault(m.id, []).append(i)
    missing = 0
    for u in sorted(updates, key=lambda u: u.at):
        found = where.get(u.target)
        if not found:
            missing += 1
            continue
        for i in found:
            m = messages[i]
            meta = dict(m.metadata or {})
            change: dict[str, Any] = {}
            if u.kind == "delete" and not meta.get("deleted"):
                # the text goes with the message: the store erases it (and its versions)
                # unless the user keeps deleted text (messaging_settings), as for a live delete
                meta.update(deleted=True, deleted_at=u.at)
            elif u.kind in ("reaction", "vote"):
                key, field = (
                    ("reactions", "emoji") if u.kind == "reaction" else ("poll_votes", "options")
                )
                meta[key] = {**meta.get(key, {}), str(u.actor): {field: u.value, "at": u.at}}
            elif u.kind == "close":
                meta["poll_closed_at"] = u.at
            messages[i] = m.model_copy(update={**change, "metadata": meta or None})
    return missing


#: the earlier versions an edited message keeps (the store's cap, docs/contract.md)
VERSIONS_MAX = 20


def _versions(old: Message, new: Message) -> dict[str, Any]:
    """The metadata.versions (and versions_dropped) of `new` replacing `old`: old's, with
    old's text and its time added when the edit changes the text, the newest VERSIONS_MAX
    kept, as the store records an edit it applies."""
    meta = old.metadata or {}
    versions = list(meta.get("versions") or [])
    dropped = int(meta.get("versions_dropped") or 0)
    if old.content != new.content:
        written = old.edited_at or old.sent_at
        versions.append({"content": old.content, "at": _iso(round(written.timestamp() * 1000))})
    if len(versions) > VERSIONS_MAX:
        dropped += len(versions) - VERSIONS_MAX
        versions = versions[-VERSIONS_MAX:]
    out: dict[str, Any] = {"versions": versions} if versions else {}
    if dropped:
        out["versions_dropped"] = dropped
    return out


def _fits(meta: dict[str, Any]) -> dict[str, Any]:
    """metadata whose versions, oldest first, are dropped (and counted in versions_dropped)
    until it fits the contract's metadata length, so long edited texts never cost the message."""
    versions = list(meta.get("versions") or [])
    dropped = int(meta.get("versions_dropped") or 0)
    while versions and json_text_length(meta) > MAX_METADATA_LENGTH:
        versions.pop(0)
        dropped += 1
        meta = {**meta, "versions": versions, "versions_dropped": dropped}
        if not versions:
            del meta["versions"]
    return meta


def _fold_edits(messages: list[Message]) -> list[Message]:
    """An edit of a message the file holds replaces its text and media in place (newest edit
    wins), keeping its sender, time and metadata, and the replaced texts as versions (in
    time order, as the store keeps them); an edit of a message not in the file stays an edit
    for the store to apply."""
    first: dict[str, int] = {}
    out: list[Message] = []
    # (in edit time order, so each replaced text is the one before it)
    order = sorted(
        range(len(messages)), key=lambda i: (i > 0, messages[i].edited_at or messages[i].sent_at)
    )
    for m in (messages[i] for i in order):
        at = first.get(m.id)
        if at is None:
            first[m.id] = len(out)
            out.append(m)
            continue
        old = out[at]
        if m.edited_at is None:
            continue  # the same message again
        if old.edited_at is not None and old.edited_at >= m.edited_at:
            continue
        keep = old if old.edited_at is None or old.sender_name else m
        out[at] = old.model_copy(update={
            "type": m.type, "content": m.content, "media_url": m.media_url,
            "edited_at": m.edited_at, "sender_name": old.sender_name or keep.sender_name,
            "metadata": _fits({**(old.metadata or {}), **(m.metadata or {}), **_versions(old, m)}) or None,
        })  # fmt: skip
    return out


_Line = tuple[int, dict[str, Any], str | None]


class SignalExport(RereadSequence):
    """The messages of a signal-cli file, read line by line on each iteration (never whole).

    The constructor reads the file three times: who is who and the account (the ids a
    later line gives apply to earlier ones), then the account's own service id, then every
    message, keeping only what a message needs from the rest of the file: its edits, the
    updates naming it, its group's name. Iterating reads it once more and yields each
    message with those applied, as the whole-file fold did."""

    def __init__(self, path: Path, participant: str | None) -> None:
        self.path = path
        self.account: str | None = None
        self.ids = ids = _Ids()
        for _n, env, given in self._lines():
            _learn(env, ids)
            self.account = self.account or given
        if self.account is not None:
            for _n, env, _g in self._lines():
                if (env.get("sourceNumber") or env.get("source")) == self.account:
                    ids.learn(env, "source")
        #: per message id: its edits (line, message) after the first; updates; group names
        self.edits: dict[str, list[tuple[int, Message]]] = {}
        self.updates: dict[str, list[_Update]] = {}
        self.names: dict[str, str] = {}
        first: dict[str, int] = {}
        direct: set[str] = set()
        updates: list[_Update] = []
        for n, message in self._messages(updates):
            if message.id in first:
                if message.edited_at is not None:
                    self.edits.setdefault(message.id, []).append((n, message))
                continue
            first[message.id] = n
            if message.conversation_type == "group" and message.participant_name:
                self.names[message.external_conversation_id] = message.participant_name
            if message.conversation_type == "direct":
                direct.add(message.external_conversation_id)
        missing = 0
        for u in updates:
            if u.target in first:
                self.updates.setdefault(u.target, []).append(u)
            else:
                missing += 1
        self.notes = []
        if missing:
            self.notes.append(
                f"{missing} update(s) (deletions, reactions, poll votes) name messages not in"
                " this file: not applied"
            )
        self.total = len(first)
        self.wanted = None
        if participant is not None:
            if len(direct) != 1:
                raise ExportFormatError(
                    f"{path}: --participant names the other party of one direct conversation;"
                    f" this file holds {len(direct)}"
                )
            self.wanted = participant_of(participant)

    def _lines(self) -> Iterator[_Line]:
        """Each envelope of the file with its line number and the account the line names."""
        with text_lines(self.path) as lines:
            for n, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ExportFormatError(
                        f"{self.path}:{n}: not a JSON line ({exc.msg})"
                    ) from None
                except RecursionError:
                    raise ExportFormatError(f"{self.path}:{n}: JSON nested too deeply") from None
                try:
                    env, given = _envelope(obj)
                except _LineError as exc:
                    raise ExportFormatError(f"{self.path}:{n}: {exc}") from None
                yield n, env, given

    def _messages(self, updates: list[_Update]) -> Iterator[tuple[int, Message]]:
        """Each line's message as the line alone says it; the updates go to `updates`."""
        for n, env, given in self._lines():
            try:
                message = _one(env, given or self.account, self.ids, updates)
            except _LineError as exc:
                raise ExportFormatError(f"{self.path}:{n}: {exc}") from None
            if message is not None:
                yield n, message

    def __iter__(self) -> Iterator[Message]:
        done: set[str] = set()
        for n, message in self._messages([]):
            if message.id in done:
                continue  # folded into its first line
            done.add(message.id)
            edits = [m for line, m in self.edits.get(message.id, ()) if line != n]
            if edits:
                message = _fold_edits([message, *edits])[0]
            if message.id in self.updates:
                folded = [message]
                _apply(folded, self.updates[message.id])
                message = folded[0]
            # a group's name comes with its updates only: every message of the group carries it
            if not message.participant_name and message.external_conversation_id in self.names:
                name = self.names[message.external_conversation_id]
                message = message.model_copy(update={"participant_name": name})
            if self.wanted is not None and message.conversation_type == "direct":
                message = message.model_copy(update={"participant_identifier": self.wanted})
            yield message


@readable
def parse_signal(path: Path, *, participant: str | None = None, **_: Any) -> ParsedChat:
    """The lines of `signal-cli receive -o json`, or of its JSON-RPC `receive` notifications,
    streamed (SignalExport). `participant` (a phone or a username) names the other party
    when the file holds one direct conversation."""
    export = SignalExport(Path(path), participant)
    return ParsedChat(
        "signal", export, account_identifier=_phone(export.account), notes=export.notes
    )
