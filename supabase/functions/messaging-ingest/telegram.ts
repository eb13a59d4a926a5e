// Telegram Bot API webhooks: the X-Telegram-Bot-Api-Secret-Token header, and the Update
// object's message, edited_message, channel_post, edited_channel_post, business_message,
// edited_business_message and message_reaction. Ids follow the importer's scheme
// (`<chat id>:<message id>`), so an export import and live updates meet.

import { type Adapter, parseJson } from "./adapter.ts";
import { json } from "./answers.ts";
import { safeEqualString } from "./crypto.ts";
import { participantIds } from "./participant_ids.ts";
import {
  compact,
  type Delivery,
  fromEpochSeconds,
  type IngestMessage,
  isObject,
  mapItem,
  type MessageType,
  optionalString,
  type Refusal,
  requireObject,
  requireString,
  scalarText,
  ShapeError,
} from "./types.ts";

export function verifySecretToken(header: string | null, secretToken: string | undefined): boolean {
  return safeEqualString(header, secretToken);
}

const MESSAGE_KEYS = ["message", "channel_post", "business_message"] as const;
const EDIT_KEYS = ["edited_message", "edited_channel_post", "edited_business_message"] as const;

const MEDIA: [string, MessageType][] = [
  ["photo", "image"],
  ["video", "video"],
  ["animation", "video"],
  ["video_note", "video"],
  ["voice", "voice"],
  ["audio", "audio"],
  ["document", "document"],
  ["sticker", "sticker"],
  ["location", "location"],
  ["venue", "location"],
  ["contact", "contact"],
];

const SYSTEM = [
  "new_chat_members",
  "left_chat_member",
  "new_chat_title",
  "new_chat_photo",
  "delete_chat_photo",
  "group_chat_created",
  "supergroup_chat_created",
  "channel_chat_created",
  "pinned_message",
  "migrate_to_chat_id",
  "migrate_from_chat_id",
];

/** Keys every Message has that say nothing about its kind. */
const COMMON = new Set([
  "message_id",
  "message_thread_id",
  "from",
  "sender_chat",
  "sender_boost_count",
  "sender_business_bot",
  "date",
  "business_connection_id",
  "chat",
  "forward_origin",
  "is_topic_message",
  "is_automatic_forward",
  "reply_to_message",
  "external_reply",
  "quote",
  "reply_to_story",
  "via_bot",
  "edit_date",
  "has_protected_content",
  "is_from_offline",
  "media_group_id",
  "author_signature",
  "entities",
  "caption",
  "caption_entities",
  "show_caption_above_media",
  "has_media_spoiler",
  "link_preview_options",
  "reply_markup",
  "effect_id",
]); // fmt: skip

function fullName(o: Record<string, unknown>): string | undefined {
  const name = [optionalString(o.first_name), optionalString(o.last_name)].filter(Boolean).join(" ");
  return name || optionalString(o.title);
}

function username(o: Record<string, unknown>): string | undefined {
  const u = optionalString(o.username);
  return u ? u.replace(/^@/, "").toLowerCase() : undefined;
}

function kind(
  m: Record<string, unknown>,
): { type: MessageType; content: string | null; meta: Record<string, unknown> } {
  if (typeof m.text === "string") return { type: "text", content: m.text, meta: {} };
  for (const [key, type] of MEDIA) {
    if (m[key] === undefined) continue;
    const part = m[key];
    const file = Array.isArray(part) ? part[part.length - 1] : part; // photo: sizes, largest last
    const meta: Record<string, unknown> = {};
    if (isObject(file) && typeof file.file_id === "string") meta.file_id = file.file_id;
    let content = optionalString(m.caption) ?? null;
    if (key === "location" && isObject(part)) {
      meta.latitude = part.latitude;
      meta.longitude = part.longitude;
      content ??= `${scalarText(part.latitude)},${scalarText(part.longitude)}`;
    } else if (key === "venue" && isObject(part)) {
      content ??= [optionalString(part.title), optionalString(part.address)].filter(Boolean).join(", ") || null;
    } else if (key === "contact" && isObject(part)) {
      content ??= [fullName(part), optionalString(part.phone_number)].filter(Boolean).join(" ") || null;
    } else if (key === "sticker" && isObject(part)) {
      content ??= optionalString(part.emoji) ?? null;
    } else if (key === "document" && isObject(part) && typeof part.file_name === "string") {
      meta.filename = part.file_name;
    }
    return { type, content, meta };
  }
  const system = SYSTEM.find((k) => m[k] !== undefined);
  if (system) return { type: "system", content: system.replaceAll("_", " "), meta: { telegram_type: system } };
  const other = Object.keys(m).find((k) => !COMMON.has(k)) ?? "unknown";
  return { type: "other", content: optionalString(m.caption) ?? null, meta: { telegram_type: other } };
}

function mapMessage(raw: unknown, path: string, edited: boolean): IngestMessage {
  const m = requireObject(raw, path);
  const chat = requireObject(m.chat, `${path}.chat`);
  const chatId = requireString(chat.id, `${path}.chat.id`);
  const messageId = requireString(m.message_id, `${path}.message_id`);
  const from = isObject(m.from) ? m.from : undefined;
  const senderChat = isObject(m.sender_chat) ? m.sender_chat : undefined;
  const direct = chat.type === "private";
  // in a private chat the other party is the chat itself: a message from anyone else
  // (the business account, in a business chat) is ours
  const outbound = direct && from !== undefined && String(from.id) !== chatId;
  const k = kind(m);
  const reply = isObject(m.reply_to_message) ? optionalString(m.reply_to_message.message_id) : undefined;
  let editedAt: string | undefined;
  if (edited) editedAt = fromEpochSeconds(m.edit_date, `${path}.edit_date`);
  return compact({
    platform: "telegram",
    external_conversation_id: chatId,
    participant_identifier: direct ? username(chat) : undefined,
    participant_name: fullName(chat),
    // a private chat's id is the user's id, which never changes; a new username is an alias
    participant_ids: direct ? participantIds([["telegram_user_id", chatId], ["username", username(chat)]]) : undefined,
    conversation_type: direct ? "direct" : "group",
    id: `${chatId}:${messageId}`,
    direction: outbound ? "outbound" : "inbound",
    type: k.type,
    content: k.content,
    sent_at: fromEpochSeconds(m.date, `${path}.date`),
    edited_at: editedAt,
    sender_identifier: from
      ? (username(from) ?? optionalString(from.id))
      : senderChat
      ? optionalString(senderChat.id)
      : undefined,
    sender_name: from ? fullName(from) : senderChat ? fullName(senderChat) : undefined,
    reply_to_id: reply ? `${chatId}:${reply}` : undefined,
    metadata: Object.keys(k.meta).length ? k.meta : undefined,
  }) as IngestMessage;
}

/**
 * Maps one Update; updates of other kinds (callback queries, polls, ...) map to nothing. A
 * message or reaction the mapping cannot read is refused alone (in `refused`).
 */
export function mapTelegram(payload: unknown): Delivery {
  const update = requireObject(payload, "body");
  if (typeof update.update_id !== "number" || !Number.isSafeInteger(update.update_id)) {
    throw new ShapeError("update_id: must be an integer (a Telegram Update object)");
  }
  const refused: Refusal[] = [];
  const delivery: Delivery = { messages: [], updates: [], refused };
  for (const key of MESSAGE_KEYS) {
    if (update[key] !== undefined) {
      mapItem(refused, key, () => delivery.messages.push(mapMessage(update[key], key, false)));
    }
  }
  for (const key of EDIT_KEYS) {
    if (update[key] !== undefined) {
      mapItem(refused, key, () => delivery.messages.push(mapMessage(update[key], key, true)));
    }
  }
  if (update.message_reaction !== undefined) {
    mapItem(refused, "message_reaction", () => {
      const r = requireObject(update.message_reaction, "message_reaction");
      const chat = requireObject(r.chat, "message_reaction.chat");
      const chatId = requireString(chat.id, "message_reaction.chat.id");
      const actor = isObject(r.user) ? r.user : isObject(r.actor_chat) ? r.actor_chat : undefined;
      const reactions = Array.isArray(r.new_reaction) ? r.new_reaction : [];
      const first = reactions.find((x) => isObject(x) && x.type === "emoji") as Record<string, unknown> | undefined;
      delivery.updates.push({
        kind: "reaction",
        platform: "telegram",
        external_conversation_id: chatId,
        id: `${chatId}:${requireString(r.message_id, "message_reaction.message_id")}`,
        reactor: actor ? (username(actor) ?? requireString(actor.id, "message_reaction.user.id")) : "anonymous",
        emoji: first ? (optionalString(first.emoji) ?? null) : null,
        at: fromEpochSeconds(r.date, "message_reaction.date"),
      });
    });
  }
  return delivery;
}

/** The Telegram Bot API webhook: POST only, X-Telegram-Bot-Api-Secret-Token, JSON answers. */
export const adapter: Adapter = {
  // the secret token header is the whole check, made before the body is read
  authorize: (req, _url, c) =>
    verifySecretToken(req.headers.get("x-telegram-bot-api-secret-token"), c.secrets.secret_token)
      ? null
      : "X-Telegram-Bot-Api-Secret-Token: missing or wrong",
  verify: null,
  map: (raw) => mapTelegram(parseJson(raw)),
  handshake: null,
  answer: json,
  // a resent update carries the same ids: stored once by the store's dedupe
  replayGuard: null,
};
