// WhatsApp Cloud API payloads, shaped as Meta's webhook reference shows them.
import { hmacSha256Hex, toBytes } from "./crypto.ts";
import { assert, assertEquals, assertThrows } from "./test_helpers.ts";
import { ShapeError } from "./types.ts";
import { mapWhatsApp, verifySignature, verifySubscription } from "./whatsapp.ts";

const META = { display_phone_number: "15550783881", phone_number_id: "106540352242922" };

function change(value: Record<string, unknown>, field = "messages") {
  return {
    object: "whatsapp_business_account",
    entry: [{
      id: "102290129340398",
      changes: [{ value: { messaging_product: "whatsapp", metadata: META, ...value }, field }],
    }],
  };
}

const CONTACTS = [{ profile: { name: "Sheena Nelson" }, wa_id: "16505551234" }];

Deno.test("text message: conversation +wa_id, name from contacts, time from timestamp", () => {
  const d = mapWhatsApp(change({
    contacts: CONTACTS,
    messages: [{
      from: "16505551234",
      id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ3QTRBNjU5OUFFRTAzODEwMTQ0RgA=",
      timestamp: "1749416383",
      type: "text",
      text: { body: "Does it come in another color?" },
    }],
  }));
  assertEquals(d.updates, []);
  assertEquals(d.messages, [{
    platform: "whatsapp",
    external_conversation_id: "+16505551234",
    participant_identifier: "+16505551234",
    participant_name: "Sheena Nelson",
    participant_ids: { phone: "+16505551234" },
    conversation_type: "direct",
    id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ3QTRBNjU5OUFFRTAzODEwMTQ0RgA=",
    direction: "inbound",
    type: "text",
    content: "Does it come in another color?",
    sent_at: "2025-06-08T20:59:43Z",
    sender_identifier: "+16505551234",
    sender_name: "Sheena Nelson",
  }]);
});

Deno.test("image with caption: caption is the content, media id and sha256 in metadata; a reply keeps its context id", () => {
  const d = mapWhatsApp(change({
    contacts: CONTACTS,
    messages: [{
      context: { from: "15550783881", id: "wamid.ORIGINAL" },
      from: "16505551234",
      id: "wamid.IMG",
      timestamp: "1749416383",
      type: "image",
      image: { caption: "this one?", mime_type: "image/jpeg", sha256: "abc=", id: "1003383421387256" },
    }],
  }));
  const m = d.messages[0];
  assertEquals([m.type, m.content, m.reply_to_id], ["image", "this one?", "wamid.ORIGINAL"]);
  assertEquals(m.metadata, { media_id: "1003383421387256", mime_type: "image/jpeg", sha256: "abc=" });
});

Deno.test("voice note, document, location, sticker map to their types", () => {
  const d = mapWhatsApp(change({
    messages: [
      {
        from: "1",
        id: "a",
        timestamp: "1749416383",
        type: "audio",
        audio: { mime_type: "audio/ogg; codecs=opus", id: "m1", voice: true },
      },
      {
        from: "1",
        id: "b",
        timestamp: "1749416384",
        type: "document",
        document: { filename: "invoice.pdf", mime_type: "application/pdf", id: "m2" },
      },
      {
        from: "1",
        id: "c",
        timestamp: "1749416385",
        type: "location",
        location: { latitude: 37.48, longitude: -122.14, name: "Philz", address: "3300 El Camino" },
      },
      {
        from: "1",
        id: "d",
        timestamp: "1749416386",
        type: "sticker",
        sticker: { mime_type: "image/webp", id: "m3", animated: false },
      },
    ],
  }));
  assertEquals(d.messages.map((m) => [m.type, m.content]), [
    ["voice", null],
    ["document", null],
    ["location", "Philz, 3300 El Camino"],
    ["sticker", null],
  ]);
  assertEquals(d.messages[1].metadata?.filename, "invoice.pdf");
});

Deno.test("unknown and unsupported types are kept as other with the platform's type", () => {
  const d = mapWhatsApp(change({
    messages: [{
      from: "16505551234",
      id: "wamid.U",
      timestamp: "1749416383",
      type: "unsupported",
      errors: [{ code: 131051, title: "Message type unknown" }],
    }],
  }));
  assertEquals(d.messages[0].type, "other");
  assertEquals(d.messages[0].metadata, {
    whatsapp_type: "unsupported",
    platform_kind: "unsupported",
    errors: [{ code: 131051, title: "Message type unknown" }],
  });
});

Deno.test("a reaction is an update of the message it reacts to, not a message; an empty emoji removes it", () => {
  const d = mapWhatsApp(change({
    contacts: CONTACTS,
    messages: [
      {
        from: "16505551234",
        id: "wamid.R1",
        timestamp: "1749416383",
        type: "reaction",
        reaction: { message_id: "wamid.TARGET", emoji: "\u{1F44D}" },
      },
      {
        from: "16505551234",
        id: "wamid.R2",
        timestamp: "1749416390",
        type: "reaction",
        reaction: { message_id: "wamid.TARGET" },
      },
    ],
  }));
  assertEquals(d.messages, []);
  assertEquals(d.updates, [
    {
      kind: "reaction",
      platform: "whatsapp",
      external_conversation_id: "+16505551234",
      id: "wamid.TARGET",
      reactor: "+16505551234",
      emoji: "\u{1F44D}",
      at: "2025-06-08T20:59:43Z",
    },
    {
      kind: "reaction",
      platform: "whatsapp",
      external_conversation_id: "+16505551234",
      id: "wamid.TARGET",
      reactor: "+16505551234",
      emoji: null,
      at: "2025-06-08T20:59:50Z",
    },
  ]);
});

Deno.test("statuses are updates on the named message; failed carries its error; deleted deletes it (issue 28: was skipped)", () => {
  const d = mapWhatsApp(change({
    statuses: [
      {
        id: "wamid.OUT",
        status: "delivered",
        timestamp: "1750263773",
        recipient_id: "16505551234",
        conversation: { id: "6ceb9d929c1ec2e9f2c9ad5b5a2d9b4c", origin: { type: "marketing" } },
        pricing: { billable: true, pricing_model: "PMP", category: "marketing", type: "regular" },
      },
      {
        id: "wamid.OUT2",
        status: "failed",
        timestamp: "1750263774",
        recipient_id: "16505551234",
        errors: [{
          code: 131047,
          title: "Re-engagement message",
          message: "Re-engagement message",
          error_data: { details: "more than 24 hours" },
        }],
      },
      { id: "wamid.OUT3", status: "deleted", timestamp: "1750263775", recipient_id: "16505551234" },
    ],
  }));
  assertEquals(d.messages, []);
  assertEquals(d.updates, [
    {
      kind: "status",
      platform: "whatsapp",
      external_conversation_id: "+16505551234",
      id: "wamid.OUT",
      status: "delivered",
      at: "2025-06-18T16:22:53Z",
      placeholder: true,
    },
    {
      kind: "status",
      platform: "whatsapp",
      external_conversation_id: "+16505551234",
      id: "wamid.OUT2",
      status: "failed",
      at: "2025-06-18T16:22:54Z",
      error: { code: 131047, title: "Re-engagement message" },
      placeholder: true,
    },
    {
      kind: "delete",
      platform: "whatsapp",
      external_conversation_id: "+16505551234",
      id: "wamid.OUT3",
      at: "2025-06-18T16:22:55Z",
    },
  ]);
});

Deno.test("smb_message_echoes are outbound messages in the customer's conversation", () => {
  const d = mapWhatsApp(change({
    message_echoes: [{
      from: "15550783881",
      to: "16505551234",
      id: "wamid.ECHO",
      timestamp: "1749416383",
      type: "text",
      text: { body: "Yes, in blue and red" },
    }],
  }, "smb_message_echoes"));
  assertEquals(d.messages.map((m) => [m.external_conversation_id, m.direction, m.content, m.sender_identifier]), [
    ["+16505551234", "outbound", "Yes, in blue and red", "+15550783881"],
  ]);
});

Deno.test("other fields map to nothing; a body of another shape is a ShapeError naming the path", () => {
  assertEquals(mapWhatsApp(change({ message_template_id: 1 }, "message_template_status_update")), {
    messages: [],
    updates: [],
    refused: [],
  });
  assertThrows(() => mapWhatsApp({ object: "page", entry: [] }), ShapeError, "object");
  assertThrows(() => mapWhatsApp({ object: "whatsapp_business_account", entry: {} }), ShapeError, "entry");
  const bad = mapWhatsApp(
    change({ messages: [{ from: "1", id: "x", timestamp: "soon", type: "text", text: { body: "a" } }] }),
  );
  assertEquals(bad.refused?.map((r) => r.reason.startsWith("entry[0].changes[0].value.messages[0].timestamp")), [true]);
  assertThrows(() => mapWhatsApp([]), ShapeError, "body");
});

Deno.test("X-Hub-Signature-256 is HMAC-SHA256 of the raw bytes with the app secret", async () => {
  const raw = toBytes('{"object":"whatsapp_business_account","entry":[]}');
  const sig = "sha256=" + (await hmacSha256Hex("app-secret", raw));
  assert(await verifySignature(sig, raw, "app-secret"));
  assert(await verifySignature(sig.toUpperCase().replace("SHA256=", "sha256="), raw, "app-secret"), "hex case ignored");
  assert(!(await verifySignature(sig, raw, "other-secret")), "another secret");
  assert(
    !(await verifySignature(sig, toBytes('{"object":"whatsapp_business_account","entry":[] }'), "app-secret")),
    "one byte more",
  );
  assert(!(await verifySignature(null, raw, "app-secret")), "missing header");
  assert(!(await verifySignature(sig.slice(7), raw, "app-secret")), "without the sha256= prefix");
  assert(!(await verifySignature(sig, raw, undefined)), "a connection without a secret");
});

Deno.test("the GET handshake answers the challenge for the right verify token only", async () => {
  const url = (token: string) =>
    new URL(`http://x/whatsapp/id?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${token}`);
  const ok = await verifySubscription(url("meatyhamhock"), "meatyhamhock");
  assertEquals([ok.status, await ok.text()], [200, "1158201444"]);
  assertEquals((await verifySubscription(url("wrong"), "meatyhamhock")).status, 403);
  assertEquals((await verifySubscription(new URL("http://x/whatsapp/id"), "meatyhamhock")).status, 400);
});

Deno.test("account binding: a change for another phone number is refused whole, the connection's passes", () => {
  const msg = { from: "16505551234", id: "wamid.acc", timestamp: "1749416383", type: "text", text: { body: "hi" } };
  const body = {
    object: "whatsapp_business_account",
    entry: [{
      id: "1",
      changes: [
        { field: "messages", value: { metadata: META, messages: [msg] } },
        {
          field: "messages",
          value: {
            metadata: { display_phone_number: "15550000000", phone_number_id: "999" },
            messages: [{ ...msg, id: "wamid.other" }],
          },
        },
        { field: "messages", value: { messages: [{ ...msg, id: "wamid.nometa" }] } },
      ],
    }],
  };
  for (const account of ["+1 555 078 3881", "106540352242922"]) {
    const d = mapWhatsApp(body, account);
    assertEquals(d.messages.map((m) => m.id), ["wamid.acc"], account);
    assertEquals(d.refused?.map((r) => [r.path, r.kind]), [
      ["entry[0].changes[1].value.metadata", "account_mismatch"],
      ["entry[0].changes[2].value.metadata", "account_mismatch"],
    ]);
  }
  assertEquals(mapWhatsApp(body, "+34600000001").messages, []);
});

Deno.test("a message the mapping cannot read is refused alone; the others and the statuses are kept", () => {
  const d = mapWhatsApp(
    change({
      messages: [
        { from: "16505551234", id: "wamid.ok", timestamp: "1749416383", type: "text", text: { body: "hi" } },
        { from: "16505551234", id: "wamid.bad", timestamp: "tomorrow", type: "text", text: { body: "x" } },
      ],
      statuses: [{ id: "wamid.ok", status: "read", timestamp: "1749416390", recipient_id: "16505551234" }],
    }),
    "+15550783881",
  );
  assertEquals(d.messages.map((m) => m.id), ["wamid.ok"]);
  assertEquals(d.updates.length, 1);
  assertEquals(d.refused?.map((r) => [r.path, r.kind]), [["entry[0].changes[0].value.messages[1]", "invalid_shape"]]);
});

Deno.test("issue 28 kinds, malformed: each path stores what it can read or refuses the item alone, never throws", () => {
  const from = "16505551234";
  const at = "1749416383";
  const group = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD";
  const body = {
    object: "whatsapp_business_account",
    entry: [{
      id: "102290129340398",
      changes: [
        {
          field: "messages",
          value: {
            metadata: META,
            messages: [
              { from, id: "m.i1", timestamp: at, type: "interactive", interactive: "button" },
              {
                from,
                id: "m.i2",
                timestamp: at,
                type: "interactive",
                interactive: { type: "nfm_reply", nfm_reply: { response_json: 42 } },
              },
              {
                from,
                id: "m.o1",
                timestamp: at,
                type: "order",
                order: { product_items: [null, "x", { quantity: {}, currency: "EUR" }] },
              },
              {
                from,
                id: "m.t1",
                timestamp: at,
                type: "text",
                text: { body: "hi" },
                referral: "an ad",
                context: { forwarded: "yes" },
                group_id: { id: 1 },
              },
              { from, id: "m.u1", timestamp: at, type: "unsupported", unsupported: [] },
              { from, id: "m.b1", timestamp: at, type: "button", button: null },
              { from, id: "m.proto", timestamp: at, type: "toString" },
              { from, id: "m.g1", timestamp: at, type: "reaction", group_id: group, reaction: { message_id: "m.x" } },
            ],
            statuses: [
              { id: "s.1", status: "played", timestamp: at },
              { id: "s.2", status: "played", timestamp: at, recipient_id: from },
            ],
          },
        },
        {
          field: "calls",
          value: {
            metadata: META,
            calls: [
              { id: "c.1", from, timestamp: at },
              { id: "c.2", from, timestamp: at, event: "ringing" },
              { id: "c.3", timestamp: at, event: "terminate" },
              { id: "c.4", from, timestamp: at, event: "terminate", start_time: "soon", duration: "12" },
            ],
          },
        },
        {
          field: "history",
          value: {
            metadata: META,
            history: [
              "chunk",
              {
                metadata: { phase: 0 },
                threads: [
                  { messages: [] },
                  { id: from, messages: "none" },
                  {
                    id: from,
                    messages: [
                      { from, id: "h.bad", timestamp: "yesterday", type: "text", text: { body: "x" } },
                      { from, id: "h.ok", timestamp: at, type: "text", text: { body: "kept" } },
                    ],
                  },
                ],
              },
            ],
          },
        },
      ],
    }],
  };
  const d = mapWhatsApp(body, "106540352242922");
  const byId = Object.fromEntries(d.messages.map((m) => [m.id, m]));
  assertEquals(Object.keys(byId).sort(), ["c.4", "h.ok", "m.b1", "m.i1", "m.i2", "m.o1", "m.proto", "m.t1", "m.u1"]);
  assertEquals([byId["m.i1"].type, byId["m.i1"].metadata?.platform_kind], ["other", "interactive.unknown"]);
  assertEquals(byId["m.i2"].metadata?.interactive, { kind: "nfm_reply", response_json: "42" });
  assertEquals(byId["m.o1"].metadata?.order, { product_items: [{ currency: "EUR" }] });
  assertEquals([byId["m.t1"].conversation_type, byId["m.t1"].metadata], ["direct", undefined]);
  assertEquals(byId["m.u1"].metadata?.platform_kind, "unsupported");
  assertEquals([byId["m.b1"].type, byId["m.b1"].content], ["text", null]);
  assertEquals([byId["m.proto"].type, byId["m.proto"].metadata?.platform_kind], ["other", "toString"]);
  assertEquals(byId["c.4"].sent_at, "2025-06-08T20:59:43Z");
  assertEquals(byId["c.4"].metadata?.call, { media: "voice", missed: false, answered: true, duration_seconds: 12 });
  assertEquals(byId["h.ok"].metadata?.history, { phase: 0 });
  assertEquals(d.updates.map((u) => [u.kind, u.id, u.external_conversation_id]), [
    ["reaction", "m.x", group],
    ["status", "s.2", "+16505551234"],
  ]);
  assertEquals(d.refused?.map((r) => r.path), [
    "entry[0].changes[0].value.statuses[0]",
    "entry[0].changes[1].value.calls[0]",
    "entry[0].changes[1].value.calls[1]",
    "entry[0].changes[1].value.calls[2]",
    "entry[0].changes[2].value.history[0]",
    "entry[0].changes[2].value.history[1].threads[0]",
    "entry[0].changes[2].value.history[1].threads[1]",
    "entry[0].changes[2].value.history[1].threads[2].messages[0]",
  ]);
  assert(d.refused!.every((r) => r.kind === "invalid_shape"), "all invalid_shape");
});

Deno.test("issue 28: a group message is the group's conversation with its sender; an echo to a group too", () => {
  const group = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD";
  const inbound = mapWhatsApp(change({
    contacts: CONTACTS,
    messages: [{
      from: "16505551234",
      group_id: group,
      id: "g.1",
      timestamp: "1749416383",
      type: "text",
      text: { body: "hi all" },
    }],
  }));
  const m = inbound.messages[0];
  assertEquals(
    [m.external_conversation_id, m.conversation_type, m.sender_identifier, m.sender_name, m.participant_ids],
    [group, "group", "+16505551234", "Sheena Nelson", undefined],
  );
  const echo = mapWhatsApp(change({
    message_echoes: [{
      from: "15550783881",
      group_id: group,
      id: "g.2",
      timestamp: "1749416383",
      type: "text",
      text: { body: "hello" },
    }],
  }, "smb_message_echoes"));
  assertEquals(echo.messages.map((x) => [x.external_conversation_id, x.conversation_type, x.direction]), [
    [group, "group", "outbound"],
  ]);
});
