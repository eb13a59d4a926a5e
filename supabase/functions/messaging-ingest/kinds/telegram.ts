// docs/kinds.md's telegram examples: the Bot API's documented payloads (Update, Message and
// the objects they carry, as https://core.telegram.org/bots/api describes them) and what the
// function makes of each (kinds_test.ts): one example per row of the table that names it.
// The business account is "Tienda Sol" (user 999), connected to the bot @crm_shop_bot; the
// customer is Ana (user 111111111), the group "Pedidos" a forum supergroup.
import type { KindExample, KindExamples } from "./example.ts";

const ANA = { id: 111111111, is_bot: false, first_name: "Ana", last_name: "García", username: "AnaG" };
const BRUNO = { id: 222222222, is_bot: false, first_name: "Bruno", username: "bruno_r" };
const SHOP = { id: 999, is_bot: false, first_name: "Tienda Sol", username: "tiendasol" };
const PRIVATE = { id: 111111111, first_name: "Ana", last_name: "García", username: "AnaG", type: "private" };
const GROUP = { id: -1001234567890, title: "Pedidos", type: "supergroup", is_forum: true };
const CHANNEL = { id: -1009876543210, title: "Ofertas", type: "channel", username: "ofertas_sol" };
const DATE = 1733580000; // 2024-12-07T14:00:00Z
const SENT = "2024-12-07T14:00:00Z";

/** An Update carrying one message from Ana in her private chat with the business. */
function fromAna(fields: Record<string, unknown>, id = 500): unknown {
  return { update_id: 900000 + id, message: { message_id: id, from: ANA, chat: PRIVATE, date: DATE, ...fields } };
}

/** An Update carrying one message from Ana in the group. */
function inGroup(fields: Record<string, unknown>, id = 700, from: unknown = ANA): unknown {
  return { update_id: 800000 + id, message: { message_id: id, from, chat: GROUP, date: DATE, ...fields } };
}

/** One message expected, of Ana's private chat (a subset of the mapped message). */
function one(id: number, fields: Record<string, unknown>): KindExample["expect"] {
  return {
    messages: [{
      platform: "telegram",
      external_conversation_id: "111111111",
      id: `111111111:${id}`,
      sent_at: SENT,
      ...fields,
    }],
    updates: [],
  };
}

function group(id: number, fields: Record<string, unknown>): KindExample["expect"] {
  return {
    messages: [{
      external_conversation_id: "-1001234567890",
      conversation_type: "group",
      id: `-1001234567890:${id}`,
      ...fields,
    }],
    updates: [],
  };
}

/** An update the function ignores: no message, update or refusal, and not counted as unknown. */
const IGNORED: KindExample["expect"] = { messages: [], updates: [], refused: [], state: { unknown_kinds: undefined } };

/** The metadata of a documented kind kept as `other` (as invoice): named, not counted as unknown. */
function documented(kind: string): Record<string, unknown> {
  return { platform_kind: kind, telegram_type: kind, unknown_kind: undefined };
}

const photoSizes = [
  { file_id: "AgAD-small", file_unique_id: "s1", width: 90, height: 67, file_size: 1200 },
  { file_id: "AgAD-large", file_unique_id: "l1", width: 1280, height: 960, file_size: 120000 },
];

const examples: Record<string, KindExample> = {
  text: {
    body: fromAna({ text: "Hola, ¿tienen la talla M?" }),
    expect: one(500, {
      direction: "inbound",
      type: "text",
      content: "Hola, ¿tienen la talla M?",
      sender_name: "Ana García",
    }),
  },
  text_entities: {
    body: fromAna({
      text: "Mira https://sol.example/p/42 y pregunta a @bruno_r",
      entities: [
        { type: "url", offset: 5, length: 24 },
        { type: "mention", offset: 43, length: 8 },
        { type: "text_link", offset: 0, length: 4, url: "https://sol.example/" },
        { type: "text_mention", offset: 32, length: 8, user: BRUNO },
      ],
    }, 501),
    expect: one(501, {
      type: "text",
      metadata: {
        entities: [
          { type: "url", offset: 5, length: 24 },
          { type: "mention", offset: 43, length: 8 },
          { type: "text_link", offset: 0, length: 4, url: "https://sol.example/" },
          {
            type: "text_mention",
            offset: 32,
            length: 8,
            user: { id: "222222222", name: "Bruno", username: "bruno_r" },
          },
        ],
      },
    }),
  },
  photo: {
    body: fromAna({
      photo: photoSizes,
      caption: "Esta, en azul",
      caption_entities: [{ type: "bold", offset: 0, length: 4 }],
    }, 502),
    expect: one(502, {
      type: "image",
      content: "Esta, en azul",
      metadata: { file_id: "AgAD-large", entities: [{ type: "bold", offset: 0, length: 4 }] },
    }),
  },
  video: {
    body: fromAna({
      video: { file_id: "BAAD-v", file_unique_id: "v1", width: 640, height: 360, duration: 12, mime_type: "video/mp4" },
    }, 503),
    expect: one(503, {
      type: "video",
      content: null,
      metadata: { file_id: "BAAD-v", mime_type: "video/mp4", duration_seconds: 12 },
    }),
  },
  animation: {
    body: fromAna({
      animation: { file_id: "CgAD-a", file_unique_id: "a1", width: 320, height: 240, duration: 3, file_name: "ok.mp4" },
      document: { file_id: "CgAD-a", file_unique_id: "a1", file_name: "ok.mp4" },
    }, 504),
    expect: one(504, {
      type: "video",
      metadata: { platform_kind: "animation", file_id: "CgAD-a", filename: "ok.mp4" },
    }),
  },
  video_note: {
    body: fromAna({ video_note: { file_id: "DQAD-n", file_unique_id: "n1", length: 240, duration: 8 } }, 505),
    expect: one(505, {
      type: "video",
      metadata: { platform_kind: "video_note", file_id: "DQAD-n", duration_seconds: 8 },
    }),
  },
  voice: {
    body: fromAna({ voice: { file_id: "AwAD-o", file_unique_id: "o1", duration: 5, mime_type: "audio/ogg" } }, 506),
    expect: one(506, { type: "voice", content: null, metadata: { file_id: "AwAD-o", mime_type: "audio/ogg" } }),
  },
  audio: {
    body: fromAna({
      audio: { file_id: "CQAD-m", file_unique_id: "m1", duration: 180, title: "Jingle", mime_type: "audio/mpeg" },
    }, 507),
    expect: one(507, {
      type: "audio",
      metadata: { file_id: "CQAD-m", mime_type: "audio/mpeg", duration_seconds: 180 },
    }),
  },
  document: {
    body: fromAna({
      document: { file_id: "BQAD-d", file_unique_id: "d1", file_name: "factura.pdf", mime_type: "application/pdf" },
      caption: "La factura",
    }, 508),
    expect: one(508, {
      type: "document",
      content: "La factura",
      metadata: { file_id: "BQAD-d", filename: "factura.pdf", mime_type: "application/pdf" },
    }),
  },
  sticker: {
    body: fromAna({
      sticker: {
        file_id: "CAAD-s",
        file_unique_id: "k1",
        type: "regular",
        width: 512,
        height: 512,
        is_animated: false,
        is_video: false,
        emoji: "👍",
      },
    }, 509),
    expect: one(509, { type: "sticker", content: "👍", metadata: { file_id: "CAAD-s" } }),
  },
  dice: {
    body: fromAna({ dice: { emoji: "🎲", value: 6 } }, 510),
    expect: one(510, {
      type: "other",
      content: "🎲 6",
      metadata: { platform_kind: "dice", dice: { emoji: "🎲", value: 6 } },
    }),
  },
  location: {
    body: fromAna(
      { location: { latitude: 40.416775, longitude: -3.70379, live_period: 900, horizontal_accuracy: 20 } },
      511,
    ),
    expect: one(511, {
      type: "location",
      content: "40.416775,-3.70379",
      metadata: {
        latitude: 40.416775,
        longitude: -3.70379,
        location: { live_period_seconds: 900, accuracy_meters: 20 },
      },
    }),
  },
  venue: {
    body: fromAna({
      location: { latitude: 40.4153, longitude: -3.7074 },
      venue: {
        location: { latitude: 40.4153, longitude: -3.7074 },
        title: "Plaza Mayor",
        address: "Plaza Mayor, 28012 Madrid",
        google_place_id: "ChIJ-plaza",
      },
    }, 512),
    expect: one(512, {
      type: "location",
      content: "Plaza Mayor, Plaza Mayor, 28012 Madrid",
      metadata: {
        platform_kind: "venue",
        latitude: 40.4153,
        longitude: -3.7074,
        location: { name: "Plaza Mayor", address: "Plaza Mayor, 28012 Madrid", google_place_id: "ChIJ-plaza" },
      },
    }),
  },
  venue_no_location: {
    body: fromAna({ venue: { title: "Plaza Mayor", address: "Madrid", location: "?" } }, 513),
    expect: one(513, {
      type: "location",
      content: "Plaza Mayor, Madrid",
      metadata: { platform_kind: "venue", location: { name: "Plaza Mayor", address: "Madrid" } },
    }),
  },
  contact: {
    body: fromAna({
      contact: { phone_number: "+34600111222", first_name: "Bruno", last_name: "Ruiz", user_id: 222222222 },
    }, 514),
    expect: one(514, {
      type: "contact",
      content: "Bruno Ruiz +34600111222",
      metadata: { contact: { name: "Bruno Ruiz", phone_number: "+34600111222", user_id: "222222222" } },
    }),
  },
  poll: {
    body: inGroup({
      poll: {
        id: "5432109876",
        question: "¿Qué color preferís?",
        options: [{ text: "Azul", voter_count: 3 }, { text: "Rojo", voter_count: 1 }],
        total_voter_count: 4,
        is_closed: false,
        is_anonymous: false,
        type: "regular",
        allows_multiple_answers: false,
      },
    }, 701),
    expect: group(701, {
      type: "other",
      content: "¿Qué color preferís?",
      metadata: {
        platform_kind: "poll",
        poll: {
          id: "5432109876",
          question: "¿Qué color preferís?",
          options: [{ text: "Azul", votes: 3 }, { text: "Rojo", votes: 1 }],
          total_votes: 4,
          closed: false,
          anonymous: false,
          type: "regular",
          multiple_answers: false,
        },
      },
    }),
  },
  poll_malformed: {
    body: inGroup({ poll: { id: "1", question: "¿Sí?", options: "Sí/No", total_voter_count: "many" } }, 702),
    expect: group(702, {
      type: "other",
      content: "¿Sí?",
      metadata: { platform_kind: "poll", poll: { id: "1", question: "¿Sí?", options: [] } },
    }),
  },
  story: {
    body: fromAna({ story: { chat: CHANNEL, id: 17 } }, 515),
    expect: one(515, {
      type: "other",
      content: "Shared a story",
      metadata: {
        platform_kind: "story",
        story: { chat: { id: "-1009876543210", name: "Ofertas", username: "ofertas_sol" }, id: "17" },
      },
    }),
  },
  invoice: {
    body: fromAna({
      invoice: {
        title: "Pedido 42",
        description: "2 camisetas",
        start_parameter: "p42",
        currency: "EUR",
        total_amount: 3998,
      },
    }, 516),
    expect: one(516, {
      type: "other",
      content: "Pedido 42",
      metadata: documented("invoice"),
    }),
  },
  future_kind: {
    body: fromAna({ hologram: { name: "3D" } }, 517),
    expect: {
      ...one(517, {
        type: "other",
        content: "3D",
        metadata: { platform_kind: "hologram", telegram_type: "hologram", unknown_kind: true },
      }),
      state: { unknown_kinds: { hologram: 1 } },
    },
  },
  future_update: {
    body: { update_id: 900700, hologram_update: { id: 1 } },
    expect: { messages: [], updates: [], refused: [], state: { unknown_kinds: { hologram_update: 1 } } },
  },
  business_connection_enabled: {
    body: {
      update_id: 900701,
      business_connection: {
        id: "BCxyz",
        user: SHOP,
        user_chat_id: 999,
        date: DATE,
        rights: { can_reply: true, can_read_messages: true },
        is_enabled: true,
      },
    },
    expect: {
      messages: [],
      updates: [],
      refused: [],
      state: {
        business: { id: "BCxyz", enabled: true, can_reply: true, at: "2024-12-07T14:00:00Z", user: "Tienda Sol" },
      },
    },
  },
  business_connection_disabled: {
    body: {
      update_id: 900702,
      business_connection: {
        id: "BCxyz",
        user: SHOP,
        user_chat_id: 999,
        date: DATE + 60,
        can_reply: false,
        is_enabled: false,
      },
    },
    expect: {
      messages: [],
      updates: [],
      refused: [],
      state: { business: { id: "BCxyz", enabled: false, can_reply: false, at: "2024-12-07T14:01:00Z" } },
    },
  },
  forward_user: {
    body: fromAna({
      text: "Precio: 19,99 €",
      forward_origin: { type: "user", date: DATE - 3600, sender_user: BRUNO },
    }, 518),
    expect: one(518, {
      type: "text",
      metadata: {
        forwarded: { type: "user", from: { id: "222222222", name: "Bruno", username: "bruno_r" }, date: DATE - 3600 },
      },
    }),
  },
  forward_hidden_user: {
    body: fromAna({
      text: "¿Hacen envíos?",
      forward_origin: { type: "hidden_user", date: DATE - 60, sender_user_name: "Carla P." },
    }, 519),
    expect: one(519, { metadata: { forwarded: { type: "hidden_user", from: { name: "Carla P." }, date: DATE - 60 } } }),
  },
  forward_chat: {
    body: fromAna({
      text: "Ver anuncio",
      forward_origin: { type: "chat", date: DATE - 60, sender_chat: GROUP, author_signature: "Admin" },
    }, 520),
    expect: one(520, {
      metadata: { forwarded: { type: "chat", from: { id: "-1001234567890", name: "Pedidos" }, signature: "Admin" } },
    }),
  },
  forward_channel: {
    body: fromAna({
      photo: photoSizes,
      caption: "Rebajas",
      forward_origin: { type: "channel", date: DATE - 86400, chat: CHANNEL, message_id: 88 },
    }, 521),
    expect: one(521, {
      type: "image",
      content: "Rebajas",
      metadata: {
        file_id: "AgAD-large",
        forwarded: {
          type: "channel",
          from: { id: "-1009876543210", name: "Ofertas", username: "ofertas_sol" },
          message_id: "88",
        },
      },
    }),
  },
  reply: {
    body: fromAna({
      text: "Esa",
      reply_to_message: { message_id: 499, from: SHOP, chat: PRIVATE, date: DATE - 60, text: "¿Cuál?" },
    }, 522),
    expect: one(522, { type: "text", reply_to_id: "111111111:499" }),
  },
  quote: {
    body: fromAna({
      text: "¿Y en verde?",
      reply_to_message: { message_id: 499, from: SHOP, chat: PRIVATE, date: DATE - 60, text: "Tenemos azul y rojo" },
      quote: { text: "azul y rojo", position: 8, is_manual: true },
    }, 523),
    expect: one(523, {
      reply_to_id: "111111111:499",
      metadata: { quote: { text: "azul y rojo", position: 8, manual: true } },
    }),
  },
  external_reply: {
    body: fromAna({
      text: "¿Sigue en pie?",
      external_reply: {
        origin: { type: "channel", date: DATE - 7200, chat: CHANNEL, message_id: 90 },
        chat: CHANNEL,
        message_id: 90,
        photo: photoSizes,
      },
      quote: { text: "-20%", position: 0 },
    }, 524),
    expect: one(524, {
      metadata: {
        external_reply: {
          origin: { type: "channel", message_id: "90" },
          chat: { id: "-1009876543210", name: "Ofertas" },
          message_id: "90",
          kind: "photo",
        },
        quote: { text: "-20%", position: 0 },
      },
    }),
  },
  reply_to_story: {
    body: fromAna({ text: "¡Me encanta!", reply_to_story: { chat: CHANNEL, id: 17 } }, 525),
    expect: one(525, { metadata: { story_reply: { chat: { id: "-1009876543210" }, id: "17" } } }),
  },
  album: {
    body: fromAna({ photo: photoSizes, media_group_id: "13579246801357", caption: "Las dos" }, 526),
    expect: one(526, { type: "image", metadata: { album: { id: "13579246801357" } } }),
  },
  topic_message: {
    body: inGroup({
      message_thread_id: 650,
      is_topic_message: true,
      text: "¿Cuándo llega?",
      reply_to_message: {
        message_id: 650,
        from: SHOP,
        chat: GROUP,
        date: DATE - 86400,
        message_thread_id: 650,
        forum_topic_created: { name: "Envíos", icon_color: 7322096 },
      },
    }, 703),
    // the topic-creation message it carries as reply_to_message is its topic, not a reply
    expect: group(703, { type: "text", reply_to_id: undefined, metadata: { topic: { id: "650", name: "Envíos" } } }),
  },
  edited_message: {
    body: {
      update_id: 900600,
      edited_message: {
        message_id: 500,
        from: ANA,
        chat: PRIVATE,
        date: DATE,
        edit_date: DATE + 60,
        text: "Hola, ¿y la talla L?",
      },
    },
    expect: one(500, { type: "text", content: "Hola, ¿y la talla L?", edited_at: "2024-12-07T14:01:00Z" }),
  },
  channel_post: {
    body: {
      update_id: 900601,
      channel_post: { message_id: 91, sender_chat: CHANNEL, chat: CHANNEL, date: DATE, text: "Nuevos precios" },
    },
    expect: {
      messages: [{
        external_conversation_id: "-1009876543210",
        conversation_type: "group",
        sender_name: "Ofertas",
        type: "text",
      }],
      updates: [],
    },
  },
  business_message: {
    body: {
      update_id: 900602,
      business_message: {
        message_id: 530,
        business_connection_id: "BCxyz",
        from: SHOP,
        chat: PRIVATE,
        date: DATE,
        text: "Sí, la talla M está disponible",
      },
    },
    expect: one(530, { direction: "outbound", type: "text", sender_name: "Tienda Sol" }),
  },
  edited_business_message: {
    body: {
      update_id: 900603,
      edited_business_message: {
        message_id: 530,
        business_connection_id: "BCxyz",
        from: SHOP,
        chat: PRIVATE,
        date: DATE,
        edit_date: DATE + 120,
        text: "Sí, las tallas M y L están disponibles",
      },
    },
    expect: one(530, {
      direction: "outbound",
      content: "Sí, las tallas M y L están disponibles",
      edited_at: "2024-12-07T14:02:00Z",
    }),
  },
  deleted_business_messages: {
    body: {
      update_id: 900604,
      deleted_business_messages: { business_connection_id: "BCxyz", chat: PRIVATE, message_ids: [500, 501] },
    },
    expect: {
      messages: [],
      updates: [
        { kind: "delete", platform: "telegram", external_conversation_id: "111111111", id: "111111111:500" },
        { kind: "delete", platform: "telegram", external_conversation_id: "111111111", id: "111111111:501" },
      ],
    },
  },
  deleted_business_messages_malformed: {
    body: {
      update_id: 900605,
      deleted_business_messages: { business_connection_id: "BCxyz", chat: PRIVATE, message_ids: [502, { id: 3 }] },
    },
    expect: {
      messages: [],
      updates: [{ kind: "delete", id: "111111111:502" }],
      refused: [{ path: "deleted_business_messages.message_ids[1]", kind: "invalid_shape" }],
    },
  },
  poll_update: {
    body: {
      update_id: 900620,
      poll: {
        id: "5432109876",
        question: "¿Qué color preferís?",
        options: [{ text: "Azul", voter_count: 4 }, { text: "Rojo", voter_count: 1 }],
        total_voter_count: 5,
        is_closed: true,
        is_anonymous: false,
        type: "regular",
        allows_multiple_answers: false,
      },
    },
    expect: {
      messages: [],
      updates: [{
        kind: "poll",
        platform: "telegram",
        poll_id: "5432109876",
        poll: { options: [{ text: "Azul", votes: 4 }, { text: "Rojo", votes: 1 }], total_votes: 5, closed: true },
      }],
      refused: [],
    },
  },
  poll_answer: {
    body: { update_id: 900621, poll_answer: { poll_id: "5432109876", user: ANA, option_ids: [1] } },
    expect: {
      messages: [],
      updates: [{ kind: "vote", platform: "telegram", poll_id: "5432109876", voter: "anag", options: [1] }],
      refused: [],
    },
  },
  poll_answer_retracted: {
    body: {
      update_id: 900622,
      poll_answer: { poll_id: "5432109876", voter_chat: { id: -1001234567890, type: "channel" }, option_ids: [] },
    },
    expect: { messages: [], updates: [{ kind: "vote", voter: "-1001234567890", options: [] }], refused: [] },
  },
  poll_answer_malformed: {
    body: { update_id: 900623, poll_answer: { poll_id: "5432109876", user: ANA, option_ids: ["Azul"] } },
    expect: { messages: [], updates: [], refused: [{ path: "poll_answer", kind: "invalid_shape" }] },
  },
  reaction_emoji: {
    body: {
      update_id: 900606,
      message_reaction: {
        chat: PRIVATE,
        message_id: 530,
        user: ANA,
        date: DATE + 30,
        old_reaction: [],
        new_reaction: [{ type: "emoji", emoji: "❤" }],
      },
    },
    expect: { messages: [], updates: [{ kind: "reaction", id: "111111111:530", reactor: "anag", emoji: "❤" }] },
  },
  reaction_custom_emoji: {
    body: {
      update_id: 900607,
      message_reaction: {
        chat: PRIVATE,
        message_id: 530,
        user: ANA,
        date: DATE + 40,
        old_reaction: [{ type: "emoji", emoji: "❤" }],
        new_reaction: [{ type: "emoji", emoji: "❤" }, { type: "custom_emoji", custom_emoji_id: "5368324170671202286" }],
      },
    },
    expect: {
      messages: [],
      updates: [{ kind: "reaction", reactor: "anag", emoji: "custom_emoji:5368324170671202286" }],
    },
  },
  reaction_paid: {
    body: {
      update_id: 900608,
      message_reaction: {
        chat: GROUP,
        message_id: 701,
        actor_chat: CHANNEL,
        date: DATE + 50,
        old_reaction: [],
        new_reaction: [{ type: "paid" }],
      },
    },
    expect: {
      messages: [],
      updates: [{ kind: "reaction", id: "-1001234567890:701", reactor: "ofertas_sol", emoji: "⭐" }],
    },
  },
  reaction_removed: {
    body: {
      update_id: 900609,
      message_reaction: {
        chat: PRIVATE,
        message_id: 530,
        user: ANA,
        date: DATE + 60,
        old_reaction: [{ type: "custom_emoji", custom_emoji_id: "5368324170671202286" }],
        new_reaction: [],
      },
    },
    expect: { messages: [], updates: [{ kind: "reaction", reactor: "anag", emoji: null }] },
  },
  callback_query: {
    body: {
      update_id: 900611,
      callback_query: {
        id: "4382bfdwdsb323b2d9",
        from: ANA,
        chat_instance: "-8235689542341",
        data: "confirm:42",
        message: {
          message_id: 540,
          from: { id: 7000000001, is_bot: true, first_name: "Tienda Sol", username: "crm_shop_bot" },
          chat: PRIVATE,
          date: DATE,
          text: "¿Confirmas el pedido 42?",
          reply_markup: {
            inline_keyboard: [[{ text: "Sí, confirmo", callback_data: "confirm:42" }, {
              text: "No",
              callback_data: "cancel:42",
            }]],
          },
        },
      },
    },
    expect: {
      messages: [{
        external_conversation_id: "111111111",
        id: "111111111:callback:4382bfdwdsb323b2d9",
        direction: "inbound",
        type: "other",
        content: "Sí, confirmo",
        reply_to_id: "111111111:540",
        sender_name: "Ana García",
        metadata: {
          platform_kind: "callback_query",
          interactive: { type: "callback", label: "Sí, confirmo", data: "confirm:42" },
        },
      }],
      updates: [],
    },
  },
  my_chat_member_blocked: {
    body: {
      update_id: 900612,
      my_chat_member: {
        chat: PRIVATE,
        from: ANA,
        date: DATE + 600,
        old_chat_member: { status: "member", user: { id: 7000000001, is_bot: true, first_name: "Tienda Sol" } },
        new_chat_member: {
          status: "kicked",
          user: { id: 7000000001, is_bot: true, first_name: "Tienda Sol" },
          until_date: 0,
        },
      },
    },
    expect: {
      messages: [{
        external_conversation_id: "111111111",
        id: `111111111:member:${DATE + 600}:kicked`,
        direction: "inbound",
        type: "system",
        content: "Ana García blocked the bot",
        sent_at: "2024-12-07T14:10:00Z",
        metadata: { platform_kind: "my_chat_member", bot_status: "kicked", bot_status_before: "member" },
      }],
      updates: [],
    },
  },
  message_without_chat: {
    body: { update_id: 900610, message: { message_id: 1, from: ANA, date: DATE, text: "¿?" } },
    expect: { messages: [], updates: [], refused: [{ path: "message", kind: "invalid_shape" }] },
  },
  members_added: {
    body: inGroup({ new_chat_members: [BRUNO] }, 704),
    expect: group(704, {
      type: "system",
      content: "Ana García added Bruno",
      metadata: {
        platform_kind: "new_chat_members",
        members: [{ id: "222222222", name: "Bruno", username: "bruno_r" }],
      },
    }),
  },
  member_joined: {
    body: inGroup({ new_chat_members: [BRUNO] }, 705, BRUNO),
    expect: group(705, { type: "system", content: "Bruno joined" }),
  },
  member_left: {
    body: inGroup({ left_chat_member: BRUNO }, 706, BRUNO),
    expect: group(706, { type: "system", content: "Bruno left", metadata: { platform_kind: "left_chat_member" } }),
  },
  member_removed: {
    body: inGroup({ left_chat_member: BRUNO }, 707),
    expect: group(707, { type: "system", content: "Ana García removed Bruno" }),
  },
  new_chat_title: {
    body: inGroup({ new_chat_title: "Pedidos 2025" }, 708),
    expect: group(708, {
      type: "system",
      content: 'Ana García changed the title to "Pedidos 2025"',
      metadata: { platform_kind: "new_chat_title", title: "Pedidos 2025" },
    }),
  },
  new_chat_photo: {
    body: inGroup({ new_chat_photo: photoSizes }, 709),
    expect: group(709, { type: "system", content: "Ana García changed the group photo" }),
  },
  delete_chat_photo: {
    body: inGroup({ delete_chat_photo: true }, 710),
    expect: group(710, { type: "system", content: "Ana García removed the group photo" }),
  },
  group_chat_created: {
    body: inGroup({ group_chat_created: true }, 711),
    expect: group(711, { type: "system", content: "Ana García created the group" }),
  },
  migrate_to_chat_id: {
    body: inGroup({ migrate_to_chat_id: -1001234567891 }, 712),
    expect: group(712, { type: "system", metadata: { chat_id: "-1001234567891" } }),
  },
  pinned_message: {
    body: inGroup({
      pinned_message: { message_id: 701, from: ANA, chat: GROUP, date: DATE - 10, text: "Horario: 9 a 18 h" },
    }, 713),
    expect: group(713, {
      type: "system",
      content: 'Ana García pinned "Horario: 9 a 18 h"',
      metadata: { platform_kind: "pinned_message", pinned_id: "-1001234567890:701" },
    }),
  },
  message_auto_delete_timer_changed: {
    body: inGroup({ message_auto_delete_timer_changed: { message_auto_delete_time: 86400 } }, 714),
    expect: group(714, {
      type: "system",
      content: "Ana García set messages to be deleted after 1 day",
      metadata: { auto_delete_seconds: 86400 },
    }),
  },
  forum_topic_created: {
    body: inGroup({ message_thread_id: 715, forum_topic_created: { name: "Devoluciones", icon_color: 16766590 } }, 715),
    expect: group(715, {
      type: "system",
      content: 'Ana García created the topic "Devoluciones"',
      metadata: {
        platform_kind: "forum_topic_created",
        topic_name: "Devoluciones",
        topic: { id: "715", name: "Devoluciones" },
      },
    }),
  },
  forum_topic_edited: {
    body: inGroup({ message_thread_id: 715, is_topic_message: true, forum_topic_edited: { name: "Cambios" } }, 716),
    expect: group(716, {
      type: "system",
      content: 'Ana García renamed the topic to "Cambios"',
      metadata: { topic_name: "Cambios", topic: { id: "715" } },
    }),
  },
  forum_topic_closed: {
    body: inGroup({ message_thread_id: 715, is_topic_message: true, forum_topic_closed: {} }, 717),
    expect: group(717, { type: "system", content: "Ana García closed the topic", metadata: { topic: { id: "715" } } }),
  },
  forum_topic_reopened: {
    body: inGroup({ message_thread_id: 715, is_topic_message: true, forum_topic_reopened: {} }, 718),
    expect: group(718, { type: "system", content: "Ana García reopened the topic" }),
  },
  general_forum_topic_hidden: {
    body: inGroup({ general_forum_topic_hidden: {} }, 719),
    expect: group(719, { type: "system", content: "Ana García hid the General topic" }),
  },
  video_chat_scheduled: {
    body: inGroup({ video_chat_scheduled: { start_date: DATE + 3600 } }, 720),
    expect: group(720, {
      type: "system",
      content: "Ana García scheduled a video chat for 2024-12-07T15:00:00Z",
      metadata: { call: { media: "video", scheduled_for: "2024-12-07T15:00:00Z" } },
    }),
  },
  video_chat_started: {
    body: inGroup({ video_chat_started: {} }, 721),
    expect: group(721, {
      type: "system",
      content: "Ana García started a video chat",
      metadata: { call: { media: "video" } },
    }),
  },
  video_chat_ended: {
    body: inGroup({ video_chat_ended: { duration: 754 } }, 722),
    expect: group(722, {
      type: "system",
      content: "The video chat ended (12 min 34 s)",
      metadata: { call: { media: "video", duration_seconds: 754 } },
    }),
  },
  video_chat_participants_invited: {
    body: inGroup({ video_chat_participants_invited: { users: [BRUNO] } }, 723),
    expect: group(723, {
      type: "system",
      content: "Ana García invited Bruno to the video chat",
      metadata: { members: [{ id: "222222222" }] },
    }),
  },
  write_access_allowed: {
    body: fromAna({ write_access_allowed: { from_request: true } }, 531),
    expect: one(531, { type: "system", content: "Ana García allowed the bot to write" }),
  },

  // ---- updates: the rest of the Update fields (docs/kinds.md, Telegram updates)
  message: {
    body: inGroup({ text: "¿Abrís el sábado?" }, 724, BRUNO),
    expect: group(724, {
      type: "text",
      direction: "inbound",
      content: "¿Abrís el sábado?",
      sender_name: "Bruno",
      sent_at: SENT,
    }),
  },
  edited_channel_post: {
    body: {
      update_id: 900624,
      edited_channel_post: {
        message_id: 91,
        sender_chat: CHANNEL,
        chat: CHANNEL,
        date: DATE,
        edit_date: DATE + 120,
        text: "Nuevos precios (corregido)",
      },
    },
    expect: {
      messages: [{
        external_conversation_id: "-1009876543210",
        id: "-1009876543210:91",
        conversation_type: "group",
        content: "Nuevos precios (corregido)",
        edited_at: "2024-12-07T14:02:00Z",
      }],
      updates: [],
    },
  },
  message_reaction: {
    body: {
      update_id: 900625,
      message_reaction: {
        chat: GROUP,
        message_id: 724,
        user: BRUNO,
        date: DATE + 90,
        old_reaction: [],
        new_reaction: [{ type: "emoji", emoji: "👍" }],
      },
    },
    expect: {
      messages: [],
      updates: [{ kind: "reaction", id: "-1001234567890:724", reactor: "bruno_r", emoji: "👍" }],
    },
  },
  message_reaction_count: {
    body: {
      update_id: 900626,
      message_reaction_count: {
        chat: CHANNEL,
        message_id: 91,
        date: DATE + 100,
        reactions: [{ type: { type: "emoji", emoji: "👍" }, total_count: 5 }],
      },
    },
    expect: IGNORED,
  },
  callback_query_inline: {
    body: {
      update_id: 900627,
      callback_query: {
        id: "4382bfdwdsb323b2e0",
        from: ANA,
        inline_message_id: "AAAAAAYAAAB3cNfHAQAAAE",
        chat_instance: "-8235689542342",
        data: "like:42",
      },
    },
    expect: IGNORED,
  },
  inline_query: {
    body: {
      update_id: 900628,
      inline_query: { id: "8765432109876543", from: ANA, query: "camiseta", offset: "", chat_type: "sender" },
    },
    expect: IGNORED,
  },
  chosen_inline_result: {
    body: { update_id: 900629, chosen_inline_result: { result_id: "p42", from: ANA, query: "camiseta" } },
    expect: IGNORED,
  },
  shipping_query: {
    body: {
      update_id: 900630,
      shipping_query: {
        id: "sq-42",
        from: ANA,
        invoice_payload: "pedido-42",
        shipping_address: {
          country_code: "ES",
          state: "",
          city: "Madrid",
          street_line1: "Calle Mayor 1",
          street_line2: "",
          post_code: "28013",
        },
      },
    },
    expect: IGNORED,
  },
  pre_checkout_query: {
    body: {
      update_id: 900631,
      pre_checkout_query: {
        id: "pcq-42",
        from: ANA,
        currency: "EUR",
        total_amount: 3998,
        invoice_payload: "pedido-42",
      },
    },
    expect: IGNORED,
  },
  purchased_paid_media: {
    body: { update_id: 900632, purchased_paid_media: { from: ANA, paid_media_payload: "album-7" } },
    expect: IGNORED,
  },
  chat_member: {
    body: {
      update_id: 900633,
      chat_member: {
        chat: GROUP,
        from: ANA,
        date: DATE + 200,
        old_chat_member: { status: "left", user: BRUNO },
        new_chat_member: { status: "member", user: BRUNO },
      },
    },
    expect: IGNORED,
  },
  chat_join_request: {
    body: {
      update_id: 900634,
      chat_join_request: { chat: GROUP, from: BRUNO, user_chat_id: 222222222, date: DATE + 210, bio: "Cliente" },
    },
    expect: IGNORED,
  },
  chat_boost: {
    body: {
      update_id: 900635,
      chat_boost: {
        chat: GROUP,
        boost: {
          boost_id: "b-1",
          add_date: DATE + 220,
          expiration_date: DATE + 220 + 86400 * 30,
          source: { source: "premium", user: ANA },
        },
      },
    },
    expect: IGNORED,
  },
  removed_chat_boost: {
    body: {
      update_id: 900636,
      removed_chat_boost: {
        chat: GROUP,
        boost_id: "b-1",
        remove_date: DATE + 230,
        source: { source: "premium", user: ANA },
      },
    },
    expect: IGNORED,
  },

  // ---- message kinds kept as `other` like invoice (documented: not counted as unknown)
  successful_payment: {
    body: fromAna({
      successful_payment: {
        currency: "EUR",
        total_amount: 3998,
        invoice_payload: "pedido-42",
        telegram_payment_charge_id: "tg-charge-1",
        provider_payment_charge_id: "prov-charge-1",
      },
    }, 532),
    expect: one(532, { type: "other", content: null, metadata: documented("successful_payment") }),
  },
  refunded_payment: {
    body: fromAna({
      refunded_payment: {
        currency: "XTR",
        total_amount: 250,
        invoice_payload: "pedido-43",
        telegram_payment_charge_id: "tg-charge-2",
      },
    }, 533),
    expect: one(533, { type: "other", content: null, metadata: documented("refunded_payment") }),
  },
  game: {
    body: fromAna({ game: { title: "Ruleta Sol", description: "Gira y gana un descuento", photo: photoSizes } }, 534),
    expect: one(534, { type: "other", content: "Ruleta Sol", metadata: documented("game") }),
  },
  paid_media: {
    body: fromAna({
      caption: "Catálogo completo",
      paid_media: { star_count: 50, paid_media: [{ type: "photo", photo: photoSizes }] },
    }, 535),
    expect: one(535, { type: "other", content: "Catálogo completo", metadata: documented("paid_media") }),
  },
  giveaway: {
    body: {
      update_id: 900637,
      channel_post: {
        message_id: 92,
        sender_chat: CHANNEL,
        chat: CHANNEL,
        date: DATE,
        giveaway: {
          chats: [CHANNEL],
          winners_selection_date: DATE + 86400 * 7,
          winner_count: 3,
          prize_description: "Una camiseta",
        },
      },
    },
    expect: {
      messages: [{
        external_conversation_id: "-1009876543210",
        id: "-1009876543210:92",
        type: "other",
        content: null,
        metadata: documented("giveaway"),
      }],
      updates: [],
    },
  },
  giveaway_winners: {
    body: {
      update_id: 900638,
      channel_post: {
        message_id: 93,
        sender_chat: CHANNEL,
        chat: CHANNEL,
        date: DATE + 86400 * 7,
        giveaway_winners: {
          chat: CHANNEL,
          giveaway_message_id: 92,
          winners_selection_date: DATE + 86400 * 7,
          winner_count: 1,
          winners: [ANA],
        },
      },
    },
    expect: {
      messages: [{ id: "-1009876543210:93", type: "other", content: null, metadata: documented("giveaway_winners") }],
      updates: [],
    },
  },
  checklist: {
    body: fromAna({
      checklist: {
        title: "Pedido de enero",
        tasks: [{ id: 1, text: "2 camisetas M" }, { id: 2, text: "1 gorra" }],
      },
    }, 536),
    expect: one(536, { type: "other", content: "Pedido de enero", metadata: documented("checklist") }),
  },
  web_app_data: {
    body: fromAna({ web_app_data: { data: '{"size":"M"}', button_text: "Elegir talla" } }, 537),
    expect: one(537, { type: "other", content: null, metadata: documented("web_app_data") }),
  },
  passport_data: {
    body: fromAna({
      passport_data: {
        data: [{ type: "phone_number", phone_number: "34611111111", hash: "aGFzaA==" }],
        credentials: { data: "ZGF0YQ==", hash: "aGFzaA==", secret: "c2VjcmV0" },
      },
    }, 538),
    expect: one(538, { type: "other", content: null, metadata: documented("passport_data") }),
  },

  // ---- message context
  via_bot: {
    body: fromAna({
      text: "Camiseta azul, talla M",
      via_bot: { id: 7000000002, is_bot: true, first_name: "Catálogo", username: "SolCatalogBot" },
    }, 539),
    expect: one(539, { type: "text", metadata: { via_bot: "solcatalogbot" } }),
  },
  // one message carrying the fields of the row (its first, link_preview_options, and the rest)
  presentation_fields: {
    body: {
      update_id: 900639,
      business_message: {
        message_id: 541,
        business_connection_id: "BCxyz",
        from: SHOP,
        chat: PRIVATE,
        date: DATE,
        text: "Mira https://sol.example/p/42",
        link_preview_options: { is_disabled: false, url: "https://sol.example/p/42", prefer_small_media: true },
        reply_markup: { inline_keyboard: [[{ text: "Ver", url: "https://sol.example/p/42" }]] },
        effect_id: "5104841245755180586",
        has_protected_content: true,
        is_from_offline: true,
        author_signature: "Lucía",
        sender_business_bot: { id: 7000000001, is_bot: true, first_name: "Tienda Sol", username: "crm_shop_bot" },
      },
    },
    expect: {
      messages: [{
        id: "111111111:541",
        direction: "outbound",
        type: "text",
        content: "Mira https://sol.example/p/42",
        metadata: undefined, // none of them is kept: the text has no metadata at all
      }],
      updates: [],
    },
  },

  // ---- service messages
  supergroup_chat_created: {
    body: inGroup({ supergroup_chat_created: true }, 725),
    expect: group(725, {
      type: "system",
      content: "Ana García created the group",
      metadata: { platform_kind: "supergroup_chat_created" },
    }),
  },
  channel_chat_created: {
    body: {
      update_id: 900640,
      channel_post: { message_id: 1, sender_chat: CHANNEL, chat: CHANNEL, date: DATE, channel_chat_created: true },
    },
    expect: {
      messages: [{
        id: "-1009876543210:1",
        type: "system",
        content: "The channel was created",
        metadata: { platform_kind: "channel_chat_created" },
      }],
      updates: [],
    },
  },
  migrate_from_chat_id: {
    body: inGroup({ migrate_from_chat_id: -1234567890 }, 726),
    expect: group(726, {
      type: "system",
      content: "The group became a supergroup",
      metadata: { platform_kind: "migrate_from_chat_id", chat_id: "-1234567890" },
    }),
  },
  general_forum_topic_unhidden: {
    body: inGroup({ general_forum_topic_unhidden: {} }, 727),
    expect: group(727, { type: "system", content: "Ana García showed the General topic" }),
  },
  proximity_alert_triggered: {
    body: inGroup({ proximity_alert_triggered: { traveler: BRUNO, watcher: ANA, distance: 150 } }, 728, BRUNO),
    expect: group(728, {
      type: "system",
      content: "Bruno is within 150 m of Ana García",
      metadata: { platform_kind: "proximity_alert_triggered" },
    }),
  },
  boost_added: {
    body: inGroup({ boost_added: { boost_count: 4 } }, 729),
    expect: group(729, {
      type: "system",
      content: "Ana García boosted the group",
      metadata: { platform_kind: "boost_added", boost_count: 4 },
    }),
  },
  chat_background_set: {
    body: inGroup({
      chat_background_set: { type: { type: "fill", fill: { type: "solid", color: 16766590 }, dark_theme_dimming: 20 } },
    }, 730),
    expect: group(730, { type: "system", content: "Ana García changed the chat background" }),
  },
  users_shared: {
    body: fromAna({ users_shared: { request_id: 1, users: [{ user_id: 222222222, first_name: "Bruno" }] } }, 542),
    expect: one(542, { type: "system", content: "Ana García shared users with the bot" }),
  },
  chat_shared: {
    body: fromAna({ chat_shared: { request_id: 2, chat_id: -1001234567890, title: "Pedidos" } }, 543),
    expect: one(543, { type: "system", content: "Ana García shared a chat with the bot" }),
  },
  connected_website: {
    body: fromAna({ connected_website: "sol.example" }, 544),
    expect: one(544, {
      type: "system",
      content: "Ana García logged in on sol.example",
      metadata: { platform_kind: "connected_website" },
    }),
  },
};

const kinds: KindExamples = {
  connection: {
    id: "00000000-0000-4000-8000-000000000002",
    user_id: "00000000-0000-4000-8000-0000000000aa",
    platform: "telegram",
    account_identifier: "crm_shop_bot",
    status: "active",
    secrets: {},
  },
  examples,
};

export default kinds;
