// The kind readers of lib/kinds.ts (what the thread draws for each kind), run by the same
// Playwright runner (no browser needed). The shapes are the function's (kinds-fixture.ts,
// generated from docs/kinds.md's examples) and the importers' (their pytest expectations).
import { expect, test } from "@playwright/test";
import {
  albumRuns,
  describeCall,
  entityLinks,
  formatDuration,
  isUnknownKind,
  mapLink,
  moreAttachments,
  notShownText,
  oneLine,
  readCall,
  readContacts,
  readForwarded,
  readInteractive,
  readLinkCards,
  readOrder,
  readPlace,
  readPoll,
  readQuote,
  readReactions,
  readReferral,
  readTopic,
} from "../src/lib/kinds";
import type { ChatMessage } from "../src/types/messaging";
import { KIND_EXAMPLES } from "./kinds-fixture";

/** The stored metadata of an example of docs/kinds.md. */
function md(key: string): unknown {
  const example = KIND_EXAMPLES[key];
  if (!example) throw new Error(`no example ${key}`);
  return example.metadata;
}

function message(i: number, metadata: Record<string, unknown> | null, extra: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id: `m${i}`,
    direction: "inbound",
    type: "image",
    content: null,
    sent_at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    sender_identifier: "ana",
    metadata,
    ...extra,
  };
}

test("polls: live Telegram and Signal, a Telegram Desktop export and the signal-cli importer's votes", () => {
  expect(readPoll(md("telegram:poll"))).toEqual({
    question: "¿Qué color preferís?",
    options: [
      { text: "Azul", votes: 3, voters: [] },
      { text: "Rojo", votes: 1, voters: [] },
    ],
    total: 4,
    closed: false,
    multiple: false,
  });
  const signal = readPoll(md("signal:sg_poll_create"));
  expect(signal?.options.map((o) => [o.text, o.votes])).toEqual([
    ["Azul", null],
    ["Rojo", null],
  ]);
  expect(signal?.question).toBe("¿Qué color?");
  // the Telegram importer keeps Telegram Desktop's poll as it is
  const exported = readPoll({
    telegram_type: "poll",
    poll: {
      question: "Poll question",
      closed: false,
      total_voters: 1,
      answers: [
        { text: "option 1", voters: 1, chosen: true },
        { text: "option 2", voters: 0, chosen: false },
      ],
    },
  });
  expect(exported?.options.map((o) => [o.text, o.votes])).toEqual([
    ["option 1", 1],
    ["option 2", 0],
  ]);
  expect(exported?.total).toBe(1);
  // the signal-cli importer: options apart, votes by voter (0-based indexes), closed at
  const imported = readPoll(
    {
      signal_type: "poll",
      poll_options: ["Montag", "Dienstag"],
      allow_multiple: false,
      poll_votes: { "+34600000001": { options: [1], at: "2023-11-14T22:21:20Z" } },
      poll_closed_at: "2023-11-14T22:22:20Z",
    },
    "Wann liefern?",
  );
  expect(imported).toEqual({
    question: "Wann liefern?",
    options: [
      { text: "Montag", votes: 0, voters: [] },
      { text: "Dienstag", votes: 1, voters: ["+34600000001"] },
    ],
    total: 1,
    closed: true,
    multiple: false,
  });
  // what the function keeps of a malformed poll: the question, no options
  expect(readPoll(md("telegram:poll_malformed"))?.options).toEqual([]);
  // a vote for an option that does not exist counts nowhere
  expect(readPoll({ poll_options: ["a"], poll_votes: { x: { options: [5, "0"] } } })?.options[0]?.votes).toBe(0);
});

test("live votes name who voted; the platform's count wins where it is higher", () => {
  const at = "2026-03-01T10:00:00Z";
  const poll = readPoll({
    poll: {
      question: "¿Color?",
      options: [
        { text: "Azul", votes: 1 },
        { text: "Rojo", votes: 3 },
      ],
      total_votes: 4,
    },
    poll_votes: {
      ana: { options: [1], at },
      bo: { options: [0], at },
      cy: { options: [0], at },
      dan: { options: [], at },
    },
  });
  expect(poll?.options).toEqual([
    { text: "Azul", votes: 2, voters: ["bo", "cy"] },
    { text: "Rojo", votes: 3, voters: ["ana"] },
  ]);
  expect(poll?.total).toBe(4);
});

test("orders: items, quantities, prices and a total only when every item has them in one currency", () => {
  const order = readOrder(md("whatsapp:order"));
  expect(order?.items).toEqual([
    { id: "di9ozbzfi4", quantity: 2, price: 30, currency: "USD" },
    { id: "nqryix03ez", quantity: 1, price: 25, currency: "USD" },
  ]);
  expect(order?.total).toEqual({ amount: 85, currency: "USD" });
  expect(order?.text).toBe("Please deliver before noon");
  expect(readOrder(md("whatsapp:order_malformed"))).toMatchObject({ items: [], total: null });
  const mixed = readOrder({
    order: {
      product_items: [
        { product_retailer_id: "a", quantity: 1, item_price: 1, currency: "USD" },
        { product_retailer_id: "b", quantity: 1, item_price: 1, currency: "EUR" },
        { quantity: 1 }, // no id: left out
      ],
    },
  });
  expect(mixed?.items).toHaveLength(2);
  expect(mixed?.total).toBeNull();
  expect(readOrder({ order: { product_items: [{ product_retailer_id: "a", quantity: 2 }] } })?.total).toBeNull();
});

test("what was chosen: list and button replies, a template button, a Flow's answers, a callback", () => {
  expect(readInteractive(md("whatsapp:list_reply"))).toEqual({
    label: "Express Shipping",
    id: "priority_express",
    description: "Next day to 2 days",
    answers: [],
  });
  expect(readInteractive(md("whatsapp:button_reply"))?.label).toBe("Change");
  expect(readInteractive({ interactive: { kind: "button", text: "Stop promotions", payload: "STOP" } })).toMatchObject({
    label: "Stop promotions",
    id: "STOP",
  });
  const flow = readInteractive(md("whatsapp:nfm_reply"));
  expect(flow?.answers).toEqual([
    ["name", "Sheena"],
    ["appointment", "2025-06-10"],
  ]);
  expect(flow?.label).toBe("Form sent");
  // a response_json the function could not parse is kept as text: shown as it was
  expect(readInteractive(md("whatsapp:nfm_reply_malformed"))?.description).toBe("{not json");
  expect(readInteractive(md("telegram:callback_query"))).toMatchObject({ label: "Sí, confirmo", id: "confirm:42" });
  expect(readInteractive({ interactive: { kind: "call_permission_reply", response: "accept" } })?.label).toBe(
    "Call permission: accept",
  );
});

test("the ad a message came from; only an http(s) ad address becomes a link", () => {
  expect(readReferral(md("whatsapp:referral"))).toMatchObject({
    headline: "Chat with us",
    url: "https://fb.me/3cr4Wqqkv",
    source: "ad 120226305854810726",
    clickId: expect.stringMatching(/^ARAkLkA8/),
  });
  expect(readReferral({ referral: { source_url: "javascript:alert(1)", headline: "x" } })?.url).toBeNull();
  expect(readReferral({ referral: "ad" })).toBeNull();
});

test("forwarded: live WhatsApp and Telegram, the msgstore and Telegram importers", () => {
  expect(readForwarded(md("whatsapp:forwarded"))).toBe("Forwarded");
  expect(readForwarded(md("whatsapp:frequently_forwarded"))).toBe("Forwarded many times");
  expect(readForwarded(md("telegram:forward_user"))).toBe("Forwarded from Bruno");
  expect(readForwarded({ forwarded: { type: "hidden_user", from: { name: "Carla P." } } })).toBe(
    "Forwarded from Carla P.",
  );
  expect(readForwarded({ forwarded: true })).toBe("Forwarded");
  expect(readForwarded({ forwarded: true, frequently_forwarded: true })).toBe("Forwarded many times");
  expect(readForwarded({ forwarded_from: "Ofertas" })).toBe("Forwarded from Ofertas");
  expect(readForwarded({})).toBeNull();
});

test("call lines: answered with a duration, missed, outgoing, not answered", () => {
  const answered = readCall(md("whatsapp:call_terminate"));
  expect(answered).toEqual({ media: "voice", missed: false, answered: true, durationSeconds: 120 });
  expect(describeCall(answered!, false)).toBe("Voice call, 2 min");
  expect(describeCall(readCall(md("whatsapp:call_missed"))!, false)).toBe("Missed voice call");
  expect(describeCall(readCall(md("whatsapp:call_business_initiated"))!, true)).toBe("Outgoing voice call, 45 s");
  expect(describeCall({ media: "video", missed: false, answered: false, durationSeconds: 0 }, true)).toBe(
    "Outgoing video call, not answered",
  );
  expect(formatDuration(754)).toBe("12 min 34 s");
  expect(formatDuration(3720)).toBe("1 h 2 min");
  expect(readCall({ call: "yes" })).toBeNull();
});

test("places: name, address and a map link from the coordinates; none from coordinates out of range", () => {
  expect(readPlace(md("whatsapp:location"))).toEqual({
    name: "Main Street Beach",
    address: "1 Hacker Way, Menlo Park, CA 94025",
    latitude: 37.483307,
    longitude: -122.148981,
    mapUrl: "https://www.openstreetmap.org/?mlat=37.483307&mlon=-122.148981#map=16/37.483307/-122.148981",
    url: "https://www.example.com/",
  });
  expect(readPlace(md("telegram:venue"))?.mapUrl).toBe(mapLink(40.4153, -3.7074));
  expect(readPlace(md("wechat:wx_location"))?.name).toBeNull();
  // the Telegram importer's venue keys
  expect(readPlace({ place_name: "Sol", address: "Madrid" })).toMatchObject({ name: "Sol", mapUrl: null });
  expect(readPlace({ latitude: 91, longitude: 0 })).toBeNull();
  expect(readPlace({ latitude: "x", longitude: 3 })).toBeNull();
});

test("contacts of every platform's shape, link cards with http(s) addresses only", () => {
  expect(readContacts(md("whatsapp:contacts"))).toEqual([
    { name: "Barbara J. Johnson", phones: ["+1 (650) 555-1234"], emails: [], organization: null },
  ]);
  expect(readContacts(md("telegram:contact"))[0]).toMatchObject({ name: "Bruno Ruiz", phones: ["+34600111222"] });
  expect(readContacts(md("signal:sg_contact"))[0]).toMatchObject({
    emails: ["ana@example.com"],
    organization: "Ruiz SL",
  });
  expect(readContacts({ contacts: [{ name: null, phones: [] }], contact: "x" })).toEqual([]);
  expect(readLinkCards(md("signal:sg_link_preview"))).toEqual([
    { url: "https://example.com/p/1", title: "Camiseta azul", description: "19,90 €" },
  ]);
  expect(readLinkCards(md("wechat:wx_link"))[0]?.url).toBe("https://mp.weixin.qq.com/");
  expect(readLinkCards({ link_previews: [{ url: "javascript:alert(1)" }, { url: "data:x" }] })).toEqual([]);
});

test("albums: consecutive messages of one album and one sender form one run", () => {
  const album = { album: { id: "A" } };
  const runs = albumRuns([
    message(1, album),
    message(2, album),
    message(3, null),
    message(4, album),
    message(5, album, { sender_identifier: "bruno" }),
  ]);
  expect(runs.map((r) => r.map((m) => m.id))).toEqual([["m1", "m2"], ["m3"], ["m4"], ["m5"]]);
});

test("topics, quotes, and kinds the thread names but does not draw", () => {
  expect(readTopic(md("telegram:topic_message"))).toBe("Envíos");
  expect(readTopic({ topic: { id: "715" } })).toBe("Topic 715");
  expect(readTopic({ topic: { id: "715" }, topic_name: "Cambios" })).toBe("Cambios");
  expect(readQuote(md("telegram:quote"))).toEqual({ text: "azul y rojo", from: null });
  expect(readQuote(md("telegram:external_reply"))).toEqual({ text: "-20%", from: "Ofertas" });
  const other = (metadata: Record<string, unknown>) => message(1, metadata, { type: "other" });
  expect(isUnknownKind(other(md("whatsapp:future_kind") as Record<string, unknown>))).toBe(true);
  expect(notShownText("hologram")).toBe("[hologram] not shown here");
  // the WhatsApp export's "media omitted" and an importer's numeric code name no kind: the
  // attachment placeholder, as before
  expect(isUnknownKind(other({ media_omitted: true }))).toBe(false);
  expect(isUnknownKind(other({ view_once: true, media_omitted: true }))).toBe(false);
  expect(isUnknownKind(other({ wechat_type: 49 }))).toBe(false);
  expect(notShownText("event:merchant_order")).toBe("[merchant order] not shown here");
  expect(notShownText("unsupported.edit")).toContain("edited a message");
  expect(notShownText(null)).toBe("[A message] not shown here");
  for (const key of ["whatsapp:order", "whatsapp:call_terminate", "telegram:poll", "telegram:dice", "telegram:story"]) {
    expect(isUnknownKind(other(md(key) as Record<string, unknown>)), key).toBe(false);
  }
});

test("reactions grouped by emoji in the order given; hidden links of Telegram entities; more attachments", () => {
  expect(
    readReactions({
      reactions: {
        zed: { emoji: "❤", at: "2026-01-01T00:02:00Z" },
        amy: { emoji: "❤", at: "2026-01-01T00:01:00Z" },
        bob: { emoji: null, at: "2026-01-01T00:00:00Z" }, // removed
        cy: { emoji: "custom_emoji:77", at: "2026-01-01T00:03:00Z" },
      },
    }),
  ).toEqual([
    { emoji: "❤", custom: false, count: 2, who: ["amy", "zed"] },
    { emoji: "✦", custom: true, count: 1, who: ["cy"] },
  ]);
  const text = "Mira https://sol.example/p/42 y pregunta a @bruno_r";
  // the text_link over "Mira", the text_mention with a username; url and mention entities are visible text
  expect(entityLinks(md("telegram:text_entities"), text)).toEqual([
    { start: 0, end: 4, href: "https://sol.example/" },
    { start: 32, end: 40, href: "https://t.me/bruno_r" },
  ]);
  expect(
    entityLinks({ entities: [{ type: "text_link", offset: 0, length: 99, url: "https://x.org" }] }, "short"),
  ).toEqual([]);
  expect(entityLinks({ entities: [{ type: "text_link", offset: 0, length: 2, url: "javascript:x" }] }, "ab")).toEqual(
    [],
  );
  expect(moreAttachments(md("signal:sg_attachments"))).toEqual(["factura.pdf (51 KB)"]);
});

test("no reader throws on any value", () => {
  const junk: unknown[] = [null, undefined, 0, 1.5, NaN, "", "x", true, [], [1, "a", null], {}, { a: { b: [] } }];
  const keys = [
    "poll",
    "poll_options",
    "poll_votes",
    "order",
    "interactive",
    "referral",
    "forwarded",
    "call",
    "reactions",
  ];
  const more = ["latitude", "longitude", "location", "contacts", "contact", "link_previews", "link", "topic", "quote"];
  for (const key of [...keys, ...more, "external_reply", "album", "entities", "attachments"]) {
    for (const value of junk) {
      const metadata = { [key]: value, platform_kind: value };
      for (const read of [readPoll, readOrder, readInteractive, readReferral, readForwarded, readCall]) {
        expect(() => read(metadata), `${read.name} ${key}=${JSON.stringify(value)}`).not.toThrow();
      }
      for (const read of [
        readPlace,
        readContacts,
        readLinkCards,
        readTopic,
        readQuote,
        readReactions,
        moreAttachments,
      ]) {
        expect(() => read(metadata), `${read.name} ${key}=${JSON.stringify(value)}`).not.toThrow();
      }
      expect(() => entityLinks(metadata, "some text")).not.toThrow();
      expect(() => albumRuns([message(1, metadata), message(2, metadata)])).not.toThrow();
      expect(() => isUnknownKind(message(1, metadata, { type: "other" }))).not.toThrow();
    }
    for (const read of [readPoll, readOrder, readInteractive, readReferral, readForwarded, readCall, readPlace]) {
      expect(() => read(junk[0])).not.toThrow();
      expect(() => read("text")).not.toThrow();
    }
  }
});

test("one line for what does not draw the kinds: text, a call's words, a poll's question, the kind's name", () => {
  expect(oneLine(message(1, null, { type: "text", content: "hola" }))).toBe("hola");
  expect(oneLine(message(2, md("whatsapp:call_terminate") as Record<string, unknown>, { type: "other" }))).toBe(
    "Voice call, 2 min",
  );
  expect(oneLine(message(3, md("telegram:poll") as Record<string, unknown>, { type: "other" }))).toMatch(/^Poll: ./);
  expect(oneLine(message(4, { platform_kind: "request_welcome" }, { type: "other" }))).toBe(
    "[The customer opened the chat for the first time]",
  );
  expect(oneLine(message(5, { platform_kind: "hologram" }, { type: "other" }))).toBe("[hologram]");
  expect(oneLine(message(6, null))).toBe("[Photo]");
  expect(oneLine(message(7, "junk" as unknown as Record<string, unknown>, { type: "other" }))).toBe("[Attachment]");
});
