// Depth and size without recursion (issue 30 item 3): a seeded generator of WhatsApp and
// Telegram deliveries whose fields (WhatsApp contacts, errors, location.latitude; a Telegram
// location's latitude) hold values nested from 0 to 20,000 levels, with strings of random
// sizes and characters (lone surrogates, NUL, emoji, CJK), sent signed to the handler with
// an in-memory store (as handler_test.ts). Whatever comes: no 5xx, every message within
// the contract's depth stored, every deeper one refused alone as invalid_message (Telegram
// reads coordinates as numbers and never copies the nested value: its message is kept).
import { hmacSha256Hex, toBytes } from "./crypto.ts";
import { METADATA_MAX_DEPTH } from "./clean.ts";
import { createHandler, MAX_WEBHOOK_BYTES } from "./handler.ts";
import type { Connection, Store } from "./store.ts";
import { assert, assertEquals } from "./test_helpers.ts";
import type { Delivery } from "./types.ts";

const WA = "11111111-1111-4111-8111-111111111111";
const TG = "22222222-2222-4222-8222-222222222222";
const BASE = "http://127.0.0.1/messaging-ingest";
const SEED = Number(Deno.env.get("NESTING_SEED") ?? "20261207");
const RUNS = Number(Deno.env.get("NESTING_RUNS") ?? "150");

/** mulberry32: a small seeded generator, so a failure is replayed by its seed */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ["a", "Z", " ", "é", "中文", "\ud83d\ude00", "\ud800", "\udfff", "\u0000", "\n", '"', "\\", "<x>"];

function makeGen(seed: number) {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const str = () => {
    const len = r() < 0.1 ? int(5000) : int(12);
    let s = "";
    for (let i = 0; i < len; i++) s += PIECES[int(PIECES.length)];
    return s;
  };
  const scalar = (): unknown => [() => int(1e6) - 5e5, () => r(), str, () => null, () => r() < 0.5][int(5)]();
  /**
   * The JSON text of a value whose objects and arrays nest exactly `depth` levels (written
   * as text: JSON.stringify itself overflows the stack on some deep values)
   */
  const nested = (depth: number): string => {
    let v = JSON.stringify(scalar());
    for (let i = 0; i < depth; i++) {
      v = r() < 0.5
        ? `[${v}${r() < 0.2 ? `,${JSON.stringify(scalar())}` : ""}]`
        : `{${JSON.stringify(str() || "k")}:${v}}`;
    }
    return v;
  };
  /** JSON text of an object whose `holes` are JSON texts already */
  const json = (template: unknown, holes: Record<string, string>) =>
    Object.entries(holes).reduce((t, [k, v]) => t.replace(JSON.stringify(k), v), JSON.stringify(template));
  /** mostly shallow, sometimes just past the contract's limit, sometimes thousands of levels */
  const depth = () => {
    const x = r();
    if (x < 0.6) return int(METADATA_MAX_DEPTH + 2);
    if (x < 0.85) return METADATA_MAX_DEPTH - 3 + int(6);
    return 1000 + int(19_000);
  };
  return { r, int, str, nested, json, depth };
}

/** The store of handler_test.ts, in short: takes what it is given. */
function memoryStore() {
  const connections: Record<string, Connection> = {
    [WA]: {
      id: WA,
      user_id: "u",
      platform: "whatsapp",
      account_identifier: "+1555",
      status: "active",
      secrets: { app_secret: "app" },
    },
    [TG]: {
      id: TG,
      user_id: "u",
      platform: "telegram",
      account_identifier: "bot",
      status: "active",
      secrets: { secret_token: "tg" },
    },
  };
  const delivered: Delivery[] = [];
  const store: Store = {
    connection: (id) => Promise.resolve(connections[id] ?? null),
    deliver: (_c, d) => {
      // what the database does with it: jsonb of every value (its own depth limit aside)
      JSON.parse(JSON.stringify(d));
      delivered.push(d);
      return Promise.resolve({
        inserted: d.messages.length,
        accepted: d.messages.length + d.updates.length,
        refused: d.refused ?? [],
      });
    },
    refresh: (id) => Promise.resolve(connections[id] ?? null),
    recordFailure: () => Promise.resolve(),
    recordRefusal: () => Promise.resolve(),
    ingestAsCaller: () => Promise.resolve({ status: 200, body: {} }),
  };
  return { store, delivered };
}

/** metadata depth of a value put under a metadata key: the metadata object is level 1 */
const fits = (valueDepth: number) => 1 + valueDepth <= METADATA_MAX_DEPTH;

function whatsappCase(g: ReturnType<typeof makeGen>, run: number) {
  const messages: Record<string, unknown>[] = [];
  const holes: Record<string, string> = {};
  const good: string[] = [];
  const bad: string[] = [];
  const n = 1 + g.int(4);
  for (let i = 0; i < n; i++) {
    const id = `wamid.${run}.${i}`;
    const d = g.depth();
    const base = { from: "34611111111", id, timestamp: "1749416383" };
    const kind = g.int(4);
    const hole = `@hole${i}`;
    holes[hole] = g.nested(kind === 0 ? d : Math.max(0, d - 1));
    // each copied field holds the nested value one level under metadata
    if (kind === 0) messages.push({ ...base, type: "location", location: { latitude: hole, longitude: 2.1 } });
    else if (kind === 1) messages.push({ ...base, type: "contacts", contacts: [hole] });
    else if (kind === 2) messages.push({ ...base, type: "unsupported", errors: [hole] });
    else messages.push({ ...base, type: "text", text: { body: g.str() || "hi" } });
    (kind === 3 || fits(kind === 0 ? d : Math.max(1, d)) ? good : bad).push(id);
  }
  holes["@ignored"] = g.nested(g.depth());
  const body = g.json({
    object: "whatsapp_business_account",
    entry: [{
      id: "1",
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: "1555", phone_number_id: "1" },
          messages,
          // a deep value in a field the mapping never reads: no refusal at all
          ignored: "@ignored",
        },
      }],
    }],
  }, holes);
  const req = new Request(`${BASE}/whatsapp/${WA}`, {
    method: "POST",
    body,
    headers: { "x-hub-signature-256": "sha256=" + hmacSha256Hex("app", toBytes(body)) },
  });
  return { req, good, bad, size: toBytes(body).length };
}

function telegramCase(g: ReturnType<typeof makeGen>, run: number) {
  const d = g.depth();
  const body = g.json({
    update_id: run,
    message: {
      message_id: run,
      date: 1749416383,
      chat: { id: 42, type: "private" },
      from: { id: 42, first_name: g.str() || "Ana" },
      location: { latitude: "@lat", longitude: 1 },
    },
  }, { "@lat": g.nested(d) });
  const req = new Request(`${BASE}/telegram/${TG}`, {
    method: "POST",
    body,
    headers: { "x-telegram-bot-api-secret-token": "tg" },
  });
  // the Telegram mapping reads coordinates as numbers only (issue 28): a nested latitude is
  // left out whatever its depth, and the message is kept with what can be read
  return { req, good: [`42:${run}`], bad: [] as string[], size: toBytes(body).length };
}

Deno.test(`random nesting, sizes and characters: never 5xx, no good message lost (seed ${SEED}, ${RUNS} runs)`, async () => {
  const g = makeGen(SEED);
  let deep = 0;
  for (let run = 0; run < RUNS; run++) {
    const m = memoryStore();
    const handler = createHandler({ store: m.store });
    const c = g.r() < 0.7 ? whatsappCase(g, run) : telegramCase(g, run);
    if (c.size > MAX_WEBHOOK_BYTES) continue;
    const res = await handler(c.req);
    const answer = await res.json();
    const where = `run ${run} (seed ${SEED}): ${res.status} ${JSON.stringify(answer).slice(0, 300)}`;
    assert(res.status < 500, where);
    const stored = m.delivered.flatMap((d) => d.messages.map((x) => x.id));
    const refused = m.delivered.flatMap((d) => d.refused ?? []);
    assertEquals(stored.sort(), [...c.good].sort(), `stored: ${where}`);
    assertEquals(
      refused.filter((x) => x.kind === "invalid_message").map((x) => x.id).sort(),
      [...c.bad].sort(),
      `refused: ${where}`,
    );
    assertEquals(refused.length, c.bad.length, `nothing else refused: ${where}`);
    if (c.bad.length > 0) deep++;
  }
  assert(deep > RUNS / 10, `the generator made too few deep deliveries (${deep})`);
});
