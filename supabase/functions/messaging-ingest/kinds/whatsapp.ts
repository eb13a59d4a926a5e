// docs/kinds.md's whatsapp examples: the platform's documented payloads and what the function
// makes of each (kinds_test.ts): one example per row of the table that names it. The payloads
// follow Meta's WhatsApp Cloud API webhook references (messages, statuses, calls, history,
// smb_message_echoes, smb_app_state_sync), with the reference's sample values; each is sent to
// the business account below (phone_number_id 106540352242922, +1 555 078 3881).
import type { KindExample, KindExamples } from "./example.ts";

const BUSINESS = "15550783881";
const METADATA = { display_phone_number: BUSINESS, phone_number_id: "106540352242922" };
const CUSTOMER = "16505551234";
const CONTACTS = [{ profile: { name: "Sheena Nelson" }, wa_id: CUSTOMER }];
const TS = "1749416383"; // 2025-06-08T20:59:43Z
const AT = "2025-06-08T20:59:43Z";

/** The webhook body of one change of `field`. */
function wa(value: Record<string, unknown>, field = "messages"): unknown {
  return {
    object: "whatsapp_business_account",
    entry: [{
      id: "102290129340398",
      changes: [{ value: { messaging_product: "whatsapp", metadata: METADATA, ...value }, field }],
    }],
  };
}

/** A customer's message of `type` with its part (messages field). */
function msg(type: string, part: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return wa({
    contacts: CONTACTS,
    messages: [{ from: CUSTOMER, id: `wamid.${type.toUpperCase()}`, timestamp: TS, type, [type]: part, ...extra }],
  });
}

/** What a customer's message in the direct conversation gives. */
function inbound(fields: Record<string, unknown>): KindExample["expect"] {
  return {
    messages: [{
      platform: "whatsapp",
      external_conversation_id: `+${CUSTOMER}`,
      conversation_type: "direct",
      direction: "inbound",
      sender_identifier: `+${CUSTOMER}`,
      sender_name: "Sheena Nelson",
      sent_at: AT,
      ...fields,
    }],
    updates: [],
    refused: [],
  };
}

/** A status of a message the business sent (statuses field). */
function status(s: Record<string, unknown>): unknown {
  return wa({ statuses: [{ id: "wamid.OUT", timestamp: TS, recipient_id: CUSTOMER, ...s }] });
}

function statusUpdate(fields: Record<string, unknown>): KindExample["expect"] {
  const placeholder = fields.kind === "status" ? { placeholder: true } : {};
  return {
    messages: [],
    updates: [
      {
        platform: "whatsapp",
        external_conversation_id: `+${CUSTOMER}`,
        id: "wamid.OUT",
        at: AT,
        ...placeholder,
        ...fields,
      },
    ],
    refused: [],
  };
}

const NOTHING: KindExample["expect"] = { messages: [], updates: [], refused: [] };

const CALL = {
  id: "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh",
  to: BUSINESS,
  from: CUSTOMER,
  direction: "USER_INITIATED",
  timestamp: "1749416503", // 2025-06-08T21:01:43Z
};

const FORM = JSON.stringify({ flow_token: "AQAAAAACS5FpgQ_cAAAAAD0QI3s.", name: "Sheena", appointment: "2025-06-10" });

const examples: Record<string, KindExample> = {
  // ---- messages field: the customer's message kinds
  text: {
    body: msg("text", { body: "Does it come in another color?" }),
    expect: inbound({ type: "text", content: "Does it come in another color?", participant_name: "Sheena Nelson" }),
  },
  image: {
    body: msg("image", {
      caption: "this one?",
      mime_type: "image/jpeg",
      sha256: "IMAGE_HASH=",
      id: "1003383421387256",
    }),
    expect: inbound({
      type: "image",
      content: "this one?",
      metadata: { media_id: "1003383421387256", mime_type: "image/jpeg", sha256: "IMAGE_HASH=" },
    }),
  },
  video: {
    body: msg("video", { caption: "unboxing", mime_type: "video/mp4", sha256: "VIDEO_HASH=", id: "1166846181421424" }),
    expect: inbound({ type: "video", content: "unboxing", metadata: { media_id: "1166846181421424" } }),
  },
  audio: {
    body: msg("audio", { mime_type: "audio/mpeg", sha256: "AUDIO_HASH=", id: "1013859600285441", voice: false }),
    expect: inbound({
      type: "audio",
      content: null,
      metadata: { media_id: "1013859600285441", mime_type: "audio/mpeg" },
    }),
  },
  voice: {
    body: msg("audio", {
      mime_type: "audio/ogg; codecs=opus",
      sha256: "VOICE_HASH=",
      id: "1013859600285442",
      voice: true,
    }),
    expect: inbound({ type: "voice", metadata: { media_id: "1013859600285442" } }),
  },
  document: {
    body: msg("document", {
      caption: "the invoice",
      filename: "invoice.pdf",
      mime_type: "application/pdf",
      sha256: "DOC_HASH=",
      id: "1003383421387257",
    }),
    expect: inbound({ type: "document", content: "the invoice", metadata: { filename: "invoice.pdf" } }),
  },
  sticker: {
    body: msg("sticker", { mime_type: "image/webp", sha256: "STICKER_HASH=", id: "1003383421387258", animated: false }),
    expect: inbound({ type: "sticker", content: null, metadata: { media_id: "1003383421387258", animated: false } }),
  },
  location: {
    body: msg("location", {
      address: "1 Hacker Way, Menlo Park, CA 94025",
      latitude: 37.483307,
      longitude: -122.148981,
      name: "Main Street Beach",
      url: "https://www.example.com",
    }),
    expect: inbound({
      type: "location",
      content: "Main Street Beach, 1 Hacker Way, Menlo Park, CA 94025",
      media_url: "https://www.example.com",
      metadata: {
        latitude: 37.483307,
        longitude: -122.148981,
        location: {
          name: "Main Street Beach",
          address: "1 Hacker Way, Menlo Park, CA 94025",
          url: "https://www.example.com",
        },
      },
    }),
  },
  contacts: {
    body: wa({
      contacts: CONTACTS,
      messages: [{
        from: CUSTOMER,
        id: "wamid.CONTACTS",
        timestamp: TS,
        type: "contacts",
        contacts: [{
          name: { formatted_name: "Barbara J. Johnson", first_name: "Barbara", last_name: "Johnson" },
          phones: [{ phone: "+1 (650) 555-1234", type: "MOBILE", wa_id: "16505551234" }],
        }],
      }],
    }),
    expect: inbound({
      type: "contact",
      content: "Barbara J. Johnson",
      metadata: { contacts: [{ name: { formatted_name: "Barbara J. Johnson" } }] },
    }),
  },
  reaction: {
    body: msg("reaction", { message_id: "wamid.OUT", emoji: "\u{1F600}" }),
    expect: {
      messages: [],
      updates: [{ kind: "reaction", id: "wamid.OUT", reactor: `+${CUSTOMER}`, emoji: "\u{1F600}", at: AT }],
      refused: [],
    },
  },
  reaction_removed: {
    body: msg("reaction", { message_id: "wamid.OUT", emoji: "" }),
    expect: { messages: [], updates: [{ kind: "reaction", id: "wamid.OUT", emoji: null }], refused: [] },
  },
  button: {
    body: msg("button", { payload: "STOP_PROMOTIONS", text: "Stop promotions" }, {
      context: { from: BUSINESS, id: "wamid.TEMPLATE" },
    }),
    expect: inbound({
      type: "text",
      content: "Stop promotions",
      reply_to_id: "wamid.TEMPLATE",
      metadata: {
        whatsapp_type: "button",
        interactive: { kind: "button", text: "Stop promotions", payload: "STOP_PROMOTIONS" },
      },
    }),
  },
  button_reply: {
    body: msg("interactive", { type: "button_reply", button_reply: { id: "change-button", title: "Change" } }),
    expect: inbound({
      type: "text",
      content: "Change",
      metadata: {
        whatsapp_type: "interactive",
        interactive: { kind: "button_reply", id: "change-button", title: "Change" },
      },
    }),
  },
  list_reply: {
    body: msg("interactive", {
      type: "list_reply",
      list_reply: { id: "priority_express", title: "Express Shipping", description: "Next day to 2 days" },
    }),
    expect: inbound({
      type: "text",
      content: "Express Shipping",
      metadata: {
        interactive: {
          kind: "list_reply",
          id: "priority_express",
          title: "Express Shipping",
          description: "Next day to 2 days",
        },
      },
    }),
  },
  nfm_reply: {
    body: msg("interactive", { type: "nfm_reply", nfm_reply: { name: "flow", body: "Sent", response_json: FORM } }),
    expect: inbound({
      type: "text",
      content: "Sent",
      metadata: {
        interactive: {
          kind: "nfm_reply",
          name: "flow",
          answers: { flow_token: "AQAAAAACS5FpgQ_cAAAAAD0QI3s.", name: "Sheena", appointment: "2025-06-10" },
        },
      },
    }),
  },
  nfm_reply_malformed: {
    body: msg("interactive", {
      type: "nfm_reply",
      nfm_reply: { name: "flow", body: "Sent", response_json: "{not json" },
    }),
    expect: inbound({
      type: "text",
      content: "Sent",
      metadata: { interactive: { kind: "nfm_reply", name: "flow", response_json: "{not json" } },
    }),
  },
  call_permission_reply: {
    body: msg("interactive", {
      type: "call_permission_reply",
      call_permission_reply: {
        response: "accept",
        is_permanent: false,
        expiration_timestamp: 1749848400,
        response_source: "user_action",
      },
    }),
    expect: inbound({
      type: "text",
      content: "Call permission: accept",
      metadata: {
        interactive: {
          kind: "call_permission_reply",
          response: "accept",
          is_permanent: false,
          expiration_timestamp: 1749848400,
          response_source: "user_action",
        },
      },
    }),
  },
  interactive_future: {
    body: msg("interactive", { type: "carousel_reply", carousel_reply: { id: "c1" } }),
    expect: inbound({
      type: "other",
      metadata: { whatsapp_type: "interactive", platform_kind: "interactive.carousel_reply" },
    }),
  },
  order: {
    body: msg("order", {
      catalog_id: "194836987003835",
      text: "Please deliver before noon",
      product_items: [
        { product_retailer_id: "di9ozbzfi4", quantity: 2, item_price: 30, currency: "USD" },
        { product_retailer_id: "nqryix03ez", quantity: 1, item_price: 25, currency: "USD" },
      ],
    }),
    expect: inbound({
      type: "other",
      content: "Please deliver before noon",
      metadata: {
        whatsapp_type: "order",
        platform_kind: "order",
        order: {
          catalog_id: "194836987003835",
          text: "Please deliver before noon",
          product_items: [
            { product_retailer_id: "di9ozbzfi4", quantity: 2, item_price: 30, currency: "USD" },
            { product_retailer_id: "nqryix03ez", quantity: 1, item_price: 25, currency: "USD" },
          ],
        },
      },
    }),
  },
  order_malformed: {
    body: msg("order", { catalog_id: "194836987003835", product_items: "two shirts" }),
    expect: inbound({
      type: "other",
      content: null,
      metadata: { platform_kind: "order", order: { catalog_id: "194836987003835", product_items: [] } },
    }),
  },
  referral: {
    body: msg("text", { body: "Can I get more info about this?" }, {
      referral: {
        source_url: "https://fb.me/3cr4Wqqkv",
        source_id: "120226305854810726",
        source_type: "ad",
        body: "Summer sale: 30% off",
        headline: "Chat with us",
        media_type: "image",
        image_url: "https://scontent.xx.fbcdn.net/v/t45.1600-4/ad.png",
        ctwa_clid: "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-ZABDLZ7ML-aGa",
      },
    }),
    expect: inbound({
      type: "text",
      content: "Can I get more info about this?",
      metadata: {
        referral: {
          source_url: "https://fb.me/3cr4Wqqkv",
          source_id: "120226305854810726",
          source_type: "ad",
          headline: "Chat with us",
          body: "Summer sale: 30% off",
          media_type: "image",
          ctwa_clid: "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-ZABDLZ7ML-aGa",
        },
      },
    }),
  },
  forwarded: {
    body: msg("text", { body: "look at this" }, { context: { forwarded: true } }),
    expect: inbound({ type: "text", metadata: { forwarded: { frequently: false } } }),
  },
  frequently_forwarded: {
    body: msg("text", { body: "look at this" }, { context: { frequently_forwarded: true } }),
    expect: inbound({ type: "text", metadata: { forwarded: { frequently: true } } }),
  },
  reply: {
    body: msg("text", { body: "yes, that one" }, { context: { from: BUSINESS, id: "wamid.OUT" } }),
    expect: inbound({ type: "text", reply_to_id: "wamid.OUT" }),
  },
  referred_product: {
    body: msg("text", { body: "Is this in stock?" }, {
      context: {
        from: BUSINESS,
        id: "wamid.CATALOG",
        referred_product: { catalog_id: "194836987003835", product_retailer_id: "di9ozbzfi4" },
      },
    }),
    expect: inbound({
      type: "text",
      reply_to_id: "wamid.CATALOG",
      metadata: { referred_product: { catalog_id: "194836987003835", product_retailer_id: "di9ozbzfi4" } },
    }),
  },
  system_changed_number: {
    body: msg("system", {
      body: "User A changed from 16505551234 to 16505550000",
      wa_id: "16505550000",
      type: "user_changed_number",
    }),
    expect: inbound({
      type: "system",
      content: "User A changed from 16505551234 to 16505550000",
      metadata: { whatsapp_system_type: "user_changed_number" },
      participant_ids: { phone: ["+16505551234", "+16505550000"] },
    }),
  },
  unsupported: {
    body: msg("unsupported", {}, { errors: [{ code: 131051, title: "Message type unknown" }] }),
    expect: inbound({
      type: "other",
      content: null,
      metadata: {
        whatsapp_type: "unsupported",
        platform_kind: "unsupported",
        errors: [{ code: 131051, title: "Message type unknown" }],
      },
    }),
  },
  unsupported_edit: {
    body: msg("unsupported", { type: "edit" }, { errors: [{ code: 131051, title: "Message type unknown" }] }),
    expect: inbound({
      type: "other",
      metadata: { whatsapp_type: "unsupported", platform_kind: "unsupported.edit", unsupported: { type: "edit" } },
    }),
  },
  request_welcome: {
    body: wa({
      contacts: CONTACTS,
      messages: [{ from: CUSTOMER, id: "wamid.WELCOME", timestamp: TS, type: "request_welcome" }],
    }),
    expect: inbound({
      type: "other",
      content: null,
      metadata: { whatsapp_type: "request_welcome", platform_kind: "request_welcome" },
    }),
  },
  future_kind: {
    body: msg("hologram", { body: "from the future" }),
    expect: {
      ...inbound({
        type: "other",
        content: "from the future",
        metadata: { whatsapp_type: "hologram", platform_kind: "hologram", unknown_kind: true },
      }),
      state: { unknown_kinds: { hologram: 1 } },
    },
  },
  group_message: {
    body: wa({
      contacts: CONTACTS,
      messages: [{
        from: CUSTOMER,
        group_id: "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD",
        id: "wamid.GROUP",
        timestamp: TS,
        type: "text",
        text: { body: "hello group" },
      }],
    }),
    expect: {
      messages: [{
        external_conversation_id: "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD",
        conversation_type: "group",
        direction: "inbound",
        type: "text",
        content: "hello group",
        sender_identifier: `+${CUSTOMER}`,
        sender_name: "Sheena Nelson",
      }],
      updates: [],
      refused: [],
    },
  },
  text_without_body: {
    body: wa({
      messages: [
        { from: CUSTOMER, id: "wamid.EMPTY", timestamp: TS, type: "text", text: {} },
        { from: CUSTOMER, id: "wamid.GOOD", timestamp: TS, type: "text", text: { body: "still here" } },
      ],
    }),
    expect: {
      messages: [{ id: "wamid.GOOD", content: "still here" }],
      updates: [],
      refused: [{ path: "entry[0].changes[0].value.messages[0]", kind: "invalid_shape" }],
    },
  },

  // value.contacts: not a message; the customer's profile feeds the message's names and ids
  contacts_profile: {
    body: wa({
      contacts: [{
        profile: { name: "Sheena Nelson", username: "sheena.nelson" },
        wa_id: CUSTOMER,
        user_id: "US.13491208655302741918",
      }],
      messages: [{
        from: CUSTOMER,
        from_user_id: "US.13491208655302741918",
        id: "wamid.PROFILE",
        timestamp: TS,
        type: "text",
        text: { body: "Hi again" },
      }],
    }),
    expect: inbound({
      id: "wamid.PROFILE",
      type: "text",
      participant_name: "Sheena Nelson",
      participant_ids: {
        phone: `+${CUSTOMER}`,
        whatsapp_user_id: "US.13491208655302741918",
        username: "sheena.nelson",
      },
    }),
  },
  // messages[].errors on the `unknown` type of Meta's earlier references (today's send
  // `unsupported`, whose rows carry errors too)
  message_errors: {
    body: msg("unknown", {}, {
      errors: [{ code: 131051, details: "Message type is not currently supported", title: "Unsupported message type" }],
    }),
    expect: inbound({
      id: "wamid.UNKNOWN",
      type: "other",
      content: null,
      metadata: {
        whatsapp_type: "unknown",
        platform_kind: "unknown",
        errors: [{
          code: 131051,
          details: "Message type is not currently supported",
          title: "Unsupported message type",
        }],
      },
    }),
  },

  // ---- statuses of the business's messages
  // the row's first kind, conversation, with pricing beside it: neither is kept on the update
  status_pricing: {
    body: status({
      status: "delivered",
      conversation: {
        id: "CONVERSATION_ID",
        expiration_timestamp: "1749502783",
        origin: { type: "service" },
      },
      pricing: { billable: true, pricing_model: "PMP", category: "service" },
    }),
    expect: statusUpdate({ kind: "status", status: "delivered", conversation: undefined, pricing: undefined }),
  },
  status_sent: { body: status({ status: "sent" }), expect: statusUpdate({ kind: "status", status: "sent" }) },
  status_delivered: {
    body: status({ status: "delivered" }),
    expect: statusUpdate({ kind: "status", status: "delivered" }),
  },
  status_read: { body: status({ status: "read" }), expect: statusUpdate({ kind: "status", status: "read" }) },
  status_played: { body: status({ status: "played" }), expect: statusUpdate({ kind: "status", status: "played" }) },
  status_failed: {
    body: status({
      status: "failed",
      errors: [{ code: 131047, title: "Re-engagement message", error_data: { details: "more than 24 hours" } }],
    }),
    expect: statusUpdate({ kind: "status", status: "failed", error: { code: 131047, title: "Re-engagement message" } }),
  },
  status_deleted: { body: status({ status: "deleted" }), expect: statusUpdate({ kind: "delete" }) },
  status_warning: { body: status({ status: "warning" }), expect: NOTHING },
  status_user_id: {
    body: wa({
      statuses: [{ id: "wamid.OUT", status: "read", timestamp: TS, recipient_user_id: "US.13491208655302741918" }],
    }),
    expect: {
      messages: [],
      updates: [{ kind: "status", status: "read", external_conversation_id: "US.13491208655302741918" }],
      refused: [],
    },
  },
  status_group: {
    body: status({
      status: "delivered",
      recipient_type: "group",
      recipient_id: "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD",
      recipient_participant_id: CUSTOMER,
    }),
    expect: {
      messages: [],
      updates: [{
        kind: "status",
        status: "delivered",
        external_conversation_id: "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD",
      }],
      refused: [],
    },
  },
  status_unknown: {
    body: status({ status: "teleported" }),
    expect: {
      messages: [],
      updates: [],
      refused: [{ path: "entry[0].changes[0].value.statuses[0]", kind: "invalid_shape" }],
    },
  },

  // ---- calls field
  call_connect: {
    body: wa({
      contacts: CONTACTS,
      calls: [{ ...CALL, event: "connect", session: { sdp_type: "offer", sdp: "<RFC 4566 SDP>" } }],
    }, "calls"),
    expect: NOTHING,
  },
  call_terminate: {
    body: wa({
      contacts: CONTACTS,
      calls: [{
        ...CALL,
        event: "terminate",
        status: "Completed",
        start_time: "1749416383",
        end_time: "1749416503",
        duration: 120,
      }],
    }, "calls"),
    expect: inbound({
      id: CALL.id,
      type: "other",
      content: null,
      sent_at: AT,
      metadata: {
        whatsapp_type: "call",
        call: { media: "voice", missed: false, answered: true, duration_seconds: 120, status: "Completed" },
      },
    }),
  },
  call_missed: {
    body: wa({ contacts: CONTACTS, calls: [{ ...CALL, event: "terminate", status: "Failed" }] }, "calls"),
    expect: inbound({
      id: CALL.id,
      type: "other",
      sent_at: "2025-06-08T21:01:43Z",
      metadata: { whatsapp_type: "call", call: { media: "voice", missed: true, answered: false } },
    }),
  },
  call_business_initiated: {
    body: wa({
      calls: [{
        ...CALL,
        from: BUSINESS,
        to: CUSTOMER,
        direction: "BUSINESS_INITIATED",
        event: "terminate",
        status: "Completed",
        duration: 45,
      }],
    }, "calls"),
    expect: {
      messages: [{
        external_conversation_id: `+${CUSTOMER}`,
        direction: "outbound",
        sender_identifier: `+${BUSINESS}`,
        metadata: { call: { missed: false, duration_seconds: 45 } },
      }],
      updates: [],
      refused: [],
    },
  },
  call_status: {
    body: wa({
      statuses: [{ id: CALL.id, timestamp: TS, type: "call", status: "RINGING", recipient_id: CUSTOMER }],
    }, "calls"),
    expect: NOTHING,
  },

  // an event the Calling API does not document (a future one)
  call_unknown_event: {
    body: wa({ contacts: CONTACTS, calls: [{ ...CALL, event: "transfer" }] }, "calls"),
    expect: {
      messages: [],
      updates: [],
      refused: [{ path: "entry[0].changes[0].value.calls[0]", kind: "invalid_shape" }],
    },
  },
  // ---- history field (a WhatsApp Business app number connected to Cloud API)
  history: {
    body: wa({
      history: [{
        metadata: { phase: 1, chunk_order: 2, progress: 55 },
        threads: [{
          id: CUSTOMER,
          messages: [
            {
              from: CUSTOMER,
              id: "wamid.HIST1",
              timestamp: "1740000000",
              type: "text",
              text: { body: "Do you ship to Lisbon?" },
              history_context: { status: "READ" },
            },
            {
              from: BUSINESS,
              to: CUSTOMER,
              id: "wamid.HIST2",
              timestamp: "1740000060",
              type: "text",
              text: { body: "We do!" },
              history_context: { status: "DELIVERED" },
            },
          ],
        }],
      }],
    }, "history"),
    expect: {
      messages: [
        {
          id: "wamid.HIST1",
          external_conversation_id: `+${CUSTOMER}`,
          direction: "inbound",
          sent_at: "2025-02-19T21:20:00Z",
          metadata: { history: { phase: 1, chunk_order: 2, progress: 55, status: "read" } },
        },
        {
          id: "wamid.HIST2",
          external_conversation_id: `+${CUSTOMER}`,
          direction: "outbound",
          sender_identifier: `+${BUSINESS}`,
          sent_at: "2025-02-19T21:21:00Z",
          metadata: { history: { phase: 1, status: "delivered" } },
        },
      ],
      updates: [],
      refused: [],
      state: { history: { chunks: [{ phase: 1, chunk_order: 2, progress: 55 }] } },
    },
  },
  history_declined: {
    body: wa({
      history: [{
        errors: [{
          code: 2593109,
          title: "History sharing is turned off by user",
          message: "History sharing is turned off by user",
          error_data: { details: "The business has declined to share chat history" },
        }],
      }],
    }, "history"),
    expect: {
      ...NOTHING,
      state: {
        history: { chunks: [], error: { code: 2593109, details: "The business has declined to share chat history" } },
      },
    },
  },

  // a chunk's metadata: on its message and, per phase, on the connection
  history_metadata: {
    body: wa({
      history: [{
        metadata: { phase: 2, chunk_order: 3, progress: 100 },
        threads: [{
          id: CUSTOMER,
          messages: [{
            from: CUSTOMER,
            id: "wamid.HIST3",
            timestamp: "1735000000",
            type: "text",
            text: { body: "Happy holidays!" },
            history_context: { status: "READ" },
          }],
        }],
      }],
    }, "history"),
    expect: {
      messages: [{ id: "wamid.HIST3", metadata: { history: { phase: 2, chunk_order: 3, progress: 100 } } }],
      updates: [],
      refused: [],
      state: { history: { chunks: [{ phase: 2, chunk_order: 3, progress: 100 }] } },
    },
  },
  // ---- smb_message_echoes and smb_app_state_sync
  echo: {
    body: wa({
      message_echoes: [{
        from: BUSINESS,
        to: CUSTOMER,
        id: "wamid.ECHO",
        timestamp: TS,
        type: "text",
        text: { body: "Yes, in blue and red" },
      }],
    }, "smb_message_echoes"),
    expect: {
      messages: [{
        external_conversation_id: `+${CUSTOMER}`,
        direction: "outbound",
        type: "text",
        content: "Yes, in blue and red",
        sender_identifier: `+${BUSINESS}`,
      }],
      updates: [],
      refused: [],
    },
  },
  // ---- edits and revokes (Coexistence): of a customer's message, and the business's own
  edit: {
    body: wa({
      contacts: CONTACTS,
      messages: [{
        from: CUSTOMER,
        id: "wamid.EDIT",
        timestamp: TS,
        type: "edit",
        edit: {
          original_message_id: "wamid.TEXT",
          message: { type: "text", text: { body: "Does it come in green?" } },
        },
      }],
    }),
    expect: inbound({ id: "wamid.TEXT", type: "text", content: "Does it come in green?", edited_at: AT }),
  },
  edit_malformed: {
    body: wa({
      contacts: CONTACTS,
      messages: [
        { from: CUSTOMER, id: "wamid.EDIT", timestamp: TS, type: "edit", edit: { message: { type: "text" } } },
        { from: CUSTOMER, id: "wamid.GOOD", timestamp: TS, type: "text", text: { body: "still here" } },
      ],
    }),
    expect: {
      messages: [{ id: "wamid.GOOD", content: "still here" }],
      updates: [],
      refused: [{ path: "entry[0].changes[0].value.messages[0]", kind: "invalid_shape" }],
    },
  },
  revoke: {
    body: wa({
      contacts: CONTACTS,
      messages: [{
        from: CUSTOMER,
        id: "wamid.REVOKE",
        timestamp: TS,
        type: "revoke",
        revoke: { original_message_id: "wamid.TEXT" },
      }],
    }),
    expect: {
      messages: [],
      updates: [{
        kind: "delete",
        platform: "whatsapp",
        external_conversation_id: `+${CUSTOMER}`,
        id: "wamid.TEXT",
        at: AT,
      }],
      refused: [],
    },
  },
  echo_edit: {
    body: wa({
      message_echoes: [{
        from: BUSINESS,
        to: CUSTOMER,
        id: "wamid.ECHO_EDIT",
        timestamp: TS,
        type: "edit",
        edit: {
          original_message_id: "wamid.ECHO",
          message: { type: "text", text: { body: "Yes, in blue, red and green" } },
        },
      }],
    }, "smb_message_echoes"),
    expect: {
      messages: [{
        id: "wamid.ECHO",
        external_conversation_id: `+${CUSTOMER}`,
        direction: "outbound",
        content: "Yes, in blue, red and green",
        edited_at: AT,
        sender_identifier: `+${BUSINESS}`,
      }],
      updates: [],
      refused: [],
    },
  },
  echo_revoke: {
    body: wa({
      message_echoes: [{
        from: BUSINESS,
        to: CUSTOMER,
        id: "wamid.ECHO_REVOKE",
        timestamp: TS,
        type: "revoke",
        revoke: { original_message_id: "wamid.ECHO" },
      }],
    }, "smb_message_echoes"),
    expect: {
      messages: [],
      updates: [{ kind: "delete", external_conversation_id: `+${CUSTOMER}`, id: "wamid.ECHO", at: AT }],
      refused: [],
    },
  },
  state_sync_contact: {
    body: wa({
      state_sync: [{
        type: "contact",
        contact: { full_name: "Sheena Nelson", first_name: "Sheena", phone_number: CUSTOMER },
        action: "add",
        metadata: { timestamp: TS },
      }],
    }, "smb_app_state_sync"),
    expect: {
      ...NOTHING,
      state: {
        contacts: [{ identifier: `+${CUSTOMER}`, name: "Sheena Nelson", first_name: "Sheena", action: "add", at: AT }],
      },
    },
  },
  state_sync_contact_remove: {
    body: wa({
      state_sync: [{
        type: "contact",
        contact: { phone_number: CUSTOMER },
        action: "remove",
        metadata: { timestamp: TS },
      }],
    }, "smb_app_state_sync"),
    expect: { ...NOTHING, state: { contacts: [{ identifier: `+${CUSTOMER}`, action: "remove", at: AT }] } },
  },
  state_sync_other_type: {
    body: wa({
      state_sync: [{ type: "hologram", action: "add", metadata: { timestamp: TS } }], // a type the reference does not list
    }, "smb_app_state_sync"),
    expect: { ...NOTHING, state: { contacts: undefined, unknown_kinds: { "state_sync:hologram": 1 } } },
  },
  // the row's first field; the others of IGNORED_FIELDS (whatsapp.ts) take the same path
  account_update: {
    body: {
      object: "whatsapp_business_account",
      entry: [{
        id: "102290129340398",
        time: 1749416383,
        changes: [{
          value: {
            event: "PARTNER_ADDED",
            waba_info: { waba_id: "102290129340398", owner_business_id: "1882635711890231" },
          },
          field: "account_update",
        }],
      }],
    },
    expect: { ...NOTHING, state: { unknown_kinds: undefined } },
  },
  unknown_field: {
    body: wa({ anything: { id: 1 } }, "hologram_update"),
    expect: { ...NOTHING, state: { unknown_kinds: { "field:hologram_update": 1 } } },
  },
};

const kinds: KindExamples = {
  connection: {
    id: "00000000-0000-4000-8000-000000000001",
    user_id: "00000000-0000-4000-8000-0000000000aa",
    platform: "whatsapp",
    account_identifier: "106540352242922",
    status: "active",
    secrets: {},
  },
  examples,
};

export default kinds;
