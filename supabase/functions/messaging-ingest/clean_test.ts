import { cleanDelivery, cleanString, EDIT_CLOCK_SKEW_SECONDS, METADATA_MAX_DEPTH } from "./clean.ts";
import { assertEquals } from "./test_helpers.ts";
import type { IngestMessage } from "./types.ts";

const MSG: IngestMessage = {
  platform: "whatsapp",
  external_conversation_id: "+34611111111",
  id: "wamid.1",
  direction: "inbound",
  type: "text",
  content: "ok",
  sent_at: "2026-01-01T10:00:00Z",
};

Deno.test("lone surrogates and NUL become U+FFFD; pairs (emoji) stay", () => {
  assertEquals(cleanString("a\ud800b"), ["a\ufffdb", 1]);
  assertEquals(cleanString("\udc00x\u0000"), ["\ufffdx\ufffd", 2]);
  assertEquals(cleanString("\ud83d\ude00 ok"), ["\ud83d\ude00 ok", 0]);
  assertEquals(cleanString("\ude00\ud83d"), ["\ufffd\ufffd", 2], "a low then a high surrogate is no pair");
});

Deno.test("a cleaned message records what was replaced in metadata; a clean one is untouched", () => {
  const d = cleanDelivery({
    messages: [
      { ...MSG, content: "x\ud800", sender_name: "\u0000Ana", metadata: { contacts: [{ "n\udfff": "y" }] } },
      MSG,
    ],
    updates: [{
      kind: "reaction",
      platform: "whatsapp",
      external_conversation_id: "+1",
      id: "w",
      reactor: "\ud800",
      emoji: null,
      at: "2026-01-01T10:00:00Z",
    }],
  });
  assertEquals(d.messages[0].content, "x\ufffd");
  assertEquals(d.messages[0].sender_name, "\ufffdAna");
  assertEquals(d.messages[0].metadata, {
    contacts: [{ "n\ufffd": "y" }],
    replaced_characters: { content: 1, sender_name: 1, "metadata.contacts[0].n\ufffd (key)": 1 },
  });
  assertEquals(d.messages[1], MSG);
  assertEquals(d.updates[0].kind === "reaction" && d.updates[0].reactor, "\ufffd");
  // what reaches the database is plain JSON PostgreSQL accepts
  assertEquals(/\\u(d[89a-f]|0000)/i.test(JSON.stringify(d)), false);
});

Deno.test("an edit time past now plus the skew is taken as now; within the skew it is kept", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  const ahead = new Date(now + 23 * 3600_000).toISOString();
  const near = new Date(now + (EDIT_CLOCK_SKEW_SECONDS - 10) * 1000).toISOString();
  const d = cleanDelivery({
    messages: [{ ...MSG, edited_at: ahead }, { ...MSG, id: "w2", edited_at: near }],
    updates: [],
  }, now);
  assertEquals([d.messages[0].edited_at, d.messages[0].metadata?.edited_at_given], ["2026-01-01T12:00:00Z", ahead]);
  assertEquals([d.messages[1].edited_at, d.messages[1].metadata], [near, undefined]);
});

Deno.test("metadata past the contract's depth refuses its message alone (invalid_message), iteratively", () => {
  let deep: unknown = "x\u0000";
  for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { k: deep };
  let limit: unknown = 1;
  for (let i = 0; i < METADATA_MAX_DEPTH - 1; i++) limit = [limit];
  const d = cleanDelivery({
    messages: [
      { ...MSG, id: "deep", metadata: { v: deep } },
      { ...MSG, id: "at-the-limit", metadata: { v: limit } },
      { ...MSG, id: "one-past", metadata: { v: [limit] } },
    ],
    updates: [{
      kind: "status",
      platform: "whatsapp",
      external_conversation_id: "+34611111111",
      id: "wamid.1",
      at: "2026-01-01T10:00:00Z",
      status: "failed",
      error: { code: deep as Record<string, unknown> },
    }],
  });
  assertEquals(d.messages.map((m) => m.id), ["at-the-limit"]);
  assertEquals(d.updates, []);
  assertEquals(d.refused, [
    {
      path: "messages[0]",
      kind: "invalid_message",
      reason: "messages[0]: metadata nested deeper than 32 levels",
      id: "deep",
    },
    {
      path: "messages[2]",
      kind: "invalid_message",
      reason: "messages[2]: metadata nested deeper than 32 levels",
      id: "one-past",
    },
    {
      path: "updates[0]",
      kind: "invalid_update",
      reason: "updates[0]: value nested deeper than 32 levels",
      id: "wamid.1",
    },
  ]);
});
