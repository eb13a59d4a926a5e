// What a Telegram Bot API Message is (docs/kinds.md, ## Telegram): its stored type, content
// and metadata. Every kind the Bot API's Message object names has a decided meaning; a key
// this module does not know (a future kind) is `other` with `metadata.platform_kind` naming
// it. A documented field that is missing or malformed is left out (what can be read is
// kept): nothing here throws on a value of the wrong shape.

import {
  isObject,
  type MessageType,
  optionalString,
  type PollUpdate,
  requireArray,
  requireObject,
  requireString,
  scalarText,
  ShapeError,
  type VoteUpdate,
} from "./types.ts";

type Obj = Record<string, unknown>;
export type Kind = { type: MessageType; content: string | null; meta: Obj };

/** At most this many entities (links, mentions, ...) are kept: metadata is capped in size. */
export const MAX_ENTITIES = 100;
/** At most this many characters of JSON of entities are kept. */
export const ENTITIES_MAX_CHARS = 6000;
/** At most this many poll options and named members are kept. */
const MAX_LIST = 20;

export function fullName(o: Obj): string | undefined {
  const name = [optionalString(o.first_name), optionalString(o.last_name)].filter(Boolean).join(" ");
  return name || optionalString(o.title);
}

export function username(o: Obj): string | undefined {
  const u = optionalString(o.username);
  return u ? u.replace(/^@/, "").toLowerCase() : undefined;
}

function obj(v: unknown): Obj | undefined {
  return isObject(v) ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Drops undefined values; undefined when nothing is left. */
function some(o: Obj): Obj | undefined {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return Object.keys(o).length ? o : undefined;
}

/** A user or chat as the store keeps a person named in a message: id, name, username. */
export function who(v: unknown): Obj | undefined {
  const o = obj(v);
  if (!o) return undefined;
  return some({ id: optionalString(o.id), name: fullName(o), username: username(o) });
}

function nameOf(v: unknown): string {
  const o = obj(v);
  return (o && (fullName(o) ?? optionalString(o.username))) ?? "someone";
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function quoted(s: unknown): string {
  return `"${typeof s === "string" ? s : scalarText(s)}"`;
}

/**
 * MessageEntity list: type, offset, length and what makes it clickable (url, user, ...). At
 * most MAX_ENTITIES, and at most ENTITIES_MAX_CHARS of JSON (a message's metadata is capped
 * at 16,384 characters): the entities past either cap are left out, `entities_truncated` says so.
 */
export function entities(v: unknown): { entities?: Obj[]; entities_truncated?: true } {
  const all = list(v);
  const out: Obj[] = [];
  let chars = 0;
  for (const e of all.slice(0, MAX_ENTITIES)) {
    if (!isObject(e) || typeof e.type !== "string") continue;
    const offset = num(e.offset);
    const length = num(e.length);
    if (offset === undefined || length === undefined) continue;
    const kept = some({
      type: e.type,
      offset,
      length,
      url: optionalString(e.url),
      user: who(e.user),
      language: optionalString(e.language),
      custom_emoji_id: optionalString(e.custom_emoji_id),
    })!;
    chars += JSON.stringify(kept).length + 1; // flat values only: no deep recursion
    if (chars > ENTITIES_MAX_CHARS) return { entities: out, entities_truncated: true };
    out.push(kept);
  }
  if (out.length === 0) return {};
  return all.length > MAX_ENTITIES ? { entities: out, entities_truncated: true } : { entities: out };
}

/** MessageOrigin (forward_origin, external_reply.origin): who the message came from. */
export function origin(v: unknown): Obj | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const type = optionalString(o.type);
  const from = type === "user"
    ? who(o.sender_user)
    : type === "hidden_user"
    ? some({ name: optionalString(o.sender_user_name) })
    : type === "chat"
    ? who(o.sender_chat)
    : type === "channel"
    ? who(o.chat)
    : undefined;
  return some({
    type,
    from,
    message_id: optionalString(o.message_id),
    signature: optionalString(o.author_signature),
    date: num(o.date),
  });
}

/** The file of a media kind: photo sizes come smallest first, the largest is kept. */
function fileMeta(part: unknown): Obj {
  const file = Array.isArray(part) ? part[part.length - 1] : part;
  const f = obj(file);
  if (!f) return {};
  return some({
    file_id: optionalString(f.file_id),
    mime_type: optionalString(f.mime_type),
    filename: optionalString(f.file_name),
    duration_seconds: num(f.duration),
  }) ?? {};
}

const MEDIA: [string, MessageType][] = [
  ["photo", "image"],
  ["animation", "video"], // an animation carries `document` too (backward compatibility): first
  ["video", "video"],
  ["video_note", "video"],
  ["voice", "voice"],
  ["audio", "audio"],
  ["document", "document"],
  ["sticker", "sticker"],
]; // fmt: skip

/** Kinds stored on a type that does not name them: `metadata.platform_kind` does. */
const NAMED = new Set(["animation", "video_note"]);
/**
 * Message kinds the Bot API documents that the store keeps as `other` with their name and
 * no shape of their own yet (docs/kinds.md: "as invoice"): known, so not counted as unknown.
 */
export const DOCUMENTED_OTHER = new Set([
  "invoice",
  "successful_payment",
  "refunded_payment",
  "game",
  "paid_media",
  "giveaway",
  "giveaway_winners",
  "checklist",
  "web_app_data",
  "passport_data",
]);

/** Service messages: a system line saying who did what. */
const SERVICE: Record<string, (m: Obj, actor: string) => [string, Obj?]> = {
  new_chat_members: (m, actor) => {
    const members = list(m.new_chat_members);
    const from = obj(m.from);
    const self = members.length === 1 && isObject(members[0]) && from && String(members[0].id) === String(from.id);
    const named = members.slice(0, MAX_LIST).map(nameOf).join(", ") || "someone";
    return [self ? `${actor} joined` : `${actor} added ${named}`, {
      members: members.slice(0, MAX_LIST).map(who).filter(Boolean),
    }];
  },
  left_chat_member: (m, actor) => {
    const from = obj(m.from);
    const left = obj(m.left_chat_member);
    const self = from && left && String(from.id) === String(left.id);
    return [self ? `${actor} left` : `${actor} removed ${nameOf(left)}`, { members: [who(left)].filter(Boolean) }];
  },
  new_chat_title: (m, actor) => [`${actor} changed the title to ${quoted(m.new_chat_title)}`, {
    title: optionalString(m.new_chat_title),
  }],
  new_chat_photo: (_m, actor) => [`${actor} changed the group photo`],
  delete_chat_photo: (_m, actor) => [`${actor} removed the group photo`],
  group_chat_created: (_m, actor) => [`${actor} created the group`],
  supergroup_chat_created: (_m, actor) => [`${actor} created the group`],
  channel_chat_created: () => ["The channel was created"],
  migrate_to_chat_id: (m) => ["The group became a supergroup", { chat_id: optionalString(m.migrate_to_chat_id) }],
  migrate_from_chat_id: (m) => ["The group became a supergroup", { chat_id: optionalString(m.migrate_from_chat_id) }],
  pinned_message: (m, actor) => {
    const p = obj(m.pinned_message);
    const text = p && (optionalString(p.text) ?? optionalString(p.caption));
    const short = text && text.length > 80 ? `${text.slice(0, 79)}…` : text;
    return [short ? `${actor} pinned ${quoted(short)}` : `${actor} pinned a message`, {
      // the stored id of the pinned message (`<chat id>:<message id>`)
      pinned_id: p && optionalString(obj(m.chat)?.id) && optionalString(p.message_id)
        ? `${optionalString(obj(m.chat)?.id)}:${optionalString(p.message_id)}`
        : undefined,
    }];
  },
  message_auto_delete_timer_changed: (m, actor) => {
    const t = obj(m.message_auto_delete_timer_changed);
    const s = t ? num(t.message_auto_delete_time) : undefined;
    return [
      s ? `${actor} set messages to be deleted after ${duration(s)}` : `${actor} turned off auto-delete`,
      { auto_delete_seconds: s },
    ];
  },
  forum_topic_created: (m, actor) => {
    const t = obj(m.forum_topic_created);
    return [`${actor} created the topic ${quoted(t?.name ?? "")}`, {
      topic_name: t ? optionalString(t.name) : undefined,
    }];
  },
  forum_topic_edited: (m, actor) => {
    const t = obj(m.forum_topic_edited);
    const name = t ? optionalString(t.name) : undefined;
    return [name ? `${actor} renamed the topic to ${quoted(name)}` : `${actor} changed the topic icon`, {
      topic_name: name,
    }];
  },
  forum_topic_closed: (_m, actor) => [`${actor} closed the topic`],
  forum_topic_reopened: (_m, actor) => [`${actor} reopened the topic`],
  general_forum_topic_hidden: (_m, actor) => [`${actor} hid the General topic`],
  general_forum_topic_unhidden: (_m, actor) => [`${actor} showed the General topic`],
  video_chat_scheduled: (m, actor) => {
    const t = obj(m.video_chat_scheduled);
    const at = t ? num(t.start_date) : undefined;
    const when = at && at > 0 && at < 1e11 ? new Date(at * 1000).toISOString().replace(".000Z", "Z") : undefined;
    return [`${actor} scheduled a video chat${when ? ` for ${when}` : ""}`, {
      call: { media: "video", scheduled_for: when },
    }];
  },
  video_chat_started: (_m, actor) => [`${actor} started a video chat`, { call: { media: "video" } }],
  video_chat_ended: (m) => {
    const t = obj(m.video_chat_ended);
    const s = t ? num(t.duration) : undefined;
    return [`The video chat ended${s !== undefined ? ` (${duration(s)})` : ""}`, {
      call: some({ media: "video", duration_seconds: s }),
    }];
  },
  video_chat_participants_invited: (m, actor) => {
    const t = obj(m.video_chat_participants_invited);
    const users = t ? list(t.users) : [];
    return [`${actor} invited ${users.slice(0, MAX_LIST).map(nameOf).join(", ") || "someone"} to the video chat`, {
      members: users.slice(0, MAX_LIST).map(who).filter(Boolean),
      call: { media: "video" },
    }];
  },
  write_access_allowed: (_m, actor) => [`${actor} allowed the bot to write`],
  proximity_alert_triggered: (m) => {
    const p = obj(m.proximity_alert_triggered);
    return [`${nameOf(p?.traveler)} is within ${scalarText(p?.distance ?? "?")} m of ${nameOf(p?.watcher)}`];
  },
  boost_added: (m, actor) => [`${actor} boosted the group`, { boost_count: num(obj(m.boost_added)?.boost_count) }],
  chat_background_set: (_m, actor) => [`${actor} changed the chat background`],
  users_shared: (_m, actor) => [`${actor} shared users with the bot`],
  chat_shared: (_m, actor) => [`${actor} shared a chat with the bot`],
  connected_website: (m, actor) => [`${actor} logged in on ${scalarText(m.connected_website)}`],
  // not a Message field: the my_chat_member update, as a line of its chat (telegram.ts)
  my_chat_member: (m, actor) => {
    const u = obj(m.my_chat_member);
    const was = optionalString(obj(u?.old_chat_member)?.status);
    const now = optionalString(obj(u?.new_chat_member)?.status);
    const direct = obj(m.chat)?.type === "private";
    const line = direct
      ? now === "kicked"
        ? `${actor} blocked the bot`
        : was === "kicked"
        ? `${actor} unblocked the bot`
        : `${actor} started the bot`
      : now === "left" || now === "kicked"
      ? `${actor} removed the bot`
      : was === "left" || was === "kicked"
      ? `${actor} added the bot`
      : `${actor} made the bot ${now ?? "a member"}`;
    return [line, { bot_status: now, bot_status_before: was }];
  },
};

function duration(s: number): string {
  if (s % 86400 === 0) return `${s / 86400} day${s === 86400 ? "" : "s"}`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`.replace(/ 0 s$/, "");
  return `${s} s`;
}

/** The sender as a service line names it. */
function actorOf(m: Obj): string {
  const from = obj(m.from) ?? obj(m.sender_chat);
  return from ? nameOf(from) : "Someone";
}

/** Kinds with content of their own that the store keeps on `other`, or on location/contact. */
function special(m: Obj): Kind | undefined {
  const caption = optionalString(m.caption) ?? null;
  if (m.callback_query !== undefined) {
    // not a Message field: an inline-keyboard press, as a message of its chat (telegram.ts)
    const q = obj(m.callback_query) ?? {};
    const data = optionalString(q.data);
    const label = buttonLabel(obj(q.message), data);
    return {
      type: "other",
      content: label ?? data ?? optionalString(q.game_short_name) ?? null,
      meta: {
        platform_kind: "callback_query",
        ...(some({ interactive: some({ type: "callback", label, data, game: optionalString(q.game_short_name) }) }) ??
          {}),
      },
    };
  }
  const venue = obj(m.venue);
  if (m.venue !== undefined) {
    // a venue carries `location` too (backward compatibility): the venue is the kind
    const loc = venue ? obj(venue.location) : undefined;
    const title = venue ? optionalString(venue.title) : undefined;
    const address = venue ? optionalString(venue.address) : undefined;
    return {
      type: "location",
      content: caption ?? ([title, address].filter(Boolean).join(", ") || null),
      meta: some({
        platform_kind: "venue",
        latitude: num(loc?.latitude),
        longitude: num(loc?.longitude),
        location: some({
          name: title,
          address,
          foursquare_id: venue ? optionalString(venue.foursquare_id) : undefined,
          google_place_id: venue ? optionalString(venue.google_place_id) : undefined,
        }),
      }) ?? {},
    };
  }
  if (m.location !== undefined) {
    const loc = obj(m.location);
    const lat = num(loc?.latitude);
    const lng = num(loc?.longitude);
    return {
      type: "location",
      content: caption ?? (lat !== undefined && lng !== undefined ? `${lat},${lng}` : null),
      meta: some({
        latitude: lat,
        longitude: lng,
        location: some({
          live_period_seconds: num(loc?.live_period),
          accuracy_meters: num(loc?.horizontal_accuracy),
        }),
      }) ?? {},
    };
  }
  if (m.contact !== undefined) {
    const c = obj(m.contact) ?? {};
    return {
      type: "contact",
      content: caption ?? ([fullName(c), optionalString(c.phone_number)].filter(Boolean).join(" ") || null),
      meta: some({
        contact: some({
          name: fullName(c),
          phone_number: optionalString(c.phone_number),
          user_id: optionalString(c.user_id),
          vcard: optionalString(c.vcard),
        }),
      }) ?? {},
    };
  }
  if (m.poll !== undefined) {
    const p = obj(m.poll) ?? {};
    return {
      type: "other",
      content: optionalString(p.question) ?? null,
      meta: { platform_kind: "poll", ...pollMeta(p) },
    };
  }
  if (m.dice !== undefined) {
    const d = obj(m.dice) ?? {};
    const emoji = optionalString(d.emoji);
    const value = num(d.value);
    return {
      type: "other",
      content: [emoji, value].filter((x) => x !== undefined).join(" ") || null,
      meta: { platform_kind: "dice", ...(some({ dice: some({ emoji, value }) }) ?? {}) },
    };
  }
  if (m.story !== undefined) {
    const s = obj(m.story) ?? {};
    return {
      type: "other",
      content: caption ?? "Shared a story",
      meta: {
        platform_kind: "story",
        ...(some({ story: some({ chat: who(s.chat), id: optionalString(s.id) }) }) ?? {}),
      },
    };
  }
  return undefined;
}

/** The text of the inline-keyboard button whose callback_data the press sent. */
function buttonLabel(message: Obj | undefined, data: string | undefined): string | undefined {
  const markup = obj(message?.reply_markup);
  if (data === undefined || !markup) return undefined;
  for (const row of list(markup.inline_keyboard)) {
    for (const b of list(row)) {
      if (isObject(b) && b.callback_data === data) return optionalString(b.text);
    }
  }
  return undefined;
}

/** A Poll object as `metadata.poll`: question, options with their votes, totals and settings. */
export function pollMeta(p: Obj): Obj {
  const options = list(p.options).slice(0, MAX_LIST).flatMap((o) =>
    isObject(o) ? [some({ text: optionalString(o.text) ?? "", votes: num(o.voter_count) ?? 0 })!] : []
  );
  return {
    poll: some({
      id: optionalString(p.id),
      question: optionalString(p.question),
      options,
      total_votes: num(p.total_voter_count),
      closed: typeof p.is_closed === "boolean" ? p.is_closed : undefined,
      anonymous: typeof p.is_anonymous === "boolean" ? p.is_anonymous : undefined,
      type: optionalString(p.type),
      multiple_answers: typeof p.allows_multiple_answers === "boolean" ? p.allows_multiple_answers : undefined,
      correct_option: num(p.correct_option_id),
    }),
  };
}

/** The Message's kind; `other` + platform_kind for the first key no rule here knows. */
export function kindOf(m: Obj, known: Set<string>): Kind {
  if (typeof m.text === "string") return { type: "text", content: m.text, meta: {} };
  const s = special(m);
  if (s) return s;
  for (const [key, type] of MEDIA) {
    if (m[key] === undefined) continue;
    const meta: Obj = fileMeta(m[key]);
    if (NAMED.has(key)) meta.platform_kind = key;
    let content = optionalString(m.caption) ?? null;
    if (key === "sticker" && isObject(m.sticker)) content ??= optionalString(m.sticker.emoji) ?? null;
    return { type, content, meta };
  }
  const service = Object.keys(SERVICE).find((k) => m[k] !== undefined);
  if (service) {
    const [content, extra] = SERVICE[service](m, actorOf(m));
    return {
      type: "system",
      content,
      meta: { platform_kind: service, telegram_type: service, ...(some(extra ?? {}) ?? {}) },
    };
  }
  const other = Object.keys(m).find((k) => !known.has(k)) ?? "unknown";
  const o = obj(m[other]);
  const title = o ? (optionalString(o.title) ?? optionalString(o.name)) : undefined;
  return {
    type: "other",
    content: optionalString(m.caption) ?? title ?? null,
    // a kind this mapping does not know (not one of the documented ones kept as they are):
    // counted on the connection (connection_state.ts)
    meta: {
      platform_kind: other,
      telegram_type: other,
      ...(DOCUMENTED_OTHER.has(other) ? {} : { unknown_kind: true }),
    },
  };
}

/** What every kind carries beside its content: entities, forward, quote, album, topic. */
export function contextMeta(m: Obj): Obj {
  const reply = obj(m.reply_to_message);
  const ext = obj(m.external_reply);
  const quote = obj(m.quote);
  const topicCreated = reply ? obj(reply.forum_topic_created) : obj(m.forum_topic_created);
  const inTopic = m.is_topic_message === true || m.forum_topic_created !== undefined;
  const story = obj(m.reply_to_story);
  return some({
    ...entities(m.entities ?? m.caption_entities),
    forwarded: origin(m.forward_origin),
    quote: quote
      ? some({
        text: optionalString(quote.text),
        position: num(quote.position),
        manual: quote.is_manual === true ? true : undefined,
      })
      : undefined,
    external_reply: ext
      ? some({
        origin: origin(ext.origin),
        chat: who(ext.chat),
        message_id: optionalString(ext.message_id),
        kind: Object.keys(ext).find((k) => !["origin", "chat", "message_id", "link_preview_options"].includes(k)),
      })
      : undefined,
    album: optionalString(m.media_group_id) ? { id: optionalString(m.media_group_id) } : undefined,
    topic: inTopic
      ? some({
        id: optionalString(m.message_thread_id) ??
          (m.forum_topic_created !== undefined ? optionalString(m.message_id) : undefined),
        name: topicCreated ? optionalString(topicCreated.name) : undefined,
      })
      : undefined,
    story_reply: story ? some({ chat: who(story.chat), id: optionalString(story.id) }) : undefined,
    via_bot: obj(m.via_bot) ? username(obj(m.via_bot)!) : undefined,
  }) ?? {};
}

/**
 * A `poll` update (the poll's new state: a poll the bot sent, or stopped): its counts and
 * closing applied to the poll message found by the poll id. The update carries no time: as
 * of its arrival (`at`).
 */
export function pollStateUpdate(raw: unknown, at: string): PollUpdate {
  const p = requireObject(raw, "poll");
  const meta = pollMeta(p).poll as Obj | undefined;
  return {
    kind: "poll",
    platform: "telegram",
    poll_id: requireString(p.id, "poll.id"),
    at,
    poll: {
      options: (meta?.options as { text: string; votes: number }[] | undefined) ?? [],
      ...(typeof meta?.total_votes === "number" ? { total_votes: meta.total_votes } : {}),
      ...(typeof meta?.closed === "boolean" ? { closed: meta.closed } : {}),
    },
  };
}

/**
 * A `poll_answer` (a voter's choice in a non-anonymous poll the bot sent): the voter (the
 * user's username or id, or the chat voting anonymously) and the 0-based options; empty
 * option_ids is a vote taken back. As of its arrival (`at`).
 */
export function pollAnswerUpdate(raw: unknown, at: string): VoteUpdate {
  const a = requireObject(raw, "poll_answer");
  const user = obj(a.user);
  const chat = obj(a.voter_chat);
  const voter = user ? (username(user) ?? optionalString(user.id)) : chat ? optionalString(chat.id) : undefined;
  if (voter === undefined) throw new ShapeError("poll_answer: no user or voter_chat with an id");
  const options = requireArray(a.option_ids, "poll_answer.option_ids").map((o, i) => {
    if (typeof o !== "number" || !Number.isInteger(o) || o < 0) {
      throw new ShapeError(`poll_answer.option_ids[${i}]: must be an option index`);
    }
    return o;
  });
  return {
    kind: "vote",
    platform: "telegram",
    poll_id: requireString(a.poll_id, "poll_answer.poll_id"),
    voter,
    options,
    at,
  };
}
