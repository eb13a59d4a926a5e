// What a mapped delivery is made to be before it is stored: text PostgreSQL can hold, edit
// times a platform's clock cannot push into the future, and no value nested deeper than the
// contract's metadata_max_depth (the item holding it is refused alone, the others stored).
// The walk is iterative: no input can exhaust the call stack.
//
// JSON may carry a lone UTF-16 surrogate (`"\ud800"`) and NUL (`"\u0000"`); PostgreSQL's
// jsonb refuses both, and that refusal would come back on every retry. Each becomes U+FFFD,
// and the message records how many were replaced where (`metadata.replaced_characters`,
// {"content": 1}), so the message is kept and the change is visible.

import contract from "../_shared/contract.json" with { type: "json" };
import { compact, type Delivery, type IngestMessage, isObject, type MessageUpdate, type Refusal } from "./types.ts";

// deno-lint-ignore no-control-regex -- NUL is one of the characters PostgreSQL cannot store
const UNSTORABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;

/** An edit time later than now plus this (seconds) is taken as now. */
export const EDIT_CLOCK_SKEW_SECONDS = 120;
/** At most this many field paths are listed in metadata.replaced_characters. */
const MAX_REPLACED_PATHS = 20;

/** The string with lone surrogates and NUL replaced by U+FFFD, and how many there were. */
export function cleanString(s: string): [string, number] {
  let n = 0;
  const out = s.replace(UNSTORABLE, () => {
    n++;
    return "\uFFFD";
  });
  return [out, n];
}

/** Deepest nesting of a message's metadata (the metadata object itself is level 1): the contract's. */
export const METADATA_MAX_DEPTH = contract.limits.metadata_max_depth.value;
/** A message or update is one level above its metadata (or status error). */
const ITEM_MAX_DEPTH = METADATA_MAX_DEPTH + 1;

/** A value nested deeper than the cap: the item holding it is refused alone. */
class TooDeep extends Error {}

interface Frame {
  value: unknown;
  path: string;
  /** objects and arrays above this value */
  depth: number;
  put: (v: unknown) => void;
}

/**
 * The value with every string (and key) cleaned, walked with a stack of its own (no
 * recursion: a value nested 100,000 levels costs memory, never the call stack). Throws
 * TooDeep past `maxDepth` levels of objects and arrays (the value itself is level 1).
 */
function cleanValue(v: unknown, counts: Map<string, number>, maxDepth: number): unknown {
  let out: unknown;
  const stack: Frame[] = [{ value: v, path: "", depth: 0, put: (x) => (out = x) }];
  while (stack.length > 0) {
    const { value, path, depth, put } = stack.pop()!;
    if (typeof value === "string") {
      const [s, n] = cleanString(value);
      if (n > 0) counts.set(path, (counts.get(path) ?? 0) + n);
      put(s);
    } else if (Array.isArray(value)) {
      if (depth + 1 > maxDepth) throw new TooDeep();
      const arr: unknown[] = new Array(value.length);
      put(arr);
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1, put: (x) => (arr[i] = x) });
      }
    } else if (isObject(value)) {
      if (depth + 1 > maxDepth) throw new TooDeep();
      const obj: Record<string, unknown> = {};
      put(obj);
      const frames: Frame[] = [];
      for (const [k, x] of Object.entries(value)) {
        const [key, n] = cleanString(k);
        const p = path ? `${path}.${key}` : key;
        if (n > 0) counts.set(`${p} (key)`, (counts.get(`${p} (key)`) ?? 0) + n);
        obj[key] = null; // the key's place, in the source's order
        frames.push({ value: x, path: p, depth: depth + 1, put: (y) => (obj[key] = y) });
      }
      for (let i = frames.length - 1; i >= 0; i--) stack.push(frames[i]);
    } else {
      put(value);
    }
  }
  return out;
}

function cleanMessage(m: IngestMessage): IngestMessage {
  const counts = new Map<string, number>();
  const out = cleanValue(m, counts, ITEM_MAX_DEPTH) as IngestMessage;
  if (counts.size === 0) return out;
  const replaced = Object.fromEntries([...counts].slice(0, MAX_REPLACED_PATHS));
  out.metadata = { ...(out.metadata ?? {}), replaced_characters: replaced };
  return out;
}

function capEdit(m: IngestMessage, now: number): IngestMessage {
  if (m.edited_at === undefined) return m;
  const at = Date.parse(m.edited_at);
  if (!(at > now + EDIT_CLOCK_SKEW_SECONDS * 1000)) return m;
  // a clock ahead would make this version win over every real later edit: it is taken as
  // arriving now (the time given is kept in metadata)
  const arrived = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
  return { ...m, edited_at: arrived, metadata: { ...(m.metadata ?? {}), edited_at_given: m.edited_at } };
}

function tooDeep(list: "messages" | "updates", i: number, id: unknown): Refusal {
  const what = list === "messages" ? "metadata" : "value";
  return compact({
    path: `${list}[${i}]`,
    kind: list === "messages" ? "invalid_message" : "invalid_update",
    reason: `${list}[${i}]: ${what} nested deeper than ${METADATA_MAX_DEPTH} levels`,
    id: typeof id === "string" ? id.slice(0, 256) : undefined,
  }) as Refusal;
}

/**
 * The delivery as it is stored: strings cleaned, edit times past now plus the skew taken as
 * now. A message (or update) nested deeper than the contract's `metadata_max_depth` is left
 * out and listed in `refused` (invalid_message / invalid_update, counted on the connection
 * with the store's refusals); its path is its place among the mapped messages (or updates).
 */
export function cleanDelivery(d: Delivery, now = Date.now()): Delivery {
  const refused: Refusal[] = [];
  const messages: IngestMessage[] = [];
  d.messages.forEach((m, i) => {
    try {
      messages.push(capEdit(cleanMessage(m), now));
    } catch (e) {
      if (!(e instanceof TooDeep)) throw e;
      refused.push(tooDeep("messages", i, m.id));
    }
  });
  const counts = new Map<string, number>();
  const updates: MessageUpdate[] = [];
  d.updates.forEach((u, i) => {
    try {
      updates.push(cleanValue(u, counts, ITEM_MAX_DEPTH) as MessageUpdate);
    } catch (e) {
      if (!(e instanceof TooDeep)) throw e;
      refused.push(tooDeep("updates", i, u.id));
    }
  });
  // the function's own refusals hold strings the mappers wrote: no depth to fear
  const given = (d.refused ?? []).map((r) => cleanValue(r, counts, Infinity) as Refusal);
  return { ...d, messages, updates, refused: [...given, ...refused] };
}
