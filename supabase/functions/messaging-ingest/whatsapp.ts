// WhatsApp Cloud API webhooks: the GET subscription handshake, X-Hub-Signature-256 over
// the raw body, and entry[].changes[].value.{messages, statuses, contacts} (field
// "messages") and value.message_echoes (field "smb_message_echoes", messages the business
// sent from the WhatsApp Business app: outbound).

import type { Adapter } from "./adapter.ts";
import { parseJson } from "./adapter.ts";
import { json, STATUS, text } from "./answers.ts";
import { type Bytes, hmacSha256Hex, safeEqualString } from "./crypto.ts";
import { participantIds } from "./participant_ids.ts";
import {
  compact,
  type Delivery,
  fromEpochSeconds,
  type IngestMessage,
  isObject,
  mapItem,
  type MessageType,
  type MessageUpdate,
  optionalString,
  type Refusal,
  requireArray,
  requireObject,
  requireString,
  scalarText,
  ShapeError,
} from "./types.ts";

/** The GET handshake: 200 with hub.challenge, 403 for a wrong verify token, 400 when malformed. */
export function verifySubscription(url: URL, verifyToken: string | undefined): Response {
  const mode = url.searchParams.get("hub.mode");
  const challenge = url.searchParams.get("hub.challenge");
  const token = url.searchParams.get("hub.verify_token");
  if (mode !== "subscribe" || !challenge) {
    return text(STATUS.bad_body, "expected hub.mode=subscribe and hub.challenge\n");
  }
  if (!safeEqualString(token, verifyToken)) {
    return text(STATUS.wrong_verify_token, "wrong verify token\n");
  }
  // reflected as text/plain with nosniff: a challenge of HTML is never run as a page
  return text(STATUS.handshake, challenge);
}

/** The form of X-Hub-Signature-256, checked before the body is read. */
const SIGNATURE_FORM = /^sha256=[0-9a-f]{64}$/i;

/** What can be checked of a delivery before its body is read (Adapter.authorize). */
export function signaturePresent(header: string | null, appSecret: string | undefined): string | null {
  if (!appSecret) return "the connection has no app secret: rotate its secrets to set one";
  if (!header) return "X-Hub-Signature-256: missing";
  if (!SIGNATURE_FORM.test(header)) return "X-Hub-Signature-256: must be sha256= and 64 hex digits";
  return null;
}

/** X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body with the app secret. */
export function verifySignature(header: string | null, raw: Bytes, appSecret: string | undefined): boolean {
  if (!header || !appSecret || !header.startsWith("sha256=")) return false;
  const expected = hmacSha256Hex(appSecret, raw);
  return safeEqualString(header.slice(7).toLowerCase(), expected);
}

const MEDIA: Record<string, MessageType> = {
  image: "image",
  video: "video",
  audio: "audio",
  document: "document",
  sticker: "sticker",
};

const STATUSES = new Set(["sent", "delivered", "read", "failed"]);

function phone(waId: string): string {
  return waId.startsWith("+") ? waId : `+${waId}`;
}

interface Body {
  type: MessageType;
  content: string | null;
  metadata?: Record<string, unknown>;
}

/** Type, text and metadata of one message object (shared by messages and echoes). */
function body(m: Record<string, unknown>, path: string): Body {
  const type = requireString(m.type, `${path}.type`);
  const part = isObject(m[type]) ? (m[type] as Record<string, unknown>) : {};
  if (type === "text") {
    return { type: "text", content: requireString(part.body, `${path}.text.body`) };
  }
  if (type in MEDIA) {
    const kind: MessageType = type === "audio" && part.voice === true ? "voice" : MEDIA[type];
    return {
      type: kind,
      content: optionalString(part.caption) ?? null,
      metadata: compact({
        media_id: optionalString(part.id),
        mime_type: optionalString(part.mime_type),
        filename: optionalString(part.filename),
        // the SHA-256 of the (decrypted) file, as WhatsApp sends it (base64): an export's
        // copy of the same file carries it too, so the two copies meet (12_match.sql)
        sha256: optionalString(part.sha256),
      }),
    };
  }
  if (type === "location") {
    const label = [optionalString(part.name), optionalString(part.address)].filter(Boolean).join(", ");
    return {
      type: "location",
      content: label || `${scalarText(part.latitude)},${scalarText(part.longitude)}`,
      metadata: compact({ latitude: part.latitude, longitude: part.longitude }),
    };
  }
  if (type === "contacts") {
    const contacts = Array.isArray(m.contacts) ? m.contacts : [];
    const names = contacts
      .map((c) => (isObject(c) && isObject(c.name) ? optionalString(c.name.formatted_name) : undefined))
      .filter(Boolean);
    return { type: "contact", content: names.join(", ") || null, metadata: { contacts } };
  }
  if (type === "button") {
    return { type: "text", content: optionalString(part.text) ?? null, metadata: { whatsapp_type: "button" } };
  }
  if (type === "interactive") {
    const reply = (isObject(part.button_reply) && part.button_reply) ||
      (isObject(part.list_reply) && part.list_reply) ||
      {};
    return {
      type: "text",
      content: optionalString((reply as Record<string, unknown>).title) ?? null,
      metadata: { whatsapp_type: "interactive" },
    };
  }
  if (type === "system") {
    // user_changed_number / customer_changed_number, user_changed_user_id,
    // customer_identity_changed: a line in the thread; the new ids are participant_ids
    return {
      type: "system",
      content: optionalString(part.body) ?? null,
      metadata: compact({ whatsapp_system_type: optionalString(part.type), identity: optionalString(part.identity) }),
    };
  }
  // unsupported, unknown, order, and whatever Meta adds: kept, with the platform's type
  return {
    type: "other",
    content: null,
    metadata: compact({ whatsapp_type: type, errors: Array.isArray(m.errors) ? m.errors : undefined }),
  };
}

/** A value.contacts[] entry: the customer's phone (wa_id), ids and profile. */
interface Contact {
  name?: string;
  waId?: string;
  userId?: string;
  parentUserId?: string;
  username?: string;
}

/** value.contacts, findable by wa_id and by the business-scoped user_id. */
function contactsOf(value: Record<string, unknown>): Map<string, Contact> {
  const found = new Map<string, Contact>();
  for (const c of Array.isArray(value.contacts) ? value.contacts : []) {
    if (!isObject(c)) continue;
    const profile = isObject(c.profile) ? c.profile : {};
    const contact: Contact = {
      name: optionalString(profile.name) || undefined,
      waId: optionalString(c.wa_id),
      userId: optionalString(c.user_id),
      parentUserId: optionalString(c.parent_user_id),
      username: optionalString(profile.username),
    };
    if (contact.waId) found.set(contact.waId, contact);
    if (contact.userId) found.set(contact.userId, contact);
  }
  return found;
}

/**
 * Who a message is from: the phone (`from`, absent for a user with a username whose number
 * WhatsApp withholds), the business-scoped user id (`from_user_id`) and parent id, the
 * username; the conversation is keyed by the best of them (the phone, else the user id,
 * else the parent id) and all of them are its participant_ids (identity aliases).
 */
interface Party {
  key: string;
  phone?: string;
  name?: string;
  username?: string;
  ids: ReturnType<typeof participantIds>;
}

function party(
  contacts: Map<string, Contact>,
  wa: unknown,
  userId: unknown,
  parentUserId: unknown,
  path: string,
  extra: [string, unknown][] = [],
): Party {
  const waId = optionalString(wa);
  const uid = optionalString(userId);
  const c = (waId && contacts.get(waId)) || (uid && contacts.get(uid)) || {};
  const bsuid = uid ?? c.userId;
  const parent = optionalString(parentUserId) ?? c.parentUserId;
  const phoneNumber = waId ? phone(waId) : c.waId ? phone(c.waId) : undefined;
  const key = phoneNumber ?? bsuid ?? parent;
  if (!key) throw new ShapeError(`${path}: no from, from_user_id or parent user id`);
  return {
    key,
    phone: phoneNumber,
    name: c.name,
    username: c.username,
    ids: participantIds([
      ["phone", phoneNumber],
      ["whatsapp_user_id", bsuid],
      ["whatsapp_parent_user_id", parent],
      ["username", c.username],
      ...extra,
    ]),
  };
}

/** A system message's new phone or user id (user_changed_number, user_changed_user_id). */
function changedTo(m: Record<string, unknown>): [string, unknown][] {
  if (m.type !== "system" || !isObject(m.system)) return [];
  const sys = m.system;
  const newWaId = optionalString(sys.wa_id) ?? optionalString(sys.new_wa_id);
  return [
    ["phone", newWaId ? phone(newWaId) : undefined],
    ["whatsapp_user_id", optionalString(sys.user_id) ?? optionalString(sys.new_user_id)],
  ];
}

const digits = (s: string) => s.replace(/\D/g, "");

/**
 * Whether a change's value.metadata names the connection's account: its phone_number_id, or
 * its display_phone_number (compared by digits, so "+34 600 000 001" is 34600000001).
 */
export function sameAccount(value: Record<string, unknown>, account: string): boolean {
  const md = isObject(value.metadata) ? value.metadata : {};
  const id = optionalString(md.phone_number_id);
  const display = optionalString(md.display_phone_number);
  if (id !== undefined && id === account.trim()) return true;
  return display !== undefined && digits(account) !== "" && digits(display) === digits(account);
}

/**
 * Maps a webhook body onto messages and updates; throws ShapeError for another shape. With
 * the connection's account, a change for another phone number is refused whole, and a
 * message or status the mapping cannot read is refused alone (both listed in `refused`).
 */
export function mapWhatsApp(payload: unknown, account?: string): Delivery {
  const root = requireObject(payload, "body");
  if (root.object !== "whatsapp_business_account") {
    throw new ShapeError('object: must be "whatsapp_business_account"');
  }
  const messages: IngestMessage[] = [];
  const updates: MessageUpdate[] = [];
  const refused: Refusal[] = [];
  requireArray(root.entry, "entry").forEach((e, i) => {
    const entry = requireObject(e, `entry[${i}]`);
    requireArray(entry.changes, `entry[${i}].changes`).forEach((c, j) => {
      const path = `entry[${i}].changes[${j}]`;
      const change = requireObject(c, path);
      if (change.field !== "messages" && change.field !== "smb_message_echoes") return; // other fields: not messages
      const value = requireObject(change.value, `${path}.value`);
      if (account !== undefined && !sameAccount(value, account)) {
        const md = isObject(value.metadata) ? value.metadata : {};
        refused.push({
          path: `${path}.value.metadata`,
          kind: "account_mismatch",
          reason: `phone_number_id ${JSON.stringify(md.phone_number_id ?? null)} / display_phone_number ` +
            `${JSON.stringify(md.display_phone_number ?? null)} is not this connection's account`,
        });
        return;
      }
      const contacts = contactsOf(value);

      if (change.field === "smb_message_echoes") {
        const echoes = value.message_echoes === undefined
          ? []
          : requireArray(value.message_echoes, `${path}.value.message_echoes`);
        echoes.forEach((x, k) => {
          const p = `${path}.value.message_echoes[${k}]`;
          mapItem(refused, p, () => {
            const m = requireObject(x, p);
            const to = party(contacts, m.to, m.to_user_id, m.to_parent_user_id, `${p}.to`);
            const b = body(m, p);
            messages.push(compact({
              platform: "whatsapp",
              external_conversation_id: to.key,
              participant_identifier: to.phone ?? to.username,
              participant_ids: to.ids,
              conversation_type: "direct",
              id: requireString(m.id, `${p}.id`),
              direction: "outbound",
              type: b.type,
              content: b.content,
              sent_at: fromEpochSeconds(m.timestamp, `${p}.timestamp`),
              sender_identifier: optionalString(m.from) ? phone(String(m.from)) : undefined,
              reply_to_id: isObject(m.context) ? optionalString(m.context.id) : undefined,
              metadata: b.metadata,
            }) as IngestMessage);
          });
        });
        return;
      }

      const msgs = value.messages === undefined ? [] : requireArray(value.messages, `${path}.value.messages`);
      msgs.forEach((x, k) => {
        const p = `${path}.value.messages[${k}]`;
        mapItem(refused, p, () => {
          const m = requireObject(x, p);
          const who = party(contacts, m.from, m.from_user_id, m.from_parent_user_id, `${p}.from`, changedTo(m));
          const from = who.key;
          const id = requireString(m.id, `${p}.id`);
          const sentAt = fromEpochSeconds(m.timestamp, `${p}.timestamp`);
          if (m.type === "reaction") {
            const r = requireObject(m.reaction, `${p}.reaction`);
            updates.push({
              kind: "reaction",
              platform: "whatsapp",
              external_conversation_id: from,
              id: requireString(r.message_id, `${p}.reaction.message_id`),
              reactor: from,
              emoji: optionalString(r.emoji) ?? null, // an empty emoji removes the reaction
              at: sentAt,
            });
            return;
          }
          const b = body(m, p);
          const name = who.name;
          messages.push(compact({
            platform: "whatsapp",
            external_conversation_id: from,
            participant_identifier: who.phone ?? who.username,
            participant_name: name,
            participant_ids: who.ids,
            conversation_type: "direct",
            id,
            direction: "inbound",
            type: b.type,
            content: b.content,
            sent_at: sentAt,
            sender_identifier: from,
            sender_name: name,
            reply_to_id: isObject(m.context) ? optionalString(m.context.id) : undefined,
            metadata: b.metadata,
          }) as IngestMessage);
        });
      });

      const statuses = value.statuses === undefined ? [] : requireArray(value.statuses, `${path}.value.statuses`);
      statuses.forEach((x, k) => {
        const p = `${path}.value.statuses[${k}]`;
        mapItem(refused, p, () => {
          const s = requireObject(x, p);
          const status = requireString(s.status, `${p}.status`);
          if (!STATUSES.has(status)) return; // e.g. "deleted", "warning": nothing to record
          const errors = Array.isArray(s.errors) ? s.errors : [];
          const first = isObject(errors[0]) ? errors[0] : undefined;
          const to = party(
            contacts,
            s.recipient_id,
            s.recipient_user_id,
            s.recipient_parent_user_id,
            `${p}.recipient_id`,
          );
          updates.push(compact({
            kind: "status",
            platform: "whatsapp",
            external_conversation_id: to.key,
            id: requireString(s.id, `${p}.id`),
            status: status as "sent" | "delivered" | "read" | "failed",
            at: fromEpochSeconds(s.timestamp, `${p}.timestamp`),
            error: status === "failed" && first ? compact({ code: first.code, title: first.title }) : undefined,
            // the phone and the user id together: the store records them as aliases
            participant_ids: to.ids && Object.keys(to.ids).length > 1 ? to.ids : undefined,
          }) as MessageUpdate);
        });
      });
    });
  });
  return { messages, updates, refused };
}

/** The WhatsApp Cloud API webhook: the GET subscription check, X-Hub-Signature-256, JSON answers. */
export const adapter: Adapter = {
  // the signature covers the body: its presence and form first, the HMAC once the body
  // (at most the webhook limit) is read
  authorize: (req, _url, c) => signaturePresent(req.headers.get("x-hub-signature-256"), c.secrets.app_secret),
  verify: (req, raw, c) => verifySignature(req.headers.get("x-hub-signature-256"), raw, c.secrets.app_secret),
  map: (raw, c) => mapWhatsApp(parseJson(raw), c.account_identifier),
  // not signed: the verify token in the query string is the check
  handshake: { signed: false, answer: (url, c) => verifySubscription(url, c.secrets.verify_token) },
  answer: json,
  // the signature covers the body: a replay stores nothing new
  replayGuard: null,
};
