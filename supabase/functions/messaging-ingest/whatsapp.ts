// WhatsApp Cloud API webhooks: the GET subscription handshake, X-Hub-Signature-256 over
// the raw body, and entry[].changes[].value.{messages, statuses, contacts} (field
// "messages") and value.message_echoes (field "smb_message_echoes", messages the business
// sent from the WhatsApp Business app: outbound).

import type { Adapter } from "./adapter.ts";
import { parseJson } from "./adapter.ts";
import { json, STATUS, text } from "./answers.ts";
import { countUnknown, stateOf } from "./connection_state.ts";
import { type Bytes, hmacSha256Hex, safeEqualString } from "./crypto.ts";
import { participantIds } from "./participant_ids.ts";
import { body, callLine, metadataOf } from "./whatsapp_kinds.ts";
import {
  compact,
  type Delivery,
  fromEpochSeconds,
  type IngestMessage,
  isObject,
  mapItem,
  type MessageUpdate,
  optionalString,
  type Refusal,
  requireArray,
  requireObject,
  requireString,
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

/** The statuses stored as they are (played: a voice message listened to); deleted as a delete. */
const STATUSES = new Set(["sent", "delivered", "read", "failed", "played"]);
/** Statuses with no meaning for a message's state: warning is about a catalog item of a template. */
const IGNORED_STATUSES = new Set(["warning"]);

function phone(waId: string): string {
  return waId.startsWith("+") ? waId : `+${waId}`;
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

/** The webhook fields that carry messages, statuses or calls; the others map to nothing. */
const FIELDS = new Set(["messages", "smb_message_echoes", "calls", "history", "smb_app_state_sync"]);
/**
 * The other fields Meta's webhook reference documents: about the account, its templates,
 * numbers or billing, not a conversation (docs/kinds.md). A field in neither set is a future
 * one: counted on the connection (`field:<name>`), never refused.
 */
const IGNORED_FIELDS = new Set([
  "account_alerts",
  "account_review_update",
  "account_settings_update",
  "account_update",
  "automatic_events",
  "business_capability_update",
  "business_status_update",
  "flows",
  "group_lifecycle_update",
  "group_participants_update",
  "group_settings_update",
  "group_status_update",
  "message_template_components_update",
  "message_template_quality_update",
  "message_template_status_update",
  "partner_solutions",
  "payment_configuration_update",
  "phone_number_name_update",
  "phone_number_quality_update",
  "security",
  "template_category_update",
  "template_correct_category_detection",
  "tracking_events",
  "user_preferences",
]);

/** What one change gives: the delivery's lists, its contacts and the business's own number. */
interface Sink {
  /** the delivery's connection state (history progress, contacts, unknown kinds) */
  delivery: Delivery;
  messages: IngestMessage[];
  updates: MessageUpdate[];
  refused: Refusal[];
  contacts: Map<string, Contact>;
  business?: string;
}

/**
 * One message object (messages, echoes, history) as a stored message of the conversation
 * `to` (the customer) or, with a group_id, of the group (keyed by the group id, each message
 * with its sender; the sender's ids are no aliases of the group).
 */
function message(
  m: Record<string, unknown>,
  p: string,
  customer: Party | null,
  direction: "inbound" | "outbound",
  sender: { identifier?: string; name?: string },
  extra?: Record<string, unknown>,
): IngestMessage {
  const group = optionalString(m.group_id);
  const b = body(m, p);
  const md = metadataOf(b, m);
  const metadata = extra ? { ...(md ?? {}), ...extra } : md;
  const key = group ?? customer?.key;
  if (!key) throw new ShapeError(`${p}: no conversation (to, from or group_id)`);
  return compact({
    platform: "whatsapp",
    external_conversation_id: key,
    participant_identifier: group ? undefined : customer?.phone ?? customer?.username,
    participant_name: group ? undefined : direction === "inbound" ? customer?.name : undefined,
    participant_ids: group ? undefined : customer?.ids,
    conversation_type: group ? "group" : "direct",
    id: requireString(m.id, `${p}.id`),
    direction,
    type: b.type,
    content: b.content,
    media_url: b.media_url,
    sent_at: fromEpochSeconds(m.timestamp, `${p}.timestamp`),
    sender_identifier: sender.identifier,
    sender_name: sender.name,
    reply_to_id: isObject(m.context) ? optionalString(m.context.id) : undefined,
    metadata,
  }) as IngestMessage;
}

/**
 * An `edit` or `revoke` of an earlier message (Coexistence: a customer's in messages, the
 * business's own from the Business app in smb_message_echoes). The edit is the original
 * message again (its id, the new content, edited_at the edit's time): the store replaces it
 * and keeps the replaced text as a version. The revoke is a delete update of the original.
 * `build` makes the stored message of a message object; `key` is the conversation's.
 * Returns whether m was one of them.
 */
function editOrRevoke(
  m: Record<string, unknown>,
  p: string,
  key: string,
  s: Sink,
  build: (inner: Record<string, unknown>) => IngestMessage,
): boolean {
  if (m.type === "revoke") {
    const r = requireObject(m.revoke, `${p}.revoke`);
    s.updates.push({
      kind: "delete",
      platform: "whatsapp",
      external_conversation_id: key,
      id: requireString(r.original_message_id, `${p}.revoke.original_message_id`),
      at: fromEpochSeconds(m.timestamp, `${p}.timestamp`),
    });
    return true;
  }
  if (m.type !== "edit") return false;
  const e = requireObject(m.edit, `${p}.edit`);
  const inner = requireObject(e.message, `${p}.edit.message`);
  const id = requireString(e.original_message_id, `${p}.edit.original_message_id`);
  const edited = build({ ...inner, id, timestamp: m.timestamp, group_id: m.group_id ?? inner.group_id });
  s.messages.push({ ...edited, edited_at: edited.sent_at });
  return true;
}

/** value.messages: the customers' messages (reactions are updates). */
function inboundMessages(value: Record<string, unknown>, path: string, s: Sink): void {
  const msgs = value.messages === undefined ? [] : requireArray(value.messages, `${path}.value.messages`);
  msgs.forEach((x, k) => {
    const p = `${path}.value.messages[${k}]`;
    mapItem(s.refused, p, () => {
      const m = requireObject(x, p);
      const who = party(s.contacts, m.from, m.from_user_id, m.from_parent_user_id, `${p}.from`, changedTo(m));
      if (m.type === "reaction") {
        const r = requireObject(m.reaction, `${p}.reaction`);
        s.updates.push({
          kind: "reaction",
          platform: "whatsapp",
          external_conversation_id: optionalString(m.group_id) ?? who.key,
          id: requireString(r.message_id, `${p}.reaction.message_id`),
          reactor: who.key,
          emoji: optionalString(r.emoji) ?? null, // an empty emoji removes the reaction
          at: fromEpochSeconds(m.timestamp, `${p}.timestamp`),
        });
        return;
      }
      const sender = { identifier: who.key, name: who.name };
      const build = (inner: Record<string, unknown>) => message(inner, `${p}.edit.message`, who, "inbound", sender);
      if (editOrRevoke(m, p, optionalString(m.group_id) ?? who.key, s, build)) return;
      s.messages.push(message(m, p, who, "inbound", sender));
    });
  });
}

/** value.message_echoes: what the business sent from the WhatsApp Business app (outbound). */
function echoes(value: Record<string, unknown>, path: string, s: Sink): void {
  const list = value.message_echoes === undefined
    ? []
    : requireArray(value.message_echoes, `${path}.value.message_echoes`);
  list.forEach((x, k) => {
    const p = `${path}.value.message_echoes[${k}]`;
    mapItem(s.refused, p, () => {
      const m = requireObject(x, p);
      const to = optionalString(m.group_id)
        ? null
        : party(s.contacts, m.to, m.to_user_id, m.to_parent_user_id, `${p}.to`);
      const from = optionalString(m.from);
      const sender = { identifier: from ? phone(from) : undefined };
      const build = (inner: Record<string, unknown>) => message(inner, `${p}.edit.message`, to, "outbound", sender);
      const key = optionalString(m.group_id) ?? to?.key;
      if (key && editOrRevoke(m, p, key, s, build)) return;
      s.messages.push(message(m, p, to, "outbound", sender));
    });
  });
}

/**
 * value.statuses: sent, delivered, read, failed and played (a voice message heard, ranked
 * above read) as they are; deleted as a delete of the message; warning ignored;
 * another status refused with its name (counted). A group's status is keyed by the group.
 */
function statuses(value: Record<string, unknown>, path: string, s: Sink): void {
  const list = value.statuses === undefined ? [] : requireArray(value.statuses, `${path}.value.statuses`);
  list.forEach((x, k) => {
    const p = `${path}.value.statuses[${k}]`;
    mapItem(s.refused, p, () => {
      const st = requireObject(x, p);
      const given = requireString(st.status, `${p}.status`);
      if (IGNORED_STATUSES.has(given)) return;
      const status = given;
      if (!STATUSES.has(status) && status !== "deleted") {
        throw new ShapeError(`${p}.status: ${JSON.stringify(status.slice(0, 40))} is not a status the function knows`);
      }
      const group = st.recipient_type === "group" ? optionalString(st.recipient_id) : undefined;
      const to = group ? null : party(
        s.contacts,
        st.recipient_id,
        st.recipient_user_id,
        st.recipient_parent_user_id,
        `${p}.recipient_id`,
      );
      const base = {
        platform: "whatsapp" as const,
        external_conversation_id: group ?? to!.key,
        id: requireString(st.id, `${p}.id`),
        at: fromEpochSeconds(st.timestamp, `${p}.timestamp`),
      };
      if (status === "deleted") {
        s.updates.push({ kind: "delete", ...base });
        return;
      }
      const errors = Array.isArray(st.errors) ? st.errors : [];
      const first = isObject(errors[0]) ? errors[0] : undefined;
      s.updates.push(compact({
        kind: "status",
        ...base,
        status: status as "sent" | "delivered" | "read" | "failed" | "played",
        error: status === "failed" && first ? compact({ code: first.code, title: first.title }) : undefined,
        // a status is of a message the business sent: one not stored was sent by another tool
        placeholder: true,
        // the phone and the user id together: the store records them as aliases
        participant_ids: to?.ids && Object.keys(to.ids).length > 1 ? to.ids : undefined,
      }) as MessageUpdate);
    });
  });
}

/**
 * The calls field: a terminate is the call's line in the customer's thread (id: the call
 * id; duration, answered or missed); connect (the SDP offer/answer) and the call statuses
 * (RINGING, ACCEPTED, REJECTED) say nothing the terminate does not: no message.
 */
function calls(value: Record<string, unknown>, path: string, s: Sink): void {
  const list = value.calls === undefined ? [] : requireArray(value.calls, `${path}.value.calls`);
  list.forEach((x, k) => {
    const p = `${path}.value.calls[${k}]`;
    mapItem(s.refused, p, () => {
      const c = requireObject(x, p);
      const event = requireString(c.event, `${p}.event`);
      if (event === "connect") return;
      if (event !== "terminate") {
        throw new ShapeError(
          `${p}.event: ${JSON.stringify(event.slice(0, 40))} is not a call event the function knows`,
        );
      }
      const outbound = c.direction === "BUSINESS_INITIATED";
      const who = outbound
        ? party(s.contacts, c.to, c.to_user_id, c.to_parent_user_id, `${p}.to`)
        : party(s.contacts, c.from, c.from_user_id, c.from_parent_user_id, `${p}.from`);
      const line = callLine(c);
      const ended = fromEpochSeconds(c.timestamp, `${p}.timestamp`);
      let started = ended;
      try {
        started = c.start_time === undefined ? ended : fromEpochSeconds(c.start_time, `${p}.start_time`);
      } catch {
        started = ended; // a start time that cannot be read: the terminate's time
      }
      s.messages.push(compact({
        platform: "whatsapp",
        external_conversation_id: who.key,
        participant_identifier: who.phone ?? who.username,
        participant_name: outbound ? undefined : who.name,
        participant_ids: who.ids,
        conversation_type: "direct",
        id: requireString(c.id, `${p}.id`),
        direction: outbound ? "outbound" : "inbound",
        type: line.type,
        content: line.content,
        sent_at: started,
        sender_identifier: outbound ? s.business : who.key,
        sender_name: outbound ? undefined : who.name,
        metadata: line.metadata,
      }) as IngestMessage);
    });
  });
}

/**
 * The history field (a WhatsApp Business app number connected to Cloud API): up to 180 days
 * of the app's chats, in three phases of chunks. Each thread's messages are stored with
 * their original times, outbound when the business sent them, and marked
 * `metadata.history` ({phase, chunk_order, progress, status}); each chunk's phase and
 * progress, and a history entry's errors (the business declined sharing: no messages), go
 * to the connection (ConnectionState.history).
 */
function history(value: Record<string, unknown>, path: string, s: Sink): void {
  const list = value.history === undefined ? [] : requireArray(value.history, `${path}.value.history`);
  list.forEach((h, i) => {
    const hp = `${path}.value.history[${i}]`;
    mapItem(s.refused, hp, () => {
      const chunk = requireObject(h, hp);
      const md = isObject(chunk.metadata) ? chunk.metadata : {};
      const mark = compact({ phase: md.phase, chunk_order: md.chunk_order, progress: md.progress });
      const news = stateOf(s.delivery).history ??= { chunks: [] };
      const at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z"); // a chunk carries no time
      if (typeof md.phase === "number") {
        news.chunks.push(compact({
          phase: md.phase,
          chunk_order: typeof md.chunk_order === "number" ? md.chunk_order : undefined,
          progress: typeof md.progress === "number" ? md.progress : undefined,
          at,
        }));
      }
      const errors = Array.isArray(chunk.errors) ? chunk.errors : [];
      const first = isObject(errors[0]) ? errors[0] : undefined;
      if (first) {
        const data = isObject(first.error_data) ? first.error_data : {};
        news.error = compact({
          code: typeof first.code === "number" ? first.code : optionalString(first.code),
          title: optionalString(first.title) ?? optionalString(first.message),
          details: optionalString(data.details),
          at,
        });
      }
      const threads = chunk.threads === undefined ? [] : requireArray(chunk.threads, `${hp}.threads`);
      threads.forEach((t, j) => {
        const tp = `${hp}.threads[${j}]`;
        mapItem(s.refused, tp, () => {
          const thread = requireObject(t, tp);
          const msgs = thread.messages === undefined ? [] : requireArray(thread.messages, `${tp}.messages`);
          const who = party(s.contacts, thread.id, thread.user_id, thread.parent_user_id, `${tp}.id`);
          msgs.forEach((x, k) => {
            const p = `${tp}.messages[${k}]`;
            mapItem(s.refused, p, () => {
              const m = requireObject(x, p);
              const from = optionalString(m.from);
              const outbound = from !== undefined && s.business !== undefined && digits(from) === digits(s.business);
              const ctx = isObject(m.history_context) ? m.history_context : {};
              const status = optionalString(ctx.status)?.toLowerCase();
              s.messages.push(message(
                m,
                p,
                who,
                outbound ? "outbound" : "inbound",
                outbound ? { identifier: s.business } : { identifier: who.key, name: who.name },
                { history: compact({ ...mark, status }) },
              ));
            });
          });
        });
      });
    });
  });
}

/**
 * value.state_sync (smb_app_state_sync): the Business app's contacts added, edited or removed,
 * the business's own names for numbers; they go to the connection as suggestions
 * (ConnectionState.contacts), never to people. Another sync type is counted as unknown.
 */
function stateSync(value: Record<string, unknown>, path: string, s: Sink): void {
  const list = value.state_sync === undefined ? [] : requireArray(value.state_sync, `${path}.value.state_sync`);
  list.forEach((x, k) => {
    const p = `${path}.value.state_sync[${k}]`;
    mapItem(s.refused, p, () => {
      const item = requireObject(x, p);
      const type = requireString(item.type, `${p}.type`);
      if (type !== "contact") {
        countUnknown(s.delivery, `state_sync:${type.slice(0, 60)}`);
        return;
      }
      const contact = requireObject(item.contact, `${p}.contact`);
      const number = digits(requireString(contact.phone_number, `${p}.contact.phone_number`));
      if (number === "") throw new ShapeError(`${p}.contact.phone_number: no digits`);
      const action = requireString(item.action, `${p}.action`);
      if (action !== "add" && action !== "edit" && action !== "remove") {
        throw new ShapeError(`${p}.action: ${JSON.stringify(action.slice(0, 40))} is not add, edit or remove`);
      }
      const md = isObject(item.metadata) ? item.metadata : {};
      const state = stateOf(s.delivery);
      (state.contacts ??= []).push(compact({
        identifier: phone(number),
        name: optionalString(contact.full_name) ?? optionalString(contact.first_name),
        first_name: optionalString(contact.first_name),
        action,
        at: fromEpochSeconds(md.timestamp, `${p}.metadata.timestamp`),
      }));
    });
  });
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
  const delivery: Delivery = { messages, updates, refused };
  requireArray(root.entry, "entry").forEach((e, i) => {
    const entry = requireObject(e, `entry[${i}]`);
    requireArray(entry.changes, `entry[${i}].changes`).forEach((c, j) => {
      const path = `entry[${i}].changes[${j}]`;
      const change = requireObject(c, path);
      // other fields (account, template and phone number updates: docs/kinds.md) are no
      // messages; a field Meta adds later is counted on the connection
      if (!FIELDS.has(String(change.field))) {
        if (!IGNORED_FIELDS.has(String(change.field))) countUnknown(delivery, `field:${String(change.field)}`);
        return;
      }
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
      const md = isObject(value.metadata) ? value.metadata : {};
      const display = optionalString(md.display_phone_number);
      const sink: Sink = {
        delivery,
        messages,
        updates,
        refused,
        contacts: contactsOf(value),
        business: display ? phone(digits(display)) : undefined,
      };
      if (change.field === "smb_message_echoes") echoes(value, path, sink);
      else if (change.field === "calls") {
        calls(value, path, sink);
      } else if (change.field === "history") history(value, path, sink);
      else if (change.field === "smb_app_state_sync") stateSync(value, path, sink);
      else {
        inboundMessages(value, path, sink);
        statuses(value, path, sink);
      }
    });
  });
  return delivery;
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
