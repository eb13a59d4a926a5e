// What a delivery tells the store about its connection (connection_state.ts): unknown kinds
// counted by name, and the payload the store sends (history messages apart, with their
// phase; connection_state only when there is some). supabase-js runs for real with a
// stand-in fetch that keeps the request bodies; tests/test_connection_state.py runs the
// same against the real stack.
import { countUnknown, countUnknownMessages } from "./connection_state.ts";
import { supabaseStore } from "./store.ts";
import { assertEquals } from "./test_helpers.ts";
import type { Delivery, IngestMessage } from "./types.ts";

const ID = "55555555-5555-4555-8555-555555555555";
const CONN = { id: ID, user_id: "u", platform: "whatsapp", account_identifier: "+1", status: "active", secrets: {} };

function capture() {
  const bodies: Record<string, unknown>[] = [];
  const fetch = async (input: Request | URL | string, init?: RequestInit) => {
    const body = input instanceof Request ? await input.text() : String(init?.body ?? "");
    bodies.push(JSON.parse(body || "{}"));
    return new Response(JSON.stringify({ inserted: 0, accepted: 0, refused: [] }), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  };
  return { bodies, fetch: fetch as typeof globalThis.fetch };
}

function msg(id: string, metadata?: Record<string, unknown>): IngestMessage {
  return {
    platform: "whatsapp",
    external_conversation_id: "+34600000001",
    id,
    direction: "inbound",
    type: "text",
    content: id,
    sent_at: "2026-01-01T00:00:00Z",
    ...(metadata ? { metadata } : {}),
  };
}

Deno.test("unknown kinds are counted by their platform name; other messages are not", () => {
  const d: Delivery = {
    messages: [
      { ...msg("a", { platform_kind: "hologram", unknown_kind: true }), type: "other" },
      { ...msg("b", { platform_kind: "hologram", unknown_kind: true }), type: "other" },
      { ...msg("c", { platform_kind: "call" }), type: "other" },
      msg("d"),
    ],
    updates: [],
  };
  countUnknownMessages(d);
  countUnknown(d, "field:x");
  assertEquals(d.state, { unknown_kinds: { hologram: 2, "field:x": 1 } });
  const plain: Delivery = { messages: [msg("e")], updates: [] };
  countUnknownMessages(plain);
  assertEquals(plain.state, undefined, "a delivery of known kinds says nothing of its connection");
});

Deno.test("history messages go apart with their phase; connection_state only when there is some", async () => {
  const pg = capture();
  const store = supabaseStore({ url: "http://127.0.0.1:1", anonKey: "a", serviceKey: "s", fetch: pg.fetch });
  await store.deliver(CONN as never, { messages: [msg("live")], updates: [] });
  const plain = pg.bodies[0]!.payload as Record<string, unknown>;
  assertEquals(Object.keys(plain).sort(), ["connection_id", "messages", "refused", "replay_guard", "updates"]);

  await store.deliver(CONN as never, {
    messages: [msg("live"), msg("h1", { history: { phase: 1, progress: 40 } })],
    updates: [],
    state: { history: { chunks: [{ phase: 1, progress: 40, at: "2026-01-01T00:00:00Z" }] } },
  });
  const p = pg.bodies[1]!.payload as Record<string, unknown>;
  assertEquals((p.messages as IngestMessage[]).map((m) => m.id), ["live"]);
  assertEquals((p.history_messages as IngestMessage[]).map((m) => m.id), ["h1"]);
  assertEquals(p.history_phase, "1");
  assertEquals(p.connection_state, { history: { chunks: [{ phase: 1, progress: 40, at: "2026-01-01T00:00:00Z" }] } });
});
