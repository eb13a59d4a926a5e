// docs/kinds.md is the function's table of message kinds: for each platform, every kind its
// documentation names, with what the store keeps. Every row names an example (in the
// `example` column): it is delivered here through the platform's adapter and cleaned as the
// handler does, and must give what the example expects; every example is named by a row. A
// row without an example fails the test, so no kind is added to the table untested (an
// ignored kind's example expects nothing: no message, update or refusal). PENDING below may
// name a row whose example another change brings; it is empty and may only stay so or shrink.
import kindsDoc from "../../../docs/kinds.md" with { type: "text" };
import { ADAPTERS } from "./adapters.ts";
import { cleanDelivery } from "./clean.ts";
import { countUnknownMessages } from "./connection_state.ts";
import type { Bytes } from "./crypto.ts";
import type { KindExamples } from "./kinds/example.ts";
import signal from "./kinds/signal.ts";
import telegram from "./kinds/telegram.ts";
import wechat from "./kinds/wechat.ts";
import whatsapp from "./kinds/whatsapp.ts";
import { assert, assertEquals } from "./test_helpers.ts";
import type { Platform } from "./types.ts";

/** The example modules, one per platform (kinds/<platform>.ts). */
const MODULES: Record<Platform, KindExamples> = { whatsapp, telegram, signal, wechat };

/** The heading of each platform's section in docs/kinds.md. */
const SECTIONS: Record<Platform, string> = {
  whatsapp: "WhatsApp",
  telegram: "Telegram",
  signal: "Signal",
  wechat: "WeChat",
};

/**
 * Rows whose example another change brings (by section heading and kind); the test fails
 * once such a row names an example, so the entry is removed then.
 */
const PENDING: Record<string, string[]> = {};

/** The rows of the tables of one `## <heading>` section: [kind, example or null]. */
export function kindRows(markdown: string, heading: string): [string, string | null][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  assert(start >= 0, `docs/kinds.md has no section "## ${heading}"`);
  const rows: [string, string | null][] = [];
  let columns: string[] | null = null;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("## ")) break;
    if (!line.startsWith("|")) {
      columns = null;
      continue;
    }
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (columns === null) {
      columns = cells.map((c) => c.toLowerCase());
      assert(
        columns[0] === "kind" && columns.includes("example"),
        `a table of "${heading}" without kind/example columns`,
      );
      continue;
    }
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    const kind = /^`([^`]+)`/.exec(cells[0] ?? "");
    assert(kind !== null, `"${heading}": a row whose kind is not in backticks: ${line}`);
    const example = /^`([a-z0-9_]+)`$/.exec(cells[columns.indexOf("example")] ?? "");
    rows.push([kind[1], example ? example[1] : null]);
  }
  return rows;
}

/** The kinds of rows without an example (but the pending ones), and pending kinds no longer without one. */
export function untestedRows(
  rows: [string, string | null][],
  pending: string[],
): { untested: string[]; stale: string[] } {
  return {
    untested: rows.filter(([kind, e]) => !e && !pending.includes(kind)).map(([kind]) => kind),
    stale: pending.filter((k) => !rows.some(([kind, e]) => kind === k && !e)),
  };
}

/** Fails unless every key of `expected` is in `actual` with a value that contains it. */
export function assertContains(actual: unknown, expected: unknown, path = "$"): void {
  if (Array.isArray(expected)) {
    assert(Array.isArray(actual), `${path}: expected a list, got ${JSON.stringify(actual)}`);
    assertEquals(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertContains(actual[i], e, `${path}[${i}]`));
  } else if (expected && typeof expected === "object") {
    assert(actual !== null && typeof actual === "object", `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(expected)) {
      assertContains((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    }
  } else {
    assertEquals(actual, expected, path);
  }
}

Deno.test("the kinds table parser reads kinds and examples, section by section", () => {
  const md = [
    "## WhatsApp",
    "",
    "| kind | example | stored as | screens |",
    "|---|---|---|---|",
    "| `messages.text` | `text` | text | a bubble |",
    "| `messages.typing` | — | ignored: says nothing | — |",
    "",
    "## Telegram",
    "| kind | example |",
    "|---|---|",
    "| `message.text` | `tg_text` |",
  ].join("\n");
  assertEquals(kindRows(md, "WhatsApp"), [["messages.text", "text"], ["messages.typing", null]]);
  assertEquals(kindRows(md, "Telegram"), [["message.text", "tg_text"]]);
});

Deno.test("a row without an example is refused, unless pending; a pending row with one is stale", () => {
  const rows: [string, string | null][] = [["text", "text"], ["typing", null], ["echo_edit", null], ["call", "call"]];
  assertEquals(untestedRows(rows, ["echo_edit"]), { untested: ["typing"], stale: [] });
  assertEquals(untestedRows(rows, ["echo_edit", "call"]), { untested: ["typing"], stale: ["call"] });
  assertEquals(untestedRows([["text", "text"]], []), { untested: [], stale: [] });
});

Deno.test("assertContains: a subset passes, a missing or different value fails", () => {
  assertContains({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { d: 2 }] } });
  let failed = false;
  try {
    assertContains({ a: 1 }, { a: 2 });
  } catch {
    failed = true;
  }
  assert(failed, "a different value passed");
});

for (const [platform, heading] of Object.entries(SECTIONS) as [Platform, string][]) {
  Deno.test(`docs/kinds.md, ${heading}: every row has an example that gives what it promises, every example has its row`, () => {
    const { connection, examples } = MODULES[platform];
    const rows = kindRows(kindsDoc, heading);
    const { untested, stale } = untestedRows(rows, PENDING[heading] ?? []);
    assertEquals(untested, [], `${heading}: rows without an example (every row needs one)`);
    assertEquals(stale, [], `${heading}: PENDING rows that now have an example (remove them from PENDING)`);
    const named = rows.flatMap(([, e]) => (e ? [e] : []));
    assertEquals(new Set(named).size, named.length, `${heading}: an example named by two rows`);
    assertEquals(named.filter((e) => !Object.hasOwn(examples, e)), [], `${heading}: rows naming no example`);
    assertEquals(Object.keys(examples).filter((e) => !named.includes(e)), [], `${heading}: examples no row names`);
    for (const [kind, name] of rows) {
      if (!name) continue;
      const { body, expect } = examples[name];
      const raw = new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body)) as Bytes;
      const delivery = cleanDelivery(ADAPTERS[platform].map(raw, connection));
      countUnknownMessages(delivery); // as the handler does
      const where = `${heading} ${kind} (${name})`;
      if (expect.messages) assertContains(delivery.messages, expect.messages, `${where} messages`);
      if (expect.updates) assertContains(delivery.updates, expect.updates, `${where} updates`);
      if (expect.refused) assertContains(delivery.refused ?? [], expect.refused, `${where} refused`);
      if (expect.state) assertContains(delivery.state ?? {}, expect.state, `${where} connection state`);
    }
  });
}
