// WeChat Official Account message push: `signature` = sha1 of the sorted token, timestamp
// and nonce (query string, on GET and POST), `echostr` answered on GET, XML bodies in
// plaintext mode (the AES "safe mode" is refused: it needs the EncodingAESKey, which
// this function does not hold). Every kind and event: docs/kinds.md, WeChat.

import { participantIds } from "./participant_ids.ts";
import { type Adapter, decodeUtf8 } from "./adapter.ts";
import { STATUS, text } from "./answers.ts";
import { safeEqualString, sha1Hex, sha256Hex } from "./crypto.ts";
import {
  compact,
  type Delivery,
  fromEpochSeconds,
  type IngestMessage,
  mapItem,
  type MessageType,
  type MessageUpdate,
  type Refusal,
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

function num(fields: XmlNode, name: string): number | undefined {
  const v = field(fields, name);
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** The words of a system line for the events that are one (docs/kinds.md, WeChat). */
const EVENT_LINES: Record<string, (key: string | undefined) => string> = {
  subscribe: (key) =>
    key?.startsWith("qrscene_")
      ? `Followed the account (QR code ${key.slice("qrscene_".length)})`
      : "Followed the account",
  unsubscribe: () => "Unfollowed the account",
  SCAN: (key) => `Scanned QR code ${key ?? ""}`.trim(),
  CLICK: (key) => `Menu: ${key ?? "?"}`,
  VIEW: (key) => `Menu link: ${key ?? "?"}`,
  view_miniprogram: (key) => `Menu mini program: ${key ?? "?"}`,
  scancode_push: (key) => `Menu scan: ${key ?? "?"}`,
  scancode_waitmsg: (key) => `Menu scan: ${key ?? "?"}`,
  pic_sysphoto: (key) => `Menu photo: ${key ?? "?"}`,
  pic_photo_or_album: (key) => `Menu photo: ${key ?? "?"}`,
  pic_weixin: (key) => `Menu photo: ${key ?? "?"}`,
  location_select: (key) => `Menu location: ${key ?? "?"}`,
};

/** TEMPLATESENDJOBFINISH's Status as the template message's status. */
function templateStatus(status: string | undefined): "delivered" | "failed" | undefined {
  if (status === "success") return "delivered";
  if (status?.startsWith("failed")) return "failed";
  return undefined;
}

/**
 * Maps one pushed XML message or event (docs/kinds.md, WeChat). Throws ShapeError / XmlError
 * for a body that is no push at all; an event whose fields cannot be read is refused alone
 * (in `refused`). With the connection's account, a push whose ToUserName is another account is
 * refused (in `refused`, nothing else mapped).
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
  const delivery: Delivery = { messages: [], updates: [] };
  if (msgType === "event") {
    const refused: Refusal[] = [];
    mapItem(refused, "Event", () => mapEvent(delivery, fields));
    return refused.length ? { ...delivery, refused } : delivery;
  }
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
      meta.thumb_media_id = field(fields, "ThumbMediaId");
      if (msgType === "shortvideo") meta.wechat_type = "shortvideo";
      break;
    case "location": {
      type = "location";
      const lat = num(fields, "Location_X");
      const lng = num(fields, "Location_Y");
      content = field(fields, "Label") ?? (lat !== undefined && lng !== undefined ? `${lat},${lng}` : null);
      meta.latitude = lat;
      meta.longitude = lng;
      meta.scale = num(fields, "Scale");
      break;
    }
    case "link":
      type = "text";
      content = [field(fields, "Title"), field(fields, "Description"), field(fields, "Url")].filter(Boolean).join("\n");
      meta.wechat_type = "link";
      meta.link = compact({
        title: field(fields, "Title"),
        description: field(fields, "Description"),
        url: field(fields, "Url"),
      });
      break;
    case "miniprogrampage":
      type = "other";
      content = field(fields, "Title") ?? null;
      meta.wechat_type = "miniprogrampage";
      meta.platform_kind = "miniprogrampage";
      meta.miniprogram = compact({
        title: field(fields, "Title"),
        app_id: field(fields, "AppId"),
        page_path: field(fields, "PagePath"),
        thumb_url: field(fields, "ThumbUrl"),
        thumb_media_id: field(fields, "ThumbMediaId"),
      });
      break;
    default:
      type = "other";
      meta.wechat_type = msgType;
      meta.platform_kind = msgType;
      meta.unknown_kind = true; // counted on the connection (connection_state.ts)
  }
  // a message sent from an article (its comment box): which article, which of a multi-article push
  const article = compact({ msg_data_id: field(fields, "MsgDataId"), idx: field(fields, "Idx") });
  if (Object.keys(article).length) meta.article = article;
  delivery.messages.push(follower(from, {
    id,
    type,
    content,
    media_url: mediaUrl,
    sent_at: sentAt,
    metadata: Object.keys(compact(meta)).length ? meta : undefined,
  }));
  return delivery;
}

/** An inbound message of the follower `from` (an official account's follower: the openid). */
function follower(from: string, m: Partial<IngestMessage>): IngestMessage {
  return compact({
    platform: "wechat",
    external_conversation_id: from,
    participant_identifier: from,
    participant_ids: participantIds([["wechat_openid", from]]),
    conversation_type: "direct",
    direction: "inbound",
    sender_identifier: from,
    ...m,
  }) as IngestMessage;
}

/**
 * An event push: subscribe/unsubscribe, SCAN and menu events as system lines, LOCATION
 * reports as locations, TEMPLATESENDJOBFINISH as the status of the template message,
 * MASSSENDJOBFINISH left out (a broadcast's totals, no conversation's); any other event is
 * `other` with its name. Events carry no MsgId: the id is the sender, time and event (what
 * WeChat's documentation dedupes retries by).
 */
function mapEvent(delivery: Delivery, fields: XmlNode): void {
  const event = requireString(field(fields, "Event"), "Event");
  const from = requireString(field(fields, "FromUserName"), "FromUserName");
  const at = fromEpochSeconds(field(fields, "CreateTime"), "CreateTime");
  const key = field(fields, "EventKey");
  const id = `${from}:${field(fields, "CreateTime")}:${event}`;
  if (event === "TEMPLATESENDJOBFINISH") {
    const status = field(fields, "Status");
    const mapped = templateStatus(status);
    if (!mapped) throw new ShapeError(`Status: ${JSON.stringify(status)} is no template delivery result`);
    delivery.updates.push(compact({
      kind: "status",
      platform: "wechat",
      external_conversation_id: from,
      id: requireString(field(fields, "MsgID") ?? field(fields, "MsgId"), "MsgID"),
      status: mapped,
      at,
      error: mapped === "failed" ? { reason: status } : undefined,
    }) as MessageUpdate);
    return;
  }
  if (event === "MASSSENDJOBFINISH") return; // a broadcast's totals: no one follower's conversation
  const metaEvent = compact({
    name: event,
    key,
    ticket: field(fields, "Ticket"),
    menu_id: field(fields, "MenuId"),
  });
  if (event === "LOCATION") {
    const lat = num(fields, "Latitude");
    const lng = num(fields, "Longitude");
    delivery.messages.push(follower(from, {
      id,
      type: "location",
      content: lat !== undefined && lng !== undefined ? `${lat},${lng}` : null,
      sent_at: at,
      metadata: compact({
        latitude: lat,
        longitude: lng,
        precision: num(fields, "Precision"),
        event: metaEvent,
        platform_kind: "event:LOCATION",
      }),
    }));
    return;
  }
  const line = Object.hasOwn(EVENT_LINES, event) ? EVENT_LINES[event] : undefined;
  delivery.messages.push(follower(from, {
    id,
    type: line ? "system" : "other",
    content: line ? line(key) : null,
    sent_at: at,
    metadata: compact({ event: metaEvent, platform_kind: `event:${event}`, unknown_kind: line ? undefined : true }),
  }));
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
