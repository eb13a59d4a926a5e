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
  if (data.sticker !== undefined) return { type: "sticker" };
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
 * Maps the notifications; receipts, typing and other envelopes map to nothing. The
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

function mapEnvelope(delivery: Delivery, env: Record<string, unknown>, account: string | undefined): void {
  const source = author(env);
  const envTime = fromEpochMillis(env.timestamp, "envelope.timestamp");
  let data: Record<string, unknown>;
  let outbound = false;
  let peer: string | undefined;
  let from = source;
  let editedAt: string | undefined;
  let sentMs: unknown;
  if (isObject(env.dataMessage)) {
    data = env.dataMessage;
    peer = source;
    sentMs = data.timestamp;
  } else if (isObject(env.editMessage)) {
    data = requireObject(env.editMessage.dataMessage, "envelope.editMessage.dataMessage");
    peer = source;
    sentMs = env.editMessage.targetSentTimestamp;
    editedAt = fromEpochMillis(data.timestamp ?? env.timestamp, "envelope.editMessage.dataMessage.timestamp");
  } else if (isObject(env.syncMessage) && isObject(env.syncMessage.sentMessage)) {
    data = env.syncMessage.sentMessage;
    outbound = true;
    peer = author(data, "destination");
    from = account ?? source;
    sentMs = data.timestamp;
  } else {
    return; // receipts, typing, calls, contact syncs: not messages
  }
  if (!from) throw new ShapeError("envelope: no sourceNumber, source or sourceUuid");
  const group = isObject(data.groupInfo) ? optionalString(data.groupInfo.groupId) : undefined;
  const conv = group ? `group:${group}` : peer;
  if (!conv) throw new ShapeError("envelope: no conversation (no group, destination or source)");

  if (isObject(data.reaction)) {
    const r = data.reaction;
    const target = author(r, "targetAuthor");
    delivery.updates.push({
      kind: "reaction",
      platform: "signal",
      external_conversation_id: conv,
      id: `${requireString(target, "reaction.targetAuthor")}:${
        requireString(r.targetSentTimestamp, "reaction.targetSentTimestamp")
      }`,
      reactor: from,
      emoji: r.isRemove === true ? null : (optionalString(r.emoji) ?? null),
      at: envTime,
    });
    return;
  }
  if (isObject(data.remoteDelete)) {
    delivery.updates.push({
      kind: "delete",
      platform: "signal",
      external_conversation_id: conv,
      id: `${from}:${requireString(data.remoteDelete.timestamp, "remoteDelete.timestamp")}`,
      at: envTime,
    });
    return;
  }
  // the peer's service id (ACI, or PNI: for a PNI) and number: a new number under the same
  // service id is an alias of the same conversation
  const peerIds = group ? undefined : peerServiceIds(outbound ? data : env, outbound ? "destination" : "source");
  const k = attachmentKind(data);
  const text = optionalString(data.message);
  if (k.type === "text" && text === undefined) return; // profile keys, group updates without text
  const quote = isObject(data.quote) ? data.quote : undefined;
  const quoteAuthor = quote ? author(quote) ?? optionalString(quote.author) : undefined;
  delivery.messages.push(compact({
    platform: "signal",
    external_conversation_id: conv,
    participant_identifier: group ? undefined : peer,
    participant_name: group
      ? (isObject(data.groupInfo) ? optionalString(data.groupInfo.groupName) : undefined)
      : outbound
      ? undefined
      : optionalString(env.sourceName),
    conversation_type: group ? "group" : "direct",
    participant_ids: peerIds,
    id: `${from}:${requireString(sentMs, "dataMessage.timestamp")}`,
    direction: outbound ? "outbound" : "inbound",
    type: k.type,
    content: text ?? null,
    media_url: k.media,
    sent_at: fromEpochMillis(sentMs, "dataMessage.timestamp"),
    edited_at: editedAt,
    sender_identifier: from,
    sender_name: outbound ? undefined : optionalString(env.sourceName),
    reply_to_id: quote && quoteAuthor && quote.id !== undefined ? `${quoteAuthor}:${quote.id}` : undefined,
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
