// Telegram Bot API webhooks: the X-Telegram-Bot-Api-Secret-Token header, and the Update
// object's message, edited_message, channel_post, edited_channel_post, business_message,
// edited_business_message, message_reaction, deleted_business_messages, callback_query,
// poll, poll_answer and my_chat_member (what each kind becomes: telegram_kinds.ts and docs/kinds.md, ## Telegram).
// Ids follow the importer's scheme (`<chat id>:<message id>`), so an export import and live
// updates meet.

import { type Adapter, parseJson } from "./adapter.ts";
import { json } from "./answers.ts";
import { countUnknown, stateOf } from "./connection_state.ts";
import { safeEqualString } from "./crypto.ts";
import { participantIds } from "./participant_ids.ts";
import { contextMeta, fullName, kindOf, pollAnswerUpdate, pollStateUpdate, username } from "./telegram_kinds.ts";
import {
  compact,
  type Delivery,
  fromEpochSeconds,
  type IngestMessage,
  isObject,
  mapItem,
  optionalString,
  type ReactionUpdate,
  type Refusal,
  requireArray,
  requireObject,
  requireString,
  ShapeError,
} from "./types.ts";

export function verifySecretToken(header: string | null, secretToken: string | undefined): boolean {
  return safeEqualString(header, secretToken);
}

const MESSAGE_KEYS = ["message", "channel_post", "business_message"] as const;
const EDIT_KEYS = ["edited_message", "edited_channel_post", "edited_business_message"] as const;
/**
 * The Update fields the Bot API documents (docs/kinds.md says what each becomes); any other
 * is a future update type: counted on the connection by its name, stored as nothing.
 */
const KNOWN_UPDATES = new Set([
  "update_id",
  ...MESSAGE_KEYS,
  ...EDIT_KEYS,
  "business_connection",
  "deleted_business_messages",
  "message_reaction",
  "message_reaction_count",
  "inline_query",
  "chosen_inline_result",
  "callback_query",
  "shipping_query",
  "pre_checkout_query",
  "purchased_paid_media",
  "poll",
  "poll_answer",
  "my_chat_member",
  "chat_member",
  "chat_join_request",
  "chat_boost",
  "removed_chat_boost",
]);

/**
 * business_connection: the business account connected the bot, or changed what it may do.
 * Its state (enabled, can reply) goes to the connection; its time is the update's date.
 */
function businessConnection(raw: unknown, delivery: Delivery): void {
  const b = requireObject(raw, "business_connection");
  const rights = isObject(b.rights) ? b.rights : undefined;
  // Bot API 9.0 moved can_reply into rights; earlier updates carry it on the object
  const canReply = rights ? rights.can_reply === true : b.can_reply === true;
  const user = isObject(b.user) ? b.user : {};
  const name = [optionalString(user.first_name), optionalString(user.last_name)].filter(Boolean).join(" ");
  if (typeof b.is_enabled !== "boolean") throw new ShapeError("business_connection.is_enabled: must be true or false");
  stateOf(delivery).business = compact({
    id: requireString(b.id, "business_connection.id"),
    enabled: b.is_enabled,
    can_reply: canReply,
    at: fromEpochSeconds(b.date, "business_connection.date"),
    user: name || optionalString(user.username),
  });
}

/** Keys every Message has that say nothing about its kind. */
const COMMON = new Set([
  "message_id",
  "message_thread_id",
  "direct_messages_topic",
  "from",
  "sender_chat",
  "sender_boost_count",
  "sender_business_bot",
  "sender_tag",
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
  "reply_to_checklist_task_id",
  "via_bot",
  "edit_date",
  "has_protected_content",
  "is_from_offline",
  "is_paid_post",
  "paid_star_count",
  "media_group_id",
  "author_signature",
  "entities",
  "caption",
  "caption_entities",
  "show_caption_above_media",
  "has_media_spoiler",
  "link_preview_options",
  "suggested_post_info",
  "reply_markup",
  "effect_id",
]); // fmt: skip

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
  const k = kindOf(m, COMMON);
  const meta = { ...k.meta, ...contextMeta(m) };
  // in a forum topic, a message that replies to nothing carries the topic's creation message
  // as reply_to_message: that is its topic (metadata.topic), not a reply
  const replied = isObject(m.reply_to_message) && m.reply_to_message.forum_topic_created === undefined
    ? m.reply_to_message
    : undefined;
  const reply = replied ? optionalString(replied.message_id) : undefined;
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
    metadata: Object.keys(meta).length ? meta : undefined,
  }) as IngestMessage;
}

/** ReactionType as the store's reaction text: the emoji, `custom_emoji:<id>`, or ⭐ (paid). */
function reactionText(r: unknown): string | null {
  if (!isObject(r)) return null;
  if (r.type === "emoji") return optionalString(r.emoji) ?? null;
  if (r.type === "custom_emoji") {
    const id = optionalString(r.custom_emoji_id);
    return id ? `custom_emoji:${id}` : "custom_emoji";
  }
  if (r.type === "paid") return "\u2B50";
  // a future reaction type is a reaction all the same, named by its type
  return optionalString(r.type) ?? null;
}

/**
 * A MessageReactionUpdated: the reactor's reaction now. The one just added (in new_reaction
 * and not in old_reaction) wins, else the first kept; an empty new_reaction removes it.
 */
function mapReaction(raw: unknown): ReactionUpdate {
  const r = requireObject(raw, "message_reaction");
  const chat = requireObject(r.chat, "message_reaction.chat");
  const chatId = requireString(chat.id, "message_reaction.chat.id");
  const actor = isObject(r.user) ? r.user : isObject(r.actor_chat) ? r.actor_chat : undefined;
  const now = (Array.isArray(r.new_reaction) ? r.new_reaction : []).map(reactionText).filter((x) => x !== null);
  const before = new Set((Array.isArray(r.old_reaction) ? r.old_reaction : []).map(reactionText));
  const emoji = now.find((x) => !before.has(x)) ?? now[0] ?? null;
  return {
    kind: "reaction",
    platform: "telegram",
    external_conversation_id: chatId,
    id: `${chatId}:${requireString(r.message_id, "message_reaction.message_id")}`,
    reactor: actor ? (username(actor) ?? requireString(actor.id, "message_reaction.user.id")) : "anonymous",
    emoji,
    at: fromEpochSeconds(r.date, "message_reaction.date"),
  };
}

/**
 * Maps one Update; updates of other kinds (inline queries, payments, ...) map to
 * nothing (docs/kinds.md says why, kind by kind). A message, reaction or deleted id the
 * mapping cannot read is refused alone (in `refused`).
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
  if (update.callback_query !== undefined) {
    mapItem(refused, "callback_query", () => {
      const q = requireObject(update.callback_query, "callback_query");
      // a press in inline mode (inline_message_id, no message) belongs to no chat the store has
      const pressedOn = q.message;
      if (pressedOn === undefined) return;
      const on = requireObject(pressedOn, "callback_query.message");
      const id = requireString(q.id, "callback_query.id");
      // the press is a message of the chat of the message whose button was pressed, answering it;
      // the update carries no time: the press is as of its arrival
      const press = {
        message_id: `callback:${id}`,
        from: q.from,
        chat: on.chat,
        date: Math.floor(Date.now() / 1000),
        reply_to_message: { message_id: on.message_id },
        callback_query: q,
      };
      delivery.messages.push(mapMessage(press, "callback_query", false));
    });
  }
  if (update.my_chat_member !== undefined) {
    mapItem(refused, "my_chat_member", () => {
      const c = requireObject(update.my_chat_member, "my_chat_member");
      const date = requireString(c.date, "my_chat_member.date");
      const status = isObject(c.new_chat_member) ? optionalString(c.new_chat_member.status) : undefined;
      // a system line of the chat: in a private chat, the user blocked or unblocked the bot
      const line = { ...c, message_id: `member:${date}:${status ?? "unknown"}`, my_chat_member: c };
      delivery.messages.push(mapMessage(line, "my_chat_member", false));
    });
  }
  if (update.message_reaction !== undefined) {
    mapItem(refused, "message_reaction", () => delivery.updates.push(mapReaction(update.message_reaction)));
  }
  if (update.business_connection !== undefined) {
    mapItem(refused, "business_connection", () => businessConnection(update.business_connection, delivery));
  }
  // a future update type: counted by its name, never refused
  for (const key of Object.keys(update)) if (!KNOWN_UPDATES.has(key)) countUnknown(delivery, key);
  // a poll's later counts and a voter's choice name the poll id only (the store finds the
  // poll message by it); neither carries a time: as of their arrival
  if (update.poll !== undefined) {
    mapItem(refused, "poll", () => delivery.updates.push(pollStateUpdate(update.poll, new Date().toISOString())));
  }
  if (update.poll_answer !== undefined) {
    mapItem(
      refused,
      "poll_answer",
      () => delivery.updates.push(pollAnswerUpdate(update.poll_answer, new Date().toISOString())),
    );
  }
  if (update.deleted_business_messages !== undefined) {
    mapItem(refused, "deleted_business_messages", () => {
      const d = requireObject(update.deleted_business_messages, "deleted_business_messages");
      const chat = requireObject(d.chat, "deleted_business_messages.chat");
      const chatId = requireString(chat.id, "deleted_business_messages.chat.id");
      const ids = requireArray(d.message_ids, "deleted_business_messages.message_ids");
      // the update carries no time: the deletes are as of their arrival
      const at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      ids.forEach((id, i) => {
        const messageId = optionalString(id);
        if (messageId === undefined) {
          refused.push({
            path: `deleted_business_messages.message_ids[${i}]`,
            kind: "invalid_shape",
            reason: `deleted_business_messages.message_ids[${i}]: must be a message id`,
          });
          return;
        }
        delivery.updates.push({
          kind: "delete",
          platform: "telegram",
          external_conversation_id: chatId,
          id: `${chatId}:${messageId}`,
          at,
        });
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
