// Typed, defensive readers of the metadata each kind of message carries (docs/kinds.md, the
// shapes the edge function writes, and the importers' shapes where they differ). Every
// reader takes the raw `metadata` (anything: a JSON value from the store) and answers null
// when the kind is absent or unreadable, so a malformed or future shape never throws: the
// bubble then shows what it can (the content) instead of crashing the thread.
import type { ChatMessage } from "../types/messaging";
import { safeHref } from "./links";
import { MESSAGE_KIND_LABELS } from "./snippet";

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null;
}
function str(v: unknown): string | null {
  return typeof v === "string" && v.trim() !== "" ? v : null;
}
function num(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return null;
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
/** A name, from a string or an object with a name (Telegram users, chats). */
function nameOf(v: unknown): string | null {
  const o = obj(v);
  return str(v) ?? (o ? (str(o.name) ?? (str(o.username) ? `@${String(o.username)}` : null)) : null);
}

export interface PollOption {
  text: string;
  /** null: the platform did not say (a Signal poll before votes arrive). */
  votes: number | null;
  /** Who voted for it, where the store knows (the Signal importer's votes). */
  voters: string[];
}
export interface Poll {
  question: string | null;
  options: PollOption[];
  total: number | null;
  closed: boolean;
  multiple: boolean;
}

/**
 * A poll in any of the stored shapes: live Telegram (`poll.options[{text, votes}]`), live
 * Signal (`poll.options` as strings), a Telegram Desktop export (`poll.answers[{text,
 * voters}]`, `total_voters`) and the signal-cli importer (`poll_options`, `poll_votes`
 * `{voter: {options: [index]}}`, `poll_closed_at`). The question falls back to the content.
 */
export function readPoll(metadata: unknown, content: string | null = null): Poll | null {
  const m = obj(metadata);
  if (!m) return null;
  const p = obj(m.poll);
  const raw = p ? (Array.isArray(p.options) ? p.options : list(p.answers)) : list(m.poll_options);
  if (!p && !Array.isArray(m.poll_options)) return null;
  if (p && !("question" in p) && !Array.isArray(p.options) && !Array.isArray(p.answers)) return null;
  const options: PollOption[] = [];
  for (const o of raw) {
    const text = str(o) ?? str(obj(o)?.text);
    if (text === null) continue;
    const votes = num(obj(o)?.votes) ?? num(obj(o)?.voters);
    options.push({ text, votes, voters: [] });
  }
  // the votes by voter (the importer's, and live votes): the newest vote per voter, as option
  // indexes; an option counts its voters, or the platform's count when that is higher (votes
  // of voters the store does not know, an anonymous poll's)
  const byVoter = obj(m.poll_votes);
  if (byVoter) {
    const counted = options.map(() => 0);
    for (const [voter, vote] of Object.entries(byVoter)) {
      for (const i of list(obj(vote)?.options)) {
        const option = typeof i === "number" ? options[i] : undefined;
        if (!option) continue;
        counted[i as number] = (counted[i as number] ?? 0) + 1;
        option.voters.push(voter);
      }
    }
    options.forEach((o, i) => (o.votes = Math.max(o.votes ?? 0, counted[i] ?? 0)));
  }
  const total = num(p?.total_votes) ?? num(p?.total_voters) ?? (byVoter ? Object.keys(byVoter).length : null);
  return {
    question: str(p?.question) ?? content,
    options,
    total,
    closed: p?.closed === true || str(m.poll_closed_at) !== null,
    multiple: p?.multiple_answers === true || p?.allow_multiple === true || m.allow_multiple === true,
  };
}

export interface OrderItem {
  id: string;
  quantity: number | null;
  price: number | null;
  currency: string | null;
}
export interface Order {
  text: string | null;
  catalogId: string | null;
  items: OrderItem[];
  /** The sum of quantity x price; null unless every item has both in one currency. */
  total: { amount: number; currency: string | null } | null;
}

/** A WhatsApp order: `order {catalog_id, text, product_items[{product_retailer_id, quantity, item_price, currency}]}`. */
export function readOrder(metadata: unknown): Order | null {
  const o = obj(obj(metadata)?.order);
  if (!o) return null;
  const items: OrderItem[] = [];
  for (const raw of list(o.product_items)) {
    const i = obj(raw);
    const id = str(i?.product_retailer_id) ?? str(i?.name);
    if (!i || !id) continue;
    items.push({ id, quantity: num(i.quantity), price: num(i.item_price), currency: str(i.currency) });
  }
  const currencies = new Set(items.map((i) => i.currency));
  const priced = items.length > 0 && items.every((i) => i.quantity !== null && i.price !== null);
  const total =
    priced && currencies.size === 1
      ? {
          amount: items.reduce((sum, i) => sum + (i.quantity ?? 0) * (i.price ?? 0), 0),
          currency: items[0]?.currency ?? null,
        }
      : null;
  return { text: str(o.text), catalogId: str(o.catalog_id), items, total };
}

/** An amount in its currency ("$85.00"); the bare number with the code when the code is unknown. */
export function formatMoney(amount: number, currency: string | null): string {
  if (currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
    } catch {
      return `${amount} ${currency}`;
    }
  }
  return String(amount);
}

export interface Interactive {
  /** What the person chose or pressed, in words. */
  label: string;
  /** The button's or row's id, the template button's payload, the callback data. */
  id: string | null;
  description: string | null;
  /** A Flow's form answers, as [field, value] pairs (the flow token left out). */
  answers: [string, string][];
}

/**
 * What a person chose: WhatsApp `interactive` (button_reply, list_reply, a template's
 * `button`, a Flow's `nfm_reply` with `answers`, call_permission_reply) and Telegram
 * `interactive` `{type: callback, label, data}`.
 */
export function readInteractive(metadata: unknown, content: string | null = null): Interactive | null {
  const i = obj(obj(metadata)?.interactive);
  if (!i) return null;
  const answers: [string, string][] = [];
  const given = obj(i.answers);
  if (given) {
    for (const [k, v] of Object.entries(given)) {
      if (k === "flow_token") continue;
      answers.push([k.replace(/_/g, " "), typeof v === "string" ? v : JSON.stringify(v)]);
    }
  }
  const permission = str(i.response);
  const label =
    str(i.title) ??
    str(i.label) ??
    str(i.text) ??
    (permission ? `Call permission: ${permission}` : null) ??
    (answers.length ? "Form sent" : null) ??
    str(i.body) ??
    content ??
    "A reply";
  return {
    label,
    id: str(i.id) ?? str(i.payload) ?? str(i.data),
    description: str(i.description) ?? (given ? null : str(i.response_json)),
    answers,
  };
}

export interface Referral {
  headline: string | null;
  body: string | null;
  url: string | null;
  source: string | null;
  clickId: string | null;
}

/** The click-to-WhatsApp ad a message came from (`referral`). */
export function readReferral(metadata: unknown): Referral | null {
  const r = obj(obj(metadata)?.referral);
  if (!r) return null;
  const url = str(r.source_url);
  return {
    headline: str(r.headline),
    body: str(r.body),
    url: url ? safeHref(url) : null,
    source: [str(r.source_type), str(r.source_id)].filter(Boolean).join(" ") || null,
    clickId: str(r.ctwa_clid),
  };
}

/** "Forwarded", "Forwarded many times" or "Forwarded from <name>"; null when not forwarded. */
export function readForwarded(metadata: unknown): string | null {
  const m = obj(metadata);
  if (!m) return null;
  const f = m.forwarded;
  const fo = obj(f);
  // the msgstore importer: forwarded: true, frequently_forwarded: true
  if (fo?.frequently === true || m.frequently_forwarded === true) return "Forwarded many times";
  const from = nameOf(fo?.from) ?? str(m.forwarded_from);
  if (from) return `Forwarded from ${from}`;
  if (fo || f === true) return "Forwarded";
  return null;
}

export interface Call {
  media: "voice" | "video";
  missed: boolean;
  answered: boolean | null;
  durationSeconds: number | null;
}

/** A call line's `call` (WhatsApp, Signal, Telegram video chats, the importers). */
export function readCall(metadata: unknown): Call | null {
  const c = obj(obj(metadata)?.call);
  if (!c) return null;
  return {
    media: c.media === "video" ? "video" : "voice",
    missed: c.missed === true,
    answered: typeof c.answered === "boolean" ? c.answered : null,
    durationSeconds: num(c.duration_seconds),
  };
}

/** "2 min", "1 min 5 s", "45 s", "1 h 2 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const min = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return min ? `${h} h ${min} min` : `${h} h`;
  if (min) return sec ? `${min} min ${sec} s` : `${min} min`;
  return `${sec} s`;
}

/** What a call line says when the store gave no words of its own. */
export function describeCall(call: Call, outbound: boolean): string {
  const what = `${call.media} call`;
  if (call.missed) return `Missed ${what}`;
  const head = outbound ? `Outgoing ${what}` : `${what.charAt(0).toUpperCase()}${what.slice(1)}`;
  if (call.answered === false) return `${head}, not answered`;
  return call.durationSeconds !== null ? `${head}, ${formatDuration(call.durationSeconds)}` : head;
}

export interface Place {
  name: string | null;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  /** An https map link built from the coordinates. */
  mapUrl: string | null;
  /** The place's own address on the web (WhatsApp's `location.url`). */
  url: string | null;
}

/**
 * A place from the coordinates the map shows it at. OpenStreetMap's public permalink form
 * (`https://www.openstreetmap.org/?mlat=..&mlon=..#map=16/..`): a marker at the point, no
 * key and no account needed.
 */
export function mapLink(latitude: number, longitude: number): string {
  return `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=16/${latitude}/${longitude}`;
}

/** `latitude`/`longitude` with `location {name, address, url}` (or the Telegram importer's `place_name`, `address`). */
export function readPlace(metadata: unknown): Place | null {
  const m = obj(metadata);
  if (!m) return null;
  const loc = obj(m.location);
  let lat = num(m.latitude);
  let lng = num(m.longitude);
  if (lat === null || lng === null || Math.abs(lat) > 90 || Math.abs(lng) > 180) lat = lng = null;
  const name = str(loc?.name) ?? str(m.place_name);
  const address = str(loc?.address) ?? (typeof m.address === "string" ? str(m.address) : null);
  if (lat === null && !name && !address) return null;
  const url = str(loc?.url);
  return {
    name,
    address,
    latitude: lat,
    longitude: lng,
    mapUrl: lat !== null && lng !== null ? mapLink(lat, lng) : null,
    url: url ? safeHref(url) : null,
  };
}

export interface ContactCard {
  name: string | null;
  phones: string[];
  emails: string[];
  organization: string | null;
}

function card(raw: unknown): ContactCard | null {
  const c = obj(raw);
  if (!c) return null;
  const name = str(c.name) ?? str(obj(c.name)?.formatted_name);
  const phones = [
    ...list(c.phones).map((p) => str(p) ?? str(obj(p)?.phone) ?? str(obj(p)?.value)),
    str(c.phone_number),
  ].filter((p): p is string => p !== null);
  const emails = list(c.emails)
    .map((e) => str(e) ?? str(obj(e)?.email))
    .filter((e): e is string => e !== null);
  const organization = str(c.organization) ?? str(obj(c.org)?.company);
  if (!name && !phones.length) return null;
  return { name, phones, emails, organization };
}

/** Shared contacts: WhatsApp `contacts[]`, Telegram `contact {}`, Signal `contact[]`, importers' `contacts[]`. */
export function readContacts(metadata: unknown): ContactCard[] {
  const m = obj(metadata);
  if (!m) return [];
  const raw = [...list(m.contacts), ...(Array.isArray(m.contact) ? m.contact : [m.contact])];
  return raw.map(card).filter((c): c is ContactCard => c !== null);
}

export interface LinkCard {
  url: string;
  title: string | null;
  description: string | null;
}

/** Link previews (Signal `link_previews`) and a WeChat `link`: only http(s) addresses. */
export function readLinkCards(metadata: unknown): LinkCard[] {
  const m = obj(metadata);
  if (!m) return [];
  const out: LinkCard[] = [];
  for (const raw of [...list(m.link_previews), m.link]) {
    const l = obj(raw);
    const url = l && str(l.url) ? safeHref(String(l.url)) : null;
    if (!l || !url) continue;
    out.push({ url, title: str(l.title), description: str(l.description) });
  }
  return out;
}

export interface Reaction {
  /** The emoji; a Telegram custom emoji (`custom_emoji:<id>`) as a generic mark. */
  emoji: string;
  custom: boolean;
  count: number;
  /** Who reacted with it (the reactors' identifiers). */
  who: string[];
}

/** `reactions` `{<reactor>: {emoji, at}}` (webhooks, the importers) grouped by emoji in the order first given; removed ones (null) left out. */
export function readReactions(metadata: unknown): Reaction[] {
  const r = obj(obj(metadata)?.reactions);
  if (!r) return [];
  const by = new Map<string, Reaction>();
  // in the order people reacted (the store's JSON keeps no order of its own)
  const at = (v: unknown) => str(obj(v)?.at) ?? "";
  const entries = Object.entries(r).sort(([a, x], [b, y]) => at(x).localeCompare(at(y)) || a.localeCompare(b));
  for (const [who, value] of entries) {
    const emoji = str(obj(value)?.emoji) ?? str(value);
    if (!emoji) continue;
    const custom = emoji.startsWith("custom_emoji:");
    const key = custom ? "custom_emoji" : emoji;
    const seen = by.get(key) ?? { emoji: custom ? "✦" : emoji, custom, count: 0, who: [] };
    seen.count += 1;
    seen.who.push(who);
    by.set(key, seen);
  }
  return [...by.values()];
}

/** Telegram `text_link` / `text_mention` entities: the ranges of the text that are links (UTF-16 offsets, as JS strings count). */
export function entityLinks(metadata: unknown, text: string): { start: number; end: number; href: string }[] {
  const out: { start: number; end: number; href: string }[] = [];
  for (const raw of list(obj(metadata)?.entities)) {
    const e = obj(raw);
    const start = num(e?.offset);
    const length = num(e?.length);
    const url = e?.type === "text_link" ? str(e.url) : null;
    const user = e?.type === "text_mention" ? str(obj(e.user)?.username) : null;
    const href = url ? safeHref(url) : user ? safeHref(`https://t.me/${encodeURIComponent(user)}`) : null;
    if (!href || start === null || length === null || start < 0 || length <= 0 || start + length > text.length)
      continue;
    if (out.some((o) => start < o.end && o.start < start + length)) continue; // overlapping: the first wins
    out.push({ start, end: start + length, href });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Other attachments than the first (Signal `attachments`): their names and sizes. */
export function moreAttachments(metadata: unknown): string[] {
  return list(obj(metadata)?.attachments)
    .slice(1)
    .map((a) => {
      const o = obj(a);
      const name = str(o?.filename) ?? str(o?.content_type) ?? "attachment";
      const size = num(o?.size);
      return size !== null ? `${name} (${size < 1024 ? `${size} B` : `${Math.round(size / 1024)} KB`})` : name;
    });
}

/** The album (Telegram `media_group_id`) a message belongs to. */
export function albumId(m: ChatMessage): string | null {
  return str(obj(obj(m.metadata)?.album)?.id) ?? str(obj(m.metadata)?.media_group_id);
}

/**
 * The thread in runs: the messages of one album (same album id, sender and direction) in a
 * row form one run, every other message a run of its own. Order is kept.
 */
export function albumRuns(messages: ChatMessage[]): ChatMessage[][] {
  const runs: ChatMessage[][] = [];
  let key: string | null = null;
  for (const m of messages) {
    const album = albumId(m);
    const k = album ? `${album}\u0000${m.direction}\u0000${m.sender_identifier ?? m.sender_name ?? ""}` : null;
    const last = runs[runs.length - 1];
    if (k !== null && k === key && last) last.push(m);
    else runs.push([m]);
    key = k;
  }
  return runs;
}

/** The forum topic's name (else "Topic <id>"). */
export function readTopic(metadata: unknown): string | null {
  const m = obj(metadata);
  const t = obj(m?.topic);
  if (!t) return null;
  const name = str(t.name) ?? str(m?.topic_name);
  const id = str(t.id) ?? (num(t.id) !== null ? String(t.id) : null);
  return name ?? (id ? `Topic ${id}` : null);
}

/** The quoted part of a replied message (Telegram `quote.text`) and an external reply's source. */
export function readQuote(metadata: unknown): { text: string | null; from: string | null } | null {
  const m = obj(metadata);
  const text = str(obj(m?.quote)?.text);
  const ext = obj(m?.external_reply);
  const from = ext ? (nameOf(ext.chat) ?? nameOf(obj(ext.origin)?.from)) : null;
  return text || from ? { text, from } : null;
}

/** The Bot API's or the platform's name of the kind ("dice", "unsupported.edit", "event:CLICK"). */
export function platformKind(metadata: unknown): string | null {
  const m = obj(metadata);
  return str(m?.platform_kind) ?? str(m?.whatsapp_type) ?? str(m?.telegram_type) ?? str(m?.signal_type);
}

/** Words for a kind the screens name but do not draw. */
const KIND_NAMES: Record<string, string> = {
  animation: "GIF",
  video_note: "Video message",
  dice: "Dice",
  story: "Story",
  invoice: "Invoice",
  miniprogrampage: "Mini program",
  venue: "Place",
  unsupported: "A message WhatsApp does not deliver",
  "unsupported.edit": "The customer edited a message (WhatsApp does not deliver edits)",
  "unsupported.poll_creation": "The customer sent a poll (WhatsApp does not deliver polls)",
  "unsupported.pin": "The customer pinned a message (WhatsApp does not deliver pins)",
  request_welcome: "The customer opened the chat for the first time",
};

/** A kind's name as a person reads it: "Video message", else the platform's own word. */
export function kindName(kind: string): string {
  const known = KIND_NAMES[kind];
  if (known) return known;
  if (kind.startsWith("unsupported."))
    return `The customer sent a ${kind.slice(12).replace(/_/g, " ")} (not delivered)`;
  return kind.replace(/^event:/, "").replace(/[._]/g, " ");
}

/** What an `other` of a kind the screens do not draw says: its sentence, else "[kind] not shown here". */
export function notShownText(kind: string | null): string {
  if (!kind) return "[A message] not shown here";
  return KIND_NAMES[kind] && kind.startsWith("unsupported") ? kindName(kind) : `[${kindName(kind)}] not shown here`;
}

/** Kinds the screens show in full; any other `other` is "[kind] not shown here". */
const DRAWN = new Set(["order", "call", "dice", "poll", "pollCreate", "story", "callback_query", "miniprogrampage"]);

/** Whether an `other` message names a kind the screens cannot show (named, not drawn). */
export function isUnknownKind(m: ChatMessage): boolean {
  if (m.type !== "other") return false;
  const kind = platformKind(m.metadata);
  // an `other` that names no kind (an export's "media omitted", an importer's numeric code)
  // stays the attachment placeholder it always was
  if (!kind || DRAWN.has(kind)) return false;
  if (readPoll(m.metadata) || readOrder(m.metadata) || readCall(m.metadata) || readInteractive(m.metadata))
    return false;
  return true;
}

/** The name of a message's kind: the platform's kind when it says more than the type. */
export function kindLabel(m: Pick<ChatMessage, "type" | "metadata">): string {
  const kind = platformKind(m.metadata);
  if (kind && kind !== m.type && !kind.startsWith("event:")) return kindName(kind);
  return m.type === "text" ? m.type : (MESSAGE_KIND_LABELS[m.type] ?? m.type);
}

/**
 * A message in one line, for what does not draw the kinds (a quote, the person's timeline):
 * its text; else a call line's words, a poll's question; else `[the kind's name]`.
 */
export function oneLine(m: Pick<ChatMessage, "type" | "content" | "metadata" | "direction">): string {
  if (m.content) return m.content;
  if (m.type === "text") return "";
  const call = readCall(m.metadata);
  if (call) return describeCall(call, m.direction === "outbound");
  const poll = readPoll(m.metadata);
  if (poll?.question) return `Poll: ${poll.question}`;
  return `[${kindLabel(m)}]`;
}
