// signal-cli JSON-RPC `receive` notifications ({"jsonrpc": "2.0", "method": "receive",
// "params": {"envelope": ..., "account": ...}}), one or a JSON array of them, or the bare
// {"envelope", "account"} objects of `signal-cli receive -o json`. Authenticated by
// `Authorization: Bearer <token>`. Ids follow the importer's scheme (`<author>:<sent
// timestamp>`), conversations are the peer's number or `group:<groupId>`.

import { type Adapter, parseJson } from "./adapter.ts";
import { json } from "./answers.ts";
import { safeEqualString } from "./crypto.ts";
import { participantIds } from "./participant_ids.ts";
import {
  compact,
  type Delivery,
  fromEpochMillis,
  type IngestMessage,
  isObject,
  mapItem,
  type MessageType,
  type MessageUpdate,
  optionalString,
  type Refusal,
  requireObject,
  requireString,
  ShapeError,
} from "./types.ts";

export function verifyBearer(header: string | null, token: string | undefined): boolean {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return safeEqualString(m ? m[1] : null, token);
}

/** Every attachment as {id, filename, content_type, size, ...}: what its card shows. */
function attachmentList(data: Record<string, unknown>): Record<string, unknown>[] {
  const attachments = Array.isArray(data.attachments) ? data.attachments : [];
  return attachments.filter(isObject).map((a) =>
    compact({
      id: optionalString(a.id),
      filename: optionalString(a.filename),
      content_type: optionalString(a.contentType),
      size: typeof a.size === "number" && Number.isFinite(a.size) ? a.size : undefined,
      caption: optionalString(a.caption),
      width: typeof a.width === "number" ? a.width : undefined,
      height: typeof a.height === "number" ? a.height : undefined,
      voice_note: a.voiceNote === true ? true : undefined,
    })
  );
}

/** The message type of the first attachment (the importer's rule) and its stored name. */
function attachmentKind(data: Record<string, unknown>): { type: MessageType; media?: string } {
  const attachments = Array.isArray(data.attachments) ? data.attachments : [];
  for (const a of attachments) {
    if (!isObject(a)) continue;
    const ctype = String(a.contentType ?? "");
    const media = optionalString(a.filename) ?? optionalString(a.id);
    if (a.voiceNote === true) return { type: "voice", media };
    if (ctype.startsWith("image/")) return { type: "image", media };
    if (ctype.startsWith("video/")) return { type: "video", media };
    if (ctype.startsWith("audio/")) return { type: "audio", media };
    return { type: "document", media };
  }
  if (data.sticker !== undefined && data.sticker !== null) return { type: "sticker" };
  return { type: "text" };
}

function author(o: Record<string, unknown>, prefix = "source"): string | undefined {
  return optionalString(o[`${prefix}Number`]) ?? optionalString(o[prefix]) ?? optionalString(o[`${prefix}Uuid`]);
}

/** A peer's service id and number as participant_ids (the UUID of sourceUuid is its ACI). */
function peerServiceIds(o: Record<string, unknown>, prefix: string): ReturnType<typeof participantIds> {
  const uuid = optionalString(o[`${prefix}Uuid`]);
  const pni = uuid?.toUpperCase().startsWith("PNI:");
  return participantIds([
    [pni ? "signal_pni" : "signal_aci", uuid],
    ["phone", optionalString(o[`${prefix}Number`])],
  ]);
}

function envelopes(payload: unknown): { envelope: Record<string, unknown>; account?: string; path: string }[] {
  const items = Array.isArray(payload) ? payload : [payload];
  if (items.length === 0) throw new ShapeError("body: an empty array");
  return items.map((item, i) => {
    const path = Array.isArray(payload) ? `[${i}]` : "body";
    const obj = requireObject(item, path);
    let params = obj;
    if (obj.jsonrpc !== undefined || obj.method !== undefined) {
      if (obj.method !== "receive") throw new ShapeError(`${path}.method: must be "receive"`);
      params = requireObject(obj.params, `${path}.params`);
    }
    return {
      envelope: requireObject(params.envelope, `${path}.envelope`),
      account: optionalString(params.account),
      path,
    };
  });
}

/**
 * Maps the notifications (docs/kinds.md, Signal); typing indicators map to nothing. The
 * connection's account is the account: a notification naming another (`params.account`) is
 * refused, and an envelope the mapping cannot read is refused alone (both in `refused`).
 */
export function mapSignal(payload: unknown, connectionAccount?: string): Delivery {
  const refused: Refusal[] = [];
  const delivery: Delivery = { messages: [], updates: [], refused };
  for (const { envelope, account: given, path } of envelopes(payload)) {
    if (given !== undefined && connectionAccount !== undefined && given.trim() !== connectionAccount.trim()) {
      refused.push({
        path: `${path}.account`,
        kind: "account_mismatch",
        reason: `account ${JSON.stringify(given)} is not this connection's account`,
      });
      continue;
    }
    mapItem(refused, `${path}.envelope`, () => mapEnvelope(delivery, envelope, connectionAccount ?? given));
  }
  return delivery;
}

/** The dataMessage keys this mapping reads; any other key with a value is a kind it does not know. */
const KNOWN_DATA = new Set([
  "timestamp",
  "message",
  "expiresInSeconds",
  "isExpirationUpdate",
  "viewOnce",
  "reaction",
  "quote",
  "mentions",
  "previews",
  "attachments",
  "sticker",
  "remoteDelete",
  "adminDelete",
  "contacts",
  "textStyles",
  "groupInfo",
  "storyContext",
  "pollCreate",
  "pollVote",
  "pollTerminate",
  "pinMessage",
  "unpinMessage",
  "destination",
  "destinationNumber",
  "destinationUuid",
  "editMessage",
  "recipients",
  "isUnidentified",
  "expirationStartTimestamp",
  "profileKey",
  "hasProfileKey",
  "endSession",
  "isProfileKeyUpdate",
]);

/** Envelope keys that carry no message: who sent it, when, through what. */
const ENVELOPE_PLUMBING = new Set([
  "source",
  "sourceNumber",
  "sourceUuid",
  "sourceName",
  "sourceDevice",
  "timestamp",
  "serverReceivedTimestamp",
  "serverDeliveredTimestamp",
  "relay",
  "isUnidentifiedSender",
  "destination",
  "destinationNumber",
  "destinationUuid",
  "urgent",
  "story",
  "dataMessage",
  "editMessage",
  "syncMessage",
  "receiptMessage",
  "typingMessage",
  "callMessage",
]);

/** "1 week", "8 hours", ... of a disappearing-messages timer. */
export function timerText(seconds: number): string {
  if (!(seconds > 0)) return "Disappearing messages turned off";
  const units: [number, string][] = [[604800, "week"], [86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  const [size, unit] = units.find(([n]) => seconds % n === 0) ?? [1, "second"];
  const n = seconds / size;
  return `Disappearing messages set to ${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** The text with signal-cli's mention placeholders (U+FFFC) written as @name, and the mentions as entities. */
function resolveMentions(
  text: string | undefined,
  mentions: unknown,
): { text: string | undefined; entities?: Record<string, unknown>[] } {
  if (!Array.isArray(mentions) || mentions.length === 0) return { text };
  const list = mentions.filter(isObject)
    .filter((m) => typeof m.start === "number" && typeof m.length === "number")
    .sort((a, b) => (a.start as number) - (b.start as number));
  const entities: Record<string, unknown>[] = [];
  let out = "";
  let at = 0;
  for (const m of list) {
    const start = m.start as number;
    const length = m.length as number;
    const who = optionalString(m.name) ?? optionalString(m.number) ?? optionalString(m.uuid) ?? "?";
    const base = compact({
      type: "mention",
      name: optionalString(m.name),
      number: optionalString(m.number),
      uuid: optionalString(m.uuid),
    });
    if (text === undefined || start < at || start + length > text.length) {
      entities.push(base);
      continue;
    }
    out += text.slice(at, start);
    const label = `@${who}`;
    entities.push({ ...base, offset: out.length, length: label.length });
    out += label;
    at = start + length;
  }
  return { text: text === undefined ? undefined : out + text.slice(at), entities };
}

/** A shared contact as {name, phones, emails, organization} (the importer's card, and its emails). */
function sharedContact(c: Record<string, unknown>): Record<string, unknown> {
  const name = isObject(c.name) ? c.name : {};
  const full = ["given", "middle", "family"].map((k) => optionalString(name[k])).filter(Boolean).join(" ");
  const values = (list: unknown) =>
    Array.isArray(list) ? list.filter(isObject).map((p) => optionalString(p.value)).filter((v) => v !== undefined) : [];
  return compact({
    name: optionalString(name.display) ?? (full || optionalString(name.nickname)),
    phones: values(c.phone),
    emails: values(c.email),
    organization: optionalString(c.organization),
  });
}

function millis(v: unknown): string | undefined {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0
    ? String(v)
    : typeof v === "string" && /^\d{1,16}$/.test(v)
    ? v
    : undefined;
}

function mapEnvelope(delivery: Delivery, env: Record<string, unknown>, account: string | undefined): void {
  const source = author(env);
  const envTime = fromEpochMillis(env.timestamp, "envelope.timestamp");
  let data: Record<string, unknown>;
  let outbound = false;
  let peer: string | undefined;
  let from = source;
  let editedAt: string | undefined;
  let sentMs: unknown;
  const sync = isObject(env.syncMessage) ? env.syncMessage : undefined;
  if (isObject(env.dataMessage)) {
    data = env.dataMessage;
    peer = source;
    sentMs = data.timestamp;
  } else if (isObject(env.editMessage)) {
    data = requireObject(env.editMessage.dataMessage, "envelope.editMessage.dataMessage");
    peer = source;
    sentMs = env.editMessage.targetSentTimestamp;
    editedAt = fromEpochMillis(data.timestamp ?? env.timestamp, "envelope.editMessage.dataMessage.timestamp");
  } else if (sync && isObject(sync.sentMessage)) {
    const sent = sync.sentMessage;
    outbound = true;
    from = account ?? source;
    if (isObject(sent.editMessage)) {
      // an edit made on the account's phone: the same id as the message it edits
      data = { ...requireObject(sent.editMessage.dataMessage, "syncMessage.sentMessage.editMessage.dataMessage") };
      for (const k of ["destination", "destinationNumber", "destinationUuid"]) data[k] ??= sent[k];
      sentMs = sent.editMessage.targetSentTimestamp;
      editedAt = fromEpochMillis(
        data.timestamp ?? sent.timestamp ?? env.timestamp,
        "syncMessage.sentMessage.editMessage.dataMessage.timestamp",
      );
    } else {
      data = sent;
      sentMs = data.timestamp;
    }
    peer = author(data, "destination") ?? author(sent, "destination");
  } else if (isObject(env.receiptMessage)) {
    mapReceipt(delivery, env, env.receiptMessage, source, account, envTime);
    return;
  } else if (isObject(env.callMessage)) {
    mapCall(delivery, env, env.callMessage, source, envTime);
    return;
  } else {
    // typing indicators say nothing to keep; a sync of the account's own reads, contacts,
    // blocks, ... is the phone's bookkeeping; anything else is a kind this mapping does not know
    if (isObject(env.typingMessage) || sync) return;
    const unknown = Object.keys(env).find((k) => !ENVELOPE_PLUMBING.has(k) && env[k] !== null);
    if (unknown === undefined) return;
    if (!source) throw new ShapeError("envelope: no sourceNumber, source or sourceUuid");
    delivery.messages.push(other(env, source, envTime, unknown));
    return;
  }
  if (!from) throw new ShapeError("envelope: no sourceNumber, source or sourceUuid");
  const groupInfo = isObject(data.groupInfo) ? data.groupInfo : undefined;
  const group = groupInfo ? optionalString(groupInfo.groupId) : undefined;
  const conv = group ? `group:${group}` : peer;
  if (!conv) throw new ShapeError("envelope: no conversation (no group, destination or source)");

  const update = { platform: "signal" as const, external_conversation_id: conv, at: envTime };
  if (isObject(data.reaction)) {
    const r = data.reaction;
    const target = author(r, "targetAuthor");
    delivery.updates.push({
      ...update,
      kind: "reaction",
      id: `${requireString(target, "reaction.targetAuthor")}:${
        requireString(r.targetSentTimestamp, "reaction.targetSentTimestamp")
      }`,
      reactor: from,
      emoji: r.isRemove === true ? null : (optionalString(r.emoji) ?? null),
    });
    return;
  }
  if (isObject(data.remoteDelete)) {
    delivery.updates.push({
      ...update,
      kind: "delete",
      id: `${from}:${requireString(data.remoteDelete.timestamp, "remoteDelete.timestamp")}`,
    });
    return;
  }
  if (isObject(data.adminDelete)) {
    // a group admin deleting a member's message: the target names its author
    const a = data.adminDelete;
    delivery.updates.push({
      ...update,
      kind: "delete",
      id: `${requireString(author(a, "targetAuthor"), "adminDelete.targetAuthor")}:${
        requireString(a.targetSentTimestamp, "adminDelete.targetSentTimestamp")
      }`,
    });
    return;
  }
  // a vote and a poll's closing apply to the poll message (its metadata.poll_votes by voter,
  // poll.closed), as the importer applies them; the poll names its author and sent time
  if (isObject(data.pollVote)) {
    const v = data.pollVote;
    const options = Array.isArray(v.optionIndexes)
      ? v.optionIndexes.filter((i): i is number => Number.isInteger(i) && (i as number) >= 0)
      : [];
    delivery.updates.push({
      ...update,
      kind: "vote",
      id: `${requireString(author(v, "author") ?? author(v, "targetAuthor"), "pollVote.author")}:${
        requireString(v.targetSentTimestamp, "pollVote.targetSentTimestamp")
      }`,
      voter: from,
      options,
    });
    return;
  }
  if (isObject(data.pollTerminate)) {
    // only the poll's author closes it: the target is the sender's own message
    delivery.updates.push({
      ...update,
      kind: "poll",
      id: `${from}:${requireString(data.pollTerminate.targetSentTimestamp, "pollTerminate.targetSentTimestamp")}`,
      poll: { closed: true },
    });
    return;
  }
  // the peer's service id (ACI, or PNI: for a PNI) and number: a new number under the same
  // service id is an alias of the same conversation
  const peerIds = group ? undefined : peerServiceIds(outbound ? data : env, outbound ? "destination" : "source");
  const k = attachmentKind(data);
  const meta: Record<string, unknown> = {};
  let type: MessageType = k.type;
  const mentioned = resolveMentions(optionalString(data.message), data.mentions);
  let text = mentioned.text;
  if (mentioned.entities) meta.entities = mentioned.entities;
  let replyTo: string | undefined;
  const attachments = attachmentList(data);
  if (attachments.length > 0) meta.attachments = attachments;
  if (data.viewOnce === true) meta.view_once = true;
  if (Array.isArray(data.previews) && data.previews.length > 0) {
    meta.link_previews = data.previews.filter(isObject).map((p) =>
      compact({
        url: optionalString(p.url),
        title: optionalString(p.title),
        description: optionalString(p.description),
      })
    );
  }
  if (isObject(data.storyContext)) {
    const st = data.storyContext;
    meta.story_reply = compact({ author: author(st, "author"), sent_timestamp: millis(st.sentTimestamp) });
  }
  if (isObject(data.sticker)) {
    meta.sticker = compact({ pack_id: optionalString(data.sticker.packId), sticker_id: data.sticker.stickerId });
  }
  const contacts = Array.isArray(data.contacts) ? data.contacts.filter(isObject).map(sharedContact) : [];
  if (type === "text" && contacts.length > 0) {
    type = "contact";
    meta.contact = contacts;
    text ??= contacts.map((c) => [c.name, (c.phones as string[])[0]].filter(Boolean).join(" ")).join("; ") ||
      undefined;
  }
  if (type === "text" && isObject(data.pollCreate)) {
    const p = data.pollCreate;
    const options = Array.isArray(p.options) ? p.options.map((o) => (typeof o === "string" ? o : String(o))) : [];
    type = "other";
    meta.platform_kind = "pollCreate";
    meta.poll = compact({ question: optionalString(p.question), options, allow_multiple: p.allowMultiple === true });
    text ??= optionalString(p.question);
  } else if (type === "text" && (isObject(data.pinMessage) || isObject(data.unpinMessage))) {
    const pin = isObject(data.pinMessage);
    const o = (pin ? data.pinMessage : data.unpinMessage) as Record<string, unknown>;
    const path = pin ? "pinMessage" : "unpinMessage";
    type = "system";
    replyTo = `${requireString(author(o, "targetAuthor"), `${path}.targetAuthor`)}:${
      requireString(o.targetSentTimestamp, `${path}.targetSentTimestamp`)
    }`;
    meta.platform_kind = path;
    meta.pin = compact({
      action: pin ? "pin" : "unpin",
      duration_seconds: typeof o.pinDurationSeconds === "number" ? o.pinDurationSeconds : undefined,
    });
    text = pin ? "Pinned a message" : "Unpinned a message";
  } else if (type === "text" && text === undefined && data.isExpirationUpdate === true) {
    const seconds = typeof data.expiresInSeconds === "number" ? data.expiresInSeconds : 0;
    type = "system";
    meta.platform_kind = "expirationUpdate";
    meta.expires_in_seconds = seconds;
    text = timerText(seconds);
  } else if (
    type === "text" && text === undefined && group && String(groupInfo?.type ?? "").toUpperCase() === "UPDATE"
  ) {
    // the importer's wording
    type = "system";
    const name = optionalString(groupInfo?.groupName);
    text = name ? `Group updated: ${name}` : "Group updated";
  } else if (type === "text" && text === undefined) {
    const unknown = Object.keys(data).find((key) => !KNOWN_DATA.has(key) && data[key] !== null && data[key] !== false);
    if (unknown === undefined) return; // a profile key or group change carrying nothing to show
    type = "other";
    meta.platform_kind = unknown;
    meta.unknown_kind = true; // counted on the connection (connection_state.ts)
  }
  const quote = isObject(data.quote) ? data.quote : undefined;
  const quoteAuthor = quote ? author(quote) ?? optionalString(quote.author) : undefined;
  replyTo ??= quote && quoteAuthor && quote.id !== undefined ? `${quoteAuthor}:${quote.id}` : undefined;
  delivery.messages.push(compact({
    platform: "signal",
    external_conversation_id: conv,
    participant_identifier: group ? undefined : peer,
    participant_name: group
      ? optionalString(groupInfo?.groupName)
      : outbound
      ? undefined
      : optionalString(env.sourceName),
    conversation_type: group ? "group" : "direct",
    participant_ids: peerIds,
    id: `${from}:${requireString(sentMs, "dataMessage.timestamp")}`,
    direction: outbound ? "outbound" : "inbound",
    type,
    content: text ?? null,
    media_url: k.media,
    sent_at: fromEpochMillis(sentMs, "dataMessage.timestamp"),
    edited_at: editedAt,
    sender_identifier: from,
    sender_name: outbound ? undefined : optionalString(env.sourceName),
    reply_to_id: replyTo,
    metadata: Object.keys(meta).length ? meta : undefined,
  }) as IngestMessage);
}

/** An envelope of a kind this mapping does not know: `other`, its kind named. */
function other(env: Record<string, unknown>, source: string, at: string, kind: string): IngestMessage {
  return compact({
    platform: "signal",
    external_conversation_id: source,
    participant_identifier: source,
    participant_ids: peerServiceIds(env, "source"),
    participant_name: optionalString(env.sourceName),
    conversation_type: "direct",
    id: `${source}:${kind}:${env.timestamp}`,
    direction: "inbound",
    type: "other",
    content: null,
    sent_at: at,
    sender_identifier: source,
    sender_name: optionalString(env.sourceName),
    metadata: { platform_kind: kind, unknown_kind: true },
  }) as IngestMessage;
}

/**
 * A delivery or read receipt: the status of each of the account's messages it names (the
 * peer's direct conversation: a receipt names no group).
 */
function mapReceipt(
  delivery: Delivery,
  env: Record<string, unknown>,
  r: Record<string, unknown>,
  source: string | undefined,
  account: string | undefined,
  envTime: string,
): void {
  const status = r.isRead === true || r.isViewed === true ? "read" : r.isDelivery === true ? "delivered" : undefined;
  if (status === undefined) return; // a receipt of no kind this mapping knows says nothing
  if (!source) throw new ShapeError("envelope: no sourceNumber, source or sourceUuid");
  if (!account) throw new ShapeError("receiptMessage: the connection names no account (whose messages?)");
  const at = r.when !== undefined ? fromEpochMillis(r.when, "receiptMessage.when") : envTime;
  const ids = participantIds([["phone", optionalString(env.sourceNumber)], [
    "signal_aci",
    optionalString(env.sourceUuid),
  ]]);
  // read whole before any is kept: a bad timestamp refuses the receipt, not half of it
  const statuses: MessageUpdate[] = [];
  for (const [i, ts] of (Array.isArray(r.timestamps) ? r.timestamps : []).entries()) {
    statuses.push(compact({
      kind: "status",
      platform: "signal",
      external_conversation_id: source,
      id: `${account}:${requireString(millis(ts), `receiptMessage.timestamps[${i}]`)}`,
      status,
      at,
      participant_ids: ids,
    }) as MessageUpdate);
  }
  delivery.updates.push(...statuses);
}

/** A call's offer, answer, busy signal or hangup as a call line; ICE candidates are the call's plumbing. */
function mapCall(
  delivery: Delivery,
  env: Record<string, unknown>,
  c: Record<string, unknown>,
  source: string | undefined,
  at: string,
): void {
  const parts: [string, string][] = [
    ["offerMessage", "offer"],
    ["answerMessage", "answer"],
    ["busyMessage", "busy"],
    ["hangupMessage", "hangup"],
  ];
  const found = parts.find(([key]) => isObject(c[key]));
  if (!found) return; // iceUpdate / opaque messages: how the call connects, nothing to read
  if (!source) throw new ShapeError("envelope: no sourceNumber, source or sourceUuid");
  const part = c[found[0]] as Record<string, unknown>;
  const callId = optionalString(part.id);
  const media = /VIDEO/i.test(String(part.type ?? "")) ? "video" : "voice";
  const words: Record<string, string> = {
    offer: `Incoming ${media} call`,
    answer: "Call answered",
    busy: "Call declined: busy",
    hangup: "Call ended",
  };
  delivery.messages.push(compact({
    platform: "signal",
    external_conversation_id: source,
    participant_identifier: source,
    participant_ids: peerServiceIds(env, "source"),
    participant_name: optionalString(env.sourceName),
    conversation_type: "direct",
    id: `${source}:call:${callId ?? env.timestamp}:${found[1]}`,
    direction: "inbound",
    type: "other",
    content: words[found[1]],
    sent_at: at,
    sender_identifier: source,
    sender_name: optionalString(env.sourceName),
    metadata: {
      platform_kind: "callMessage",
      call: compact({ media: found[1] === "offer" ? media : undefined, event: found[1], call_id: callId }),
    },
  }) as IngestMessage);
}

/** signal-cli's receive notifications: POST only, Authorization: Bearer, JSON answers. */
export const adapter: Adapter = {
  // the bearer token is the whole check, made before the body is read
  authorize: (req, _url, c) =>
    verifyBearer(req.headers.get("authorization"), c.secrets.token)
      ? null
      : "Authorization: Bearer token missing or wrong",
  verify: null,
  map: (raw, c) => mapSignal(parseJson(raw), c.account_identifier),
  handshake: null,
  answer: json,
  // a resent notification carries the same ids: stored once by the store's dedupe
  replayGuard: null,
};
