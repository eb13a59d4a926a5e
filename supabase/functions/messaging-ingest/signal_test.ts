// signal-cli JSON-RPC `receive` notifications, shaped as signal-cli's daemon emits them.
import { mapSignal, verifyBearer } from "./signal.ts";
import { assert, assertEquals, assertThrows } from "./test_helpers.ts";
import { ShapeError } from "./types.ts";

const ACCOUNT = "+34600000001";

function receive(envelope: Record<string, unknown>) {
  return { jsonrpc: "2.0", method: "receive", params: { envelope, account: ACCOUNT } };
}

const FROM = {
  source: "+34611111111",
  sourceNumber: "+34611111111",
  sourceUuid: "7ccae375-cd51-4c82-8b1e-7be3280aa485",
  sourceName: "Marta",
  sourceDevice: 1,
};

Deno.test("dataMessage: importer-style id author:timestamp, peer conversation, ms times", () => {
  const d = mapSignal(receive({
    ...FROM,
    timestamp: 1745372297238,
    serverReceivedTimestamp: 1745372294830,
    serverDeliveredTimestamp: 1745372294831,
    dataMessage: { timestamp: 1745372297238, message: "¿Tenéis talla M?", expiresInSeconds: 0, viewOnce: false },
  }));
  assertEquals(d.messages, [{
    platform: "signal",
    external_conversation_id: "+34611111111",
    participant_identifier: "+34611111111",
    participant_name: "Marta",
    participant_ids: { signal_aci: "7ccae375-cd51-4c82-8b1e-7be3280aa485", phone: "+34611111111" },
    conversation_type: "direct",
    id: "+34611111111:1745372297238",
    direction: "inbound",
    type: "text",
    content: "¿Tenéis talla M?",
    sent_at: "2025-04-23T01:38:17.238Z",
    sender_identifier: "+34611111111",
    sender_name: "Marta",
  }]);
});

Deno.test("group messages land in group:<id>; attachments give the type; quotes give reply_to_id", () => {
  const d = mapSignal([receive({
    ...FROM,
    timestamp: 1745372297300,
    dataMessage: {
      timestamp: 1745372297300,
      message: "foto",
      groupInfo: { groupId: "kK2zR6Zb3ZCq1xCk5t2X2Q==", groupName: "Tienda", type: "DELIVER" },
      attachments: [{ contentType: "image/jpeg", filename: "IMG_1.jpg", id: "att1", size: 1234 }],
      quote: { id: 1745372297238, author: "+34600000001", authorNumber: "+34600000001", text: "hola" },
    },
  })]);
  const m = d.messages[0];
  assertEquals(
    [
      m.external_conversation_id,
      m.conversation_type,
      m.participant_name,
      m.participant_identifier,
      m.type,
      m.media_url,
      m.reply_to_id,
    ],
    [
      "group:kK2zR6Zb3ZCq1xCk5t2X2Q==",
      "group",
      "Tienda",
      undefined,
      "image",
      "IMG_1.jpg",
      "+34600000001:1745372297238",
    ],
  );
});

Deno.test("syncMessage.sentMessage is outbound from the account to the destination", () => {
  const d = mapSignal(receive({
    source: ACCOUNT,
    sourceNumber: ACCOUNT,
    sourceDevice: 2,
    timestamp: 1745372298000,
    syncMessage: {
      sentMessage: {
        destination: "+34611111111",
        destinationNumber: "+34611111111",
        timestamp: 1745372298000,
        message: "Sí, mañana",
      },
    },
  }));
  const m = d.messages[0];
  assertEquals([m.external_conversation_id, m.direction, m.id, m.sender_identifier], [
    "+34611111111",
    "outbound",
    `${ACCOUNT}:1745372298000`,
    ACCOUNT,
  ]);
});

Deno.test("editMessage: same id as the target, new text, edited_at from the edit", () => {
  const d = mapSignal(receive({
    ...FROM,
    timestamp: 1745372399000,
    editMessage: {
      targetSentTimestamp: 1745372297238,
      dataMessage: { timestamp: 1745372399000, message: "¿Tenéis talla L?" },
    },
  }));
  const m = d.messages[0];
  assertEquals([m.id, m.content, m.sent_at, m.edited_at], [
    "+34611111111:1745372297238",
    "¿Tenéis talla L?",
    "2025-04-23T01:38:17.238Z",
    "2025-04-23T01:39:59Z",
  ]);
});

Deno.test("reactions, remote deletes and receipts are updates; typing maps to nothing", () => {
  const d = mapSignal([
    receive({
      ...FROM,
      timestamp: 1745372400000,
      dataMessage: {
        timestamp: 1745372400000,
        reaction: {
          emoji: "\u{1F44D}",
          targetAuthor: ACCOUNT,
          targetAuthorNumber: ACCOUNT,
          targetSentTimestamp: 1745372298000,
          isRemove: false,
        },
      },
    }),
    receive({
      ...FROM,
      timestamp: 1745372401000,
      dataMessage: { timestamp: 1745372401000, remoteDelete: { timestamp: 1745372297238 } },
    }),
    receive({
      ...FROM,
      timestamp: 1745372402000,
      receiptMessage: { when: 1745372402000, isDelivery: true, isRead: false, timestamps: [1745372298000] },
    }),
    receive({ ...FROM, timestamp: 1745372403000, typingMessage: { action: "STARTED", timestamp: 1745372403000 } }),
  ]);
  assertEquals(d.messages, []);
  assertEquals(d.updates, [
    {
      kind: "reaction",
      platform: "signal",
      external_conversation_id: "+34611111111",
      id: `${ACCOUNT}:1745372298000`,
      reactor: "+34611111111",
      emoji: "\u{1F44D}",
      at: "2025-04-23T01:40:00Z",
    },
    {
      kind: "delete",
      platform: "signal",
      external_conversation_id: "+34611111111",
      id: "+34611111111:1745372297238",
      at: "2025-04-23T01:40:01Z",
    },
    // issue 28: a delivery receipt was dropped; it is the status of the account's message
    {
      kind: "status",
      platform: "signal",
      external_conversation_id: "+34611111111",
      id: `${ACCOUNT}:1745372298000`,
      status: "delivered",
      at: "2025-04-23T01:40:02Z",
      participant_ids: { phone: "+34611111111", signal_aci: "7ccae375-cd51-4c82-8b1e-7be3280aa485" },
    },
  ]);
});

Deno.test("a bare `receive -o json` line is accepted; other JSON-RPC methods and shapes are not", () => {
  const d = mapSignal({
    envelope: { ...FROM, timestamp: 1745372297238, dataMessage: { timestamp: 1745372297238, message: "x" } },
    account: ACCOUNT,
  });
  assertEquals(d.messages.length, 1);
  assertThrows(() => mapSignal({ jsonrpc: "2.0", method: "send", params: {} }), ShapeError, "method");
  assertThrows(
    () => mapSignal({ jsonrpc: "2.0", method: "receive", params: { account: ACCOUNT } }),
    ShapeError,
    "envelope",
  );
  assertThrows(() => mapSignal([]), ShapeError);
  // an envelope the mapping cannot read is refused alone, the others are kept
  const partly = mapSignal([
    receive({ ...FROM, timestamp: "later", dataMessage: { message: "x" } }),
    receive({ ...FROM, timestamp: 1745372297238, dataMessage: { timestamp: 1745372297238, message: "y" } }),
  ], ACCOUNT);
  assertEquals(partly.messages.map((m) => m.content), ["y"]);
  assertEquals(partly.refused?.map((r) => [r.path, r.kind, r.reason.includes("timestamp")]), [[
    "[0].envelope",
    "invalid_shape",
    true,
  ]]);
});

Deno.test("the bearer token must equal the connection's token", async () => {
  assert(await verifyBearer("Bearer tok-123", "tok-123"));
  assert(await verifyBearer("bearer tok-123", "tok-123"));
  assert(!(await verifyBearer("Bearer tok-124", "tok-123")));
  assert(!(await verifyBearer("tok-123", "tok-123")), "without the scheme");
  assert(!(await verifyBearer(null, "tok-123")));
});

Deno.test("the connection's account always wins: a notification naming another account is refused", () => {
  const sync = (account: string) => ({
    jsonrpc: "2.0",
    method: "receive",
    params: {
      account,
      envelope: {
        source: account,
        sourceNumber: account,
        timestamp: 1745372297238,
        syncMessage: {
          sentMessage: { destinationNumber: "+34611111111", timestamp: 1745372297238, message: "from me" },
        },
      },
    },
  }); // fmt: skip
  const d = mapSignal([sync(ACCOUNT), sync("+19999999999")], ACCOUNT);
  assertEquals(d.messages.map((m) => [m.sender_identifier, m.direction, m.id]), [[
    ACCOUNT,
    "outbound",
    `${ACCOUNT}:1745372297238`,
  ]]);
  assertEquals(d.refused?.map((r) => [r.path, r.kind]), [["[1].account", "account_mismatch"]]);
  // no account in the notification: the connection's
  const bare = {
    envelope: {
      source: "+34611111111",
      timestamp: 1745372297238,
      syncMessage: { sentMessage: { destinationNumber: "+34611111111", timestamp: 1745372297238, message: "x" } },
    },
  }; // fmt: skip
  assertEquals(mapSignal(bare, ACCOUNT).messages[0].sender_identifier, ACCOUNT);
});

Deno.test("issue 28, bad input: malformed kinds keep what can be read, or are refused alone", () => {
  const at = (dt: number, dataMessage: Record<string, unknown>) =>
    receive({ ...FROM, timestamp: 1745372500000 + dt, dataMessage: { timestamp: 1745372500000 + dt, ...dataMessage } });
  const d = mapSignal([
    // attachments not a list, contacts with junk, mentions out of range, previews of strings
    at(1, {
      message: "\uFFFC hola",
      attachments: "att1",
      mentions: [{ name: "Bruno", start: 40, length: 1 }, "x"],
      previews: ["https://example.com"],
    }),
    at(2, { contacts: [7, { name: "Ana", phone: "no" }] }),
    at(3, { pollCreate: { question: "¿Color?", options: "Azul" } }),
    // a vote naming no poll: refused alone
    at(4, { pollVote: { optionIndexes: [0] } }),
    // a read receipt with one bad timestamp: refused whole, nothing half-applied
    receive({ ...FROM, timestamp: 1745372500005, receiptMessage: { isRead: true, timestamps: [1745372298000, "x"] } }),
    // a call offer without an id still makes its line
    receive({ ...FROM, timestamp: 1745372500006, callMessage: { offerMessage: { type: "AUDIO_CALL" } } }),
    at(7, { message: "sigue" }),
  ]);
  assertEquals(d.messages.map((m) => [m.type, m.content]), [
    ["text", "\uFFFC hola"],
    ["contact", null],
    ["other", "¿Color?"],
    ["other", "Incoming voice call"],
    ["text", "sigue"],
  ]);
  assertEquals(d.messages[0].metadata, { entities: [{ type: "mention", name: "Bruno" }], link_previews: [] });
  assertEquals(d.messages[1].metadata, { contact: [{ phones: [], emails: [] }] });
  assertEquals(d.messages[2].metadata?.poll, { question: "¿Color?", options: [], allow_multiple: false });
  assertEquals(d.updates, []);
  assertEquals(d.refused?.map((r) => r.path), ["[3].envelope", "[4].envelope"]);
});

Deno.test("issue 28: own edits synced from the phone, admin deletes, receipts and an unknown envelope", () => {
  const d = mapSignal([
    receive({
      source: ACCOUNT,
      sourceNumber: ACCOUNT,
      timestamp: 1745372600000,
      syncMessage: {
        sentMessage: {
          destinationNumber: "+34611111111",
          timestamp: 1745372600000,
          editMessage: { targetSentTimestamp: 1745372298000, dataMessage: { timestamp: 1745372600000, message: "Sí" } },
        },
      },
    }),
    receive({ ...FROM, timestamp: 1745372600001, storyMessage: { allowsReplies: true } }),
  ]);
  assertEquals(d.messages.map((m) => [m.id, m.direction, m.content, m.edited_at, m.metadata]), [
    [`${ACCOUNT}:1745372298000`, "outbound", "Sí", "2025-04-23T01:43:20Z", undefined],
    ["+34611111111:storyMessage:1745372600001", "inbound", null, undefined, {
      platform_kind: "storyMessage",
      unknown_kind: true,
    }],
  ]);
});
