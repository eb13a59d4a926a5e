// What a mapped delivery is made to be before it is stored: text PostgreSQL can hold, and
// edit times a platform's clock cannot push into the future.
//
// JSON may carry a lone UTF-16 surrogate (`"\ud800"`) and NUL (`"\u0000"`); PostgreSQL's
// jsonb refuses both, and that refusal would come back on every retry. Each becomes U+FFFD,
// and the message records how many were replaced where (`metadata.replaced_characters`,
// {"content": 1}), so the message is kept and the change is visible.

import { type Delivery, type IngestMessage, isObject } from "./types.ts";

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

function cleanValue(v: unknown, path: string, counts: Map<string, number>): unknown {
  if (typeof v === "string") {
    const [s, n] = cleanString(v);
    if (n > 0) counts.set(path, (counts.get(path) ?? 0) + n);
    return s;
  }
  if (Array.isArray(v)) return v.map((x, i) => cleanValue(x, `${path}[${i}]`, counts));
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const [key, n] = cleanString(k);
      const p = path ? `${path}.${key}` : key;
      if (n > 0) counts.set(`${p} (key)`, (counts.get(`${p} (key)`) ?? 0) + n);
      out[key] = cleanValue(x, p, counts);
    }
    return out;
  }
  return v;
}

function cleanMessage(m: IngestMessage): IngestMessage {
  const counts = new Map<string, number>();
  const out = cleanValue(m, "", counts) as IngestMessage;
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

/** The delivery as it is stored: strings cleaned, edit times past now plus the skew taken as now. */
export function cleanDelivery(d: Delivery, now = Date.now()): Delivery {
  const counts = new Map<string, number>();
  return {
    ...d,
    messages: d.messages.map((m) => capEdit(cleanMessage(m), now)),
    updates: d.updates.map((u) => cleanValue(u, "", counts) as typeof u),
    refused: d.refused?.map((r) => cleanValue(r, "", counts) as typeof r),
  };
}
