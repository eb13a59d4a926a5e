// Telegram Bot API Update objects, shaped as the Bot API reference describes them.
import { cleanDelivery } from "./clean.ts";
import { countUnknownMessages } from "./connection_state.ts";
import kinds from "./kinds/telegram.ts";
import { mapTelegram, verifySecretToken } from "./telegram.ts";
import { assert, assertEquals, assertThrows } from "./test_helpers.ts";
import { ShapeError } from "./types.ts";

const USER = {
  id: 111111111,
  is_bot: false,
  first_name: "Ana",
  last_name: "García",
  username: "AnaG",
  language_code: "es",
};
const PRIVATE = { id: 111111111, first_name: "Ana", last_name: "García", username: "AnaG", type: "private" };
const GROUP = { id: -1001234567890, title: "Pedidos", type: "supergroup" };

Deno.test("message: chat id conversation, importer-style id, name and username, date as sent_at", () => {
  const d = mapTelegram({
    update_id: 10000,
    message: { message_id: 1365, from: USER, chat: PRIVATE, date: 1441645532, text: "/start hola" },
  });
  assertEquals(d.messages, [{
    platform: "telegram",
    external_conversation_id: "111111111",
    participant_identifier: "anag",
    participant_name: "Ana García",
    participant_ids: { telegram_user_id: "111111111", username: "anag" },
    conversation_type: "direct",
    id: "111111111:1365",
    direction: "inbound",
    type: "text",
    content: "/start hola",
    sent_at: "2015-09-07T17:05:32Z",
    sender_identifier: "anag",
    sender_name: "Ana García",
  }]);
});

Deno.test("edited_message replaces through edited_at (edit_date)", () => {
  const d = mapTelegram({
    update_id: 10001,
    edited_message: {
      message_id: 1365,
      from: USER,
      chat: PRIVATE,
      date: 1441645532,
      edit_date: 1441645600,
      text: "hola (edited)",
    },
  });
  assertEquals([d.messages[0].id, d.messages[0].content, d.messages[0].edited_at], [
    "111111111:1365",
    "hola (edited)",
    "2015-09-07T17:06:40Z",
  ]);
  const noDate = mapTelegram({
    update_id: 1,
    edited_message: { message_id: 1, chat: PRIVATE, date: 1441645532, text: "x" },
  });
  assertEquals([noDate.messages.length, noDate.refused?.[0].kind, noDate.refused?.[0].reason.includes("edit_date")], [
    0,
    "invalid_shape",
    true,
  ]);
});

Deno.test("photo with caption, voice, document, reply in a group", () => {
  const d = mapTelegram({
    update_id: 10002,
    message: {
      message_id: 77,
      from: USER,
      chat: GROUP,
      date: 1441645532,
      photo: [
        { file_id: "small", file_unique_id: "s", width: 90, height: 60, file_size: 1000 },
        { file_id: "large", file_unique_id: "l", width: 1280, height: 853, file_size: 90000 },
      ],
      caption: "the blue one",
      reply_to_message: { message_id: 70, from: USER, chat: GROUP, date: 1441645500, text: "which?" },
    },
  });
  const m = d.messages[0];
  assertEquals(
    [m.external_conversation_id, m.conversation_type, m.participant_name, m.type, m.content, m.reply_to_id, m.metadata],
    ["-1001234567890", "group", "Pedidos", "image", "the blue one", "-1001234567890:70", { file_id: "large" }],
  );
  assertEquals(m.participant_identifier, undefined);
  const v = mapTelegram({
    update_id: 10003,
    message: {
      message_id: 78,
      from: USER,
      chat: PRIVATE,
      date: 1441645532,
      voice: { file_id: "v", file_unique_id: "v", duration: 3, mime_type: "audio/ogg" },
    },
  }).messages[0];
  assertEquals([v.type, v.content], ["voice", null]);
  const doc = mapTelegram({
    update_id: 10004,
    message: {
      message_id: 79,
      from: USER,
      chat: PRIVATE,
      date: 1441645532,
      document: { file_id: "d", file_unique_id: "d", file_name: "factura.pdf" },
    },
  }).messages[0];
  assertEquals([doc.type, doc.metadata], ["document", { file_id: "d", filename: "factura.pdf" }]);
});

Deno.test("business_message from the business account is outbound; channel_post is kept", () => {
  const d = mapTelegram({
    update_id: 10005,
    business_message: {
      message_id: 5,
      business_connection_id: "AbCdEf",
      from: { id: 999, is_bot: false, first_name: "Shop" },
      chat: PRIVATE,
      date: 1441645532,
      text: "Your order ships today",
    },
  });
  assertEquals([d.messages[0].direction, d.messages[0].external_conversation_id], ["outbound", "111111111"]);
  const c = mapTelegram({
    update_id: 10006,
    channel_post: {
      message_id: 9,
      sender_chat: { id: -100555, title: "News", type: "channel" },
      chat: { id: -100555, title: "News", type: "channel" },
      date: 1441645532,
      text: "New prices",
    },
  });
  assertEquals([c.messages[0].conversation_type, c.messages[0].sender_name, c.messages[0].direction], [
    "group",
    "News",
    "inbound",
  ]);
});

Deno.test("service messages are system lines saying who did what; unknown kinds are other, named", () => {
  // before issue 28 this was the bare "new chat members" (who joined was lost)
  const s = mapTelegram({
    update_id: 10007,
    message: { message_id: 10, from: USER, chat: GROUP, date: 1441645532, new_chat_members: [USER] },
  }).messages[0];
  assertEquals([s.type, s.content], ["system", "Ana Garc\u00eda joined"]);
  // before issue 28 a dice was an empty other: its emoji and value were lost
  const o = mapTelegram({
    update_id: 10008,
    message: { message_id: 11, from: USER, chat: PRIVATE, date: 1441645532, dice: { emoji: "\u{1F3B2}", value: 4 } },
  }).messages[0];
  assertEquals([o.type, o.content, o.metadata], ["other", "\u{1F3B2} 4", {
    platform_kind: "dice",
    dice: { emoji: "\u{1F3B2}", value: 4 },
  }]);
  const f = mapTelegram({
    update_id: 10011,
    message: { message_id: 12, from: USER, chat: PRIVATE, date: 1441645532, hologram: { title: "3D" } },
  }).messages[0];
  assertEquals([f.type, f.content, f.metadata], ["other", "3D", {
    platform_kind: "hologram",
    telegram_type: "hologram",
    unknown_kind: true,
  }]);
});

Deno.test("message_reaction is an update of the reacted message; an empty new_reaction removes it", () => {
  const d = mapTelegram({
    update_id: 10009,
    message_reaction: {
      chat: PRIVATE,
      message_id: 1365,
      user: USER,
      date: 1441645600,
      old_reaction: [],
      new_reaction: [{ type: "emoji", emoji: "\u2764" }],
    },
  });
  assertEquals(d.messages, []);
  assertEquals(d.updates, [{
    kind: "reaction",
    platform: "telegram",
    external_conversation_id: "111111111",
    id: "111111111:1365",
    reactor: "anag",
    emoji: "\u2764",
    at: "2015-09-07T17:06:40Z",
  }]);
  const removed = mapTelegram({
    update_id: 10010,
    message_reaction: {
      chat: PRIVATE,
      message_id: 1365,
      user: USER,
      date: 1441645700,
      old_reaction: [{ type: "emoji", emoji: "\u2764" }],
      new_reaction: [],
    },
  });
  assertEquals(removed.updates[0].kind === "reaction" && removed.updates[0].emoji, null);
});

Deno.test("other updates map to nothing; a body without update_id is a ShapeError", () => {
  assertEquals(mapTelegram({ update_id: 1, callback_query: { id: "1", from: USER, data: "x" } }), {
    messages: [],
    updates: [],
    refused: [],
  });
  assertThrows(() => mapTelegram({ message: {} }), ShapeError, "update_id");
  const noChat = mapTelegram({ update_id: 2, message: { message_id: 1, date: 1441645532, text: "x" } });
  assertEquals(noChat.refused?.map((r) => [r.path, r.reason.includes("message.chat")]), [["message", true]]);
});

Deno.test("the secret token header must equal the connection's secret_token", async () => {
  assert(await verifySecretToken("s3cr3t_Token-1", "s3cr3t_Token-1"));
  assert(!(await verifySecretToken("s3cr3t_Token-2", "s3cr3t_Token-1")));
  assert(!(await verifySecretToken(null, "s3cr3t_Token-1")));
  assert(!(await verifySecretToken("", "")), "an empty secret never matches");
});

/** Every path of a JSON value (objects and arrays), the root excluded. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...at, i], ...paths(x, [...at, i])]);
  if (v && typeof v === "object") {
    return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
  }
  return [];
}

function replaced(v: unknown, path: (string | number)[], junk: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]] = junk;
  return copy;
}

Deno.test("bad input: every field of every documented example, malformed, never throws past its item", () => {
  let deep: unknown = "x";
  for (let i = 0; i < 5000; i++) deep = [deep];
  const junk = [null, "", "x", -1, 1.5, true, [], {}, [{}], { a: [1] }, deep];
  let cases = 0;
  for (const [name, { body }] of Object.entries(kinds.examples)) {
    for (const path of paths(body)) {
      if (path[0] === "update_id") continue;
      for (const j of junk) {
        cases++;
        let d;
        try {
          d = mapTelegram(replaced(body, path, j));
        } catch (e) {
          throw new Error(`${name} ${path.join(".")} = ${JSON.stringify(j)?.slice(0, 20)}: ${e}`);
        }
        // each item is mapped or refused, and what is mapped cleans to storable values
        cleanDelivery(d);
        for (const r of d.refused ?? []) assert(r.reason.length > 0, `${name}: a refusal without a reason`);
      }
    }
  }
  assert(cases > 5000, `too few cases (${cases})`);
});

Deno.test("bad input: a malformed reaction or delete costs only itself", () => {
  const d = mapTelegram({
    update_id: 20000,
    business_message: { message_id: 1, from: USER, chat: PRIVATE, date: 1441645532, text: "kept" },
    message_reaction: { chat: PRIVATE, message_id: 1, user: USER, date: "yesterday", new_reaction: [] },
    deleted_business_messages: { business_connection_id: "b", chat: PRIVATE, message_ids: "1,2" },
  });
  assertEquals(d.messages.map((m) => m.content), ["kept"]);
  assertEquals(d.updates, []);
  assertEquals(d.refused?.map((r) => r.path), ["message_reaction", "deleted_business_messages"]);
});

Deno.test("reactions: custom emoji and paid are reactions, not removals; the newly added one wins", () => {
  const react = (old_reaction: unknown[], new_reaction: unknown[]) => {
    const u = mapTelegram({
      update_id: 20001,
      message_reaction: { chat: PRIVATE, message_id: 5, user: USER, date: 1441645600, old_reaction, new_reaction },
    }).updates[0];
    return u.kind === "reaction" ? u.emoji : "not a reaction";
  };
  const heart = { type: "emoji", emoji: "\u2764" };
  const custom = { type: "custom_emoji", custom_emoji_id: "77" };
  assertEquals(react([], [custom]), "custom_emoji:77");
  assertEquals(react([], [{ type: "paid" }]), "\u2B50");
  assertEquals(react([heart], [heart, custom]), "custom_emoji:77");
  assertEquals(react([heart, custom], [heart]), "\u2764");
  assertEquals(react([custom], []), null);
  assertEquals(react([], [{ type: "sparkle" }]), "sparkle");
});

Deno.test("a venue is the venue, not the location it also carries", () => {
  const v = mapTelegram({
    update_id: 20002,
    message: {
      message_id: 6,
      from: USER,
      chat: PRIVATE,
      date: 1441645532,
      location: { latitude: 1, longitude: 2 },
      venue: { location: { latitude: 1, longitude: 2 }, title: "Caf\u00e9", address: "Calle 1" },
    },
  }).messages[0];
  assertEquals([v.type, v.content, v.metadata?.platform_kind, v.metadata?.latitude], [
    "location",
    "Caf\u00e9, Calle 1",
    "venue",
    1,
  ]);
});

Deno.test("entities are capped (count and size) so the metadata stays storable; the cap is marked", () => {
  const text = "x".repeat(4096);
  const many = Array.from({ length: 150 }, (_, i) => ({
    type: "text_link",
    offset: i,
    length: 1,
    url: `https://example.com/${"p".repeat(200)}/${i}`,
  }));
  const m = mapTelegram({
    update_id: 20003,
    message: { message_id: 7, from: USER, chat: PRIVATE, date: 1441645532, text, entities: many },
  }).messages[0];
  const kept = m.metadata?.entities as unknown[];
  assert(kept.length > 0 && kept.length < 100, `kept ${kept.length}`);
  assertEquals(m.metadata?.entities_truncated, true);
  assert(JSON.stringify(m.metadata).length < 16384, "metadata over the contract's cap");
  const few = mapTelegram({
    update_id: 20004,
    message: { message_id: 8, from: USER, chat: PRIVATE, date: 1441645532, text, entities: many.slice(0, 3) },
  }).messages[0];
  assertEquals([(few.metadata?.entities as unknown[]).length, few.metadata?.entities_truncated], [3, undefined]);
});

Deno.test("a documented kind kept as other (invoice, successful_payment, ...) is named, not counted as unknown", () => {
  const d = mapTelegram({
    update_id: 10012,
    message: {
      message_id: 13,
      from: USER,
      chat: PRIVATE,
      date: 1441645532,
      game: { title: "Ruleta", description: "Gira", photo: [] },
    },
  });
  assertEquals([d.messages[0].type, d.messages[0].content, d.messages[0].metadata], ["other", "Ruleta", {
    platform_kind: "game",
    telegram_type: "game",
  }]);
  countUnknownMessages(d);
  assertEquals(d.state?.unknown_kinds, undefined);
});
