// WeChat Official Account message push: `signature` = sha1 of the sorted token, timestamp
// and nonce (query string, on GET and POST), `echostr` answered on GET, XML bodies in
// plaintext mode (the AES "safe mode" is refused: it needs the EncodingAESKey, which
// this function does not hold). Events (subscribe, menu clicks, ...) are not messages.

import { participantIds } from "./participant_ids.ts";
import { type Adapter, decodeUtf8 } from "./adapter.ts";
import { STATUS, text } from "./answers.ts";
import { safeEqualString, sha1Hex, sha256Hex } from "./crypto.ts";
import {
  compact,
  type Delivery,
  fromEpochSeconds,
  type IngestMessage,
  type MessageType,
  requireString,
  ShapeError,
} from "./types.ts";
import { parseXml, type XmlNode } from "./xml.ts";

/**
 * WeChat's signature covers the token, timestamp and nonce but not the body, so a captured
 * query string could carry any body: a timestamp further than this from now is refused.
 * WeChat retries a delivery three times within about 15 s.
 */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** The longest nonce kept for the replay guard (the store's limit; WeChat's are ~10 digits). */
export const MAX_NONCE_CHARS = 128;

/**
 * What is wrong with the signed query string (null: nothing): the signature, timestamp and
 * nonce present, the nonce 1 to MAX_NONCE_CHARS characters, the timestamp within
 * MAX_CLOCK_SKEW_SECONDS, and signature = sha1 of the sorted token, timestamp and nonce.
 */
export function signatureProblem(url: URL, token: string | undefined, nowSeconds = Date.now() / 1000): string | null {
  const signature = url.searchParams.get("signature");
  const timestamp = url.searchParams.get("timestamp");
  const nonce = url.searchParams.get("nonce");
  if (!token) return "the connection has no token: rotate its secrets to set one";
  if (!signature || timestamp === null || nonce === null) {
    return "signature, timestamp and nonce: required in the query string";
  }
  if (nonce === "") return "nonce: must not be empty";
  if (nonce.length > MAX_NONCE_CHARS) return `nonce: at most ${MAX_NONCE_CHARS} characters`;
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > MAX_CLOCK_SKEW_SECONDS) {
    return `timestamp: must be epoch seconds within ${MAX_CLOCK_SKEW_SECONDS} s of now`;
  }
  const expected = sha1Hex([token, timestamp, nonce].sort().join(""));
  return safeEqualString(signature.toLowerCase(), expected) ? null : "signature: missing or wrong";
}

export function verifySignature(url: URL, token: string | undefined, nowSeconds = Date.now() / 1000): boolean {
  return signatureProblem(url, token, nowSeconds) === null;
}

function field(fields: XmlNode, name: string): string | undefined {
  const v = fields[name];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

/**
 * Maps one pushed XML message; an event maps to nothing. Throws ShapeError / XmlError. With
 * the connection's account, a push whose ToUserName is another account is refused (in
 * `refused`, nothing else mapped).
 */
export function mapWeChat(xml: string, account?: string): Delivery {
  const { root, fields } = parseXml(xml);
  if (root !== "xml") throw new ShapeError("body: the root element must be <xml>");
  if (fields.Encrypt !== undefined) {
    throw new ShapeError("Encrypt: the AES safe mode is not supported; set the account to plaintext mode");
  }
  const to = requireString(field(fields, "ToUserName"), "ToUserName");
  if (account !== undefined && to !== account.trim()) {
    return {
      messages: [],
      updates: [],
      refused: [{
        path: "ToUserName",
        kind: "account_mismatch",
        reason: `${JSON.stringify(to)} is not this connection's account`,
      }],
    };
  }
  const msgType = requireString(field(fields, "MsgType"), "MsgType");
  if (msgType === "event") return { messages: [], updates: [] };
  const from = requireString(field(fields, "FromUserName"), "FromUserName");
  const id = requireString(field(fields, "MsgId"), "MsgId");
  const sentAt = fromEpochSeconds(field(fields, "CreateTime"), "CreateTime");
  let type: MessageType;
  let content: string | null = null;
  let mediaUrl: string | undefined;
  const meta: Record<string, unknown> = {};
  switch (msgType) {
    case "text":
      type = "text";
      content = field(fields, "Content") ?? "";
      break;
    case "image":
      type = "image";
      mediaUrl = field(fields, "PicUrl");
      meta.media_id = field(fields, "MediaId");
      break;
    case "voice":
      type = "voice";
      content = field(fields, "Recognition") ?? null; // speech recognition, when enabled
      meta.media_id = field(fields, "MediaId");
      meta.format = field(fields, "Format");
      break;
    case "video":
    case "shortvideo":
      type = "video";
      meta.media_id = field(fields, "MediaId");
      break;
    case "location":
      type = "location";
      content = field(fields, "Label") ?? `${field(fields, "Location_X")},${field(fields, "Location_Y")}`;
      meta.latitude = Number(field(fields, "Location_X"));
      meta.longitude = Number(field(fields, "Location_Y"));
      break;
    case "link":
      type = "text";
      content = [field(fields, "Title"), field(fields, "Description"), field(fields, "Url")].filter(Boolean).join("\n");
      meta.wechat_type = "link";
      break;
    default:
      type = "other";
      meta.wechat_type = msgType;
  }
  return {
    messages: [compact({
      platform: "wechat",
      external_conversation_id: from,
      participant_identifier: from,
      // an official account's follower: the openid
      participant_ids: participantIds([["wechat_openid", from]]),
      conversation_type: "direct",
      id,
      direction: "inbound",
      type,
      content,
      media_url: mediaUrl,
      sent_at: sentAt,
      sender_identifier: from,
      metadata: Object.keys(compact(meta)).length ? meta : undefined,
    }) as IngestMessage],
    updates: [],
  };
}

/**
 * The WeChat Official Account push: a signed query string on GET (echostr) and POST, XML
 * bodies, the plain-text answer "success". The signature covers no body: the timestamp
 * window is part of `authorize`, and the nonce with the body's digest goes to the store, which
 * refuses a nonce used again with another body.
 */
export const adapter: Adapter = {
  // the signed query string is the whole check, made before the body is read
  authorize: (_req, url, c) => signatureProblem(url, c.secrets.token),
  verify: null,
  map: (raw, c) => mapWeChat(decodeUtf8(raw), c.account_identifier),
  handshake: { signed: true, answer: (url) => text(STATUS.handshake, url.searchParams.get("echostr") ?? "") },
  answer: (status, body) => text(status, status === 200 ? "success" : String(body.error ?? "")),
  replayGuard: (url, raw) => ({ nonce: url.searchParams.get("nonce") ?? "", digest: sha256Hex(raw) }),
};
