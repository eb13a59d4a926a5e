// docs/kinds.md's signal examples: signal-cli's JSON-RPC `receive` notifications as its
// daemon emits them (the fields of signal-cli's JSON output, src/main/java/org/asamk/signal/json)
// and what the function makes of each (kinds_test.ts): one example per row of the table that
// names it. The business account is +34600000001; the customer is +34611111111 (Marta).
import type { KindExample, KindExamples } from "./example.ts";

const ACCOUNT = "+34600000001";
const FROM = {
  source: "+34611111111",
  sourceNumber: "+34611111111",
  sourceUuid: "7ccae375-cd51-4c82-8b1e-7be3280aa485",
  sourceName: "Marta",
  sourceDevice: 1,
};
const T = 1745372297238;
const GROUP = { groupId: "kK2zR6Zb3ZCq1xCk5t2X2Q==", groupName: "Tienda", type: "DELIVER" };

function rpc(envelope: Record<string, unknown>): unknown {
  return { jsonrpc: "2.0", method: "receive", params: { envelope, account: ACCOUNT } };
}
/** A customer's dataMessage sent at T + dt. */
function data(dt: number, dataMessage: Record<string, unknown>): unknown {
  return rpc({ ...FROM, timestamp: T + dt, dataMessage: { timestamp: T + dt, ...dataMessage } });
}
/** A message the account sent from its phone (syncMessage.sentMessage). */
function sent(dt: number, sentMessage: Record<string, unknown>): unknown {
  return rpc({
    source: ACCOUNT,
    sourceNumber: ACCOUNT,
    sourceDevice: 2,
    timestamp: T + dt,
    syncMessage: {
      sentMessage: { destination: FROM.source, destinationNumber: FROM.source, timestamp: T + dt, ...sentMessage },
    },
  });
}
const id = (dt: number) => `${FROM.source}:${T + dt}`;
const none: KindExample["expect"] = { messages: [], updates: [], refused: [] };

const examples: Record<string, KindExample> = {
  sg_text: {
    body: data(0, { message: "¿Tenéis talla M?" }),
    expect: {
      messages: [{ id: id(0), type: "text", content: "¿Tenéis talla M?", direction: "inbound", sender_name: "Marta" }],
    },
  },
  sg_attachments: {
    body: data(1, {
      message: "fotos",
      attachments: [
        { contentType: "image/jpeg", filename: "IMG_1.jpg", id: "att1", size: 1234, width: 800, height: 600 },
        { contentType: "application/pdf", filename: "factura.pdf", id: "att2", size: 52000 },
      ],
    }),
    expect: {
      messages: [{
        type: "image",
        content: "fotos",
        media_url: "IMG_1.jpg",
        metadata: {
          attachments: [
            { id: "att1", filename: "IMG_1.jpg", content_type: "image/jpeg", size: 1234 },
            { id: "att2", filename: "factura.pdf", content_type: "application/pdf", size: 52000 },
          ],
        },
      }],
    },
  },
  sg_voice_note: {
    body: data(2, { attachments: [{ contentType: "audio/aac", id: "att3", size: 9000, voiceNote: true }] }),
    expect: { messages: [{ type: "voice", media_url: "att3", metadata: { attachments: [{ voice_note: true }] } }] },
  },
  sg_sticker: {
    body: data(3, { sticker: { packId: "a1b2", stickerId: 4 } }),
    expect: { messages: [{ type: "sticker", metadata: { sticker: { pack_id: "a1b2", sticker_id: 4 } } }] },
  },
  sg_contact: {
    body: data(4, {
      contacts: [{
        name: { given: "Ana", family: "Ruiz" },
        phone: [{ value: "+34622222222", type: "MOBILE" }],
        email: [{ value: "ana@example.com", type: "WORK" }],
        organization: "Ruiz SL",
      }],
    }),
    expect: {
      messages: [{
        type: "contact",
        content: "Ana Ruiz +34622222222",
        metadata: {
          contact: [{
            name: "Ana Ruiz",
            phones: ["+34622222222"],
            emails: ["ana@example.com"],
            organization: "Ruiz SL",
          }],
        },
      }],
    },
  },
  sg_quote: {
    body: data(5, { message: "esa", quote: { id: T, author: FROM.source, authorNumber: FROM.source, text: "…" } }),
    expect: { messages: [{ type: "text", reply_to_id: id(0) }] },
  },
  sg_mentions: {
    body: data(6, {
      message: "\uFFFC ¿lo tienes?",
      groupInfo: GROUP,
      mentions: [{
        name: "Bruno",
        number: "+34633333333",
        uuid: "0f1e2d3c-4b5a-4968-8776-655443322110",
        start: 0,
        length: 1,
      }],
    }),
    expect: {
      messages: [{
        external_conversation_id: `group:${GROUP.groupId}`,
        content: "@Bruno ¿lo tienes?",
        metadata: { entities: [{ type: "mention", name: "Bruno", number: "+34633333333", offset: 0, length: 6 }] },
      }],
    },
  },
  sg_link_preview: {
    body: data(7, {
      message: "mira https://example.com/p/1",
      previews: [{ url: "https://example.com/p/1", title: "Camiseta azul", description: "19,90 €" }],
    }),
    expect: {
      messages: [{
        type: "text",
        metadata: {
          link_previews: [{ url: "https://example.com/p/1", title: "Camiseta azul", description: "19,90 €" }],
        },
      }],
    },
  },
  sg_view_once: {
    body: data(8, { viewOnce: true, attachments: [{ contentType: "image/jpeg", id: "att4", size: 100 }] }),
    expect: { messages: [{ type: "image", metadata: { view_once: true } }] },
  },
  sg_story_reply: {
    body: data(9, {
      message: "¡qué bonito!",
      storyContext: {
        authorNumber: ACCOUNT,
        authorUuid: "11111111-2222-4333-8444-555555555555",
        sentTimestamp: T - 1000,
      },
    }),
    expect: {
      messages: [{ type: "text", metadata: { story_reply: { author: ACCOUNT, sent_timestamp: String(T - 1000) } } }],
    },
  },
  sg_poll_create: {
    body: data(10, { pollCreate: { question: "¿Qué color?", allowMultiple: false, options: ["Azul", "Rojo"] } }),
    expect: {
      messages: [{
        id: id(10),
        type: "other",
        content: "¿Qué color?",
        metadata: {
          platform_kind: "pollCreate",
          poll: { question: "¿Qué color?", options: ["Azul", "Rojo"], allow_multiple: false },
        },
      }],
    },
  },
  sg_poll_vote: {
    body: data(11, {
      pollVote: { authorNumber: FROM.source, targetSentTimestamp: T + 10, optionIndexes: [1], voteCount: 1 },
    }),
    expect: {
      messages: [],
      updates: [{
        kind: "vote",
        platform: "signal",
        external_conversation_id: FROM.source,
        id: id(10),
        voter: FROM.source,
        options: [1],
      }],
    },
  },
  sg_poll_terminate: {
    body: data(12, { pollTerminate: { targetSentTimestamp: T + 10 } }),
    expect: { messages: [], updates: [{ kind: "poll", id: id(10), poll: { closed: true } }] },
  },
  sg_group_update: {
    body: data(13, { groupInfo: { ...GROUP, type: "UPDATE", revision: 4 } }),
    expect: {
      messages: [{
        external_conversation_id: `group:${GROUP.groupId}`,
        conversation_type: "group",
        type: "system",
        content: "Group updated: Tienda",
      }],
    },
  },
  sg_group_message: {
    body: data(30, { message: "¿Quedamos a las 5?", expiresInSeconds: 0, viewOnce: false, groupInfo: GROUP }),
    expect: {
      messages: [{
        id: id(30),
        external_conversation_id: `group:${GROUP.groupId}`,
        participant_name: "Tienda",
        conversation_type: "group",
        direction: "inbound",
        type: "text",
        content: "¿Quedamos a las 5?",
        sender_identifier: FROM.source,
        sender_name: "Marta",
      }],
      updates: [],
      refused: [],
    },
  },
  // a profile key update as signal-cli writes it: no body, nothing else set
  sg_empty_data: {
    body: data(31, { message: null, expiresInSeconds: 0, isExpirationUpdate: false, viewOnce: false }),
    expect: { ...none, state: { unknown_kinds: undefined } },
  },
  sg_text_styles: {
    body: data(32, {
      message: "Oferta: solo hoy",
      expiresInSeconds: 0,
      viewOnce: false,
      textStyles: [{ style: "BOLD", start: 0, length: 6 }, { style: "ITALIC", start: 8, length: 8 }],
    }),
    expect: {
      messages: [{ id: id(32), type: "text", content: "Oferta: solo hoy", metadata: undefined }],
      updates: [],
      refused: [],
    },
  },
  // the row's first kind, readMessages: the account read Marta's message on its phone
  sg_sync_read: {
    body: rpc({
      source: ACCOUNT,
      sourceNumber: ACCOUNT,
      sourceDevice: 2,
      timestamp: T + 900,
      syncMessage: {
        readMessages: [{
          sender: FROM.source,
          senderNumber: FROM.source,
          senderUuid: FROM.sourceUuid,
          timestamp: T,
        }],
      },
    }),
    expect: { ...none, state: { unknown_kinds: undefined } },
  },
  sg_timer: {
    body: data(14, { expiresInSeconds: 604800, isExpirationUpdate: true }),
    expect: {
      messages: [{
        type: "system",
        content: "Disappearing messages set to 1 week",
        metadata: { platform_kind: "expirationUpdate", expires_in_seconds: 604800 },
      }],
    },
  },
  sg_pin: {
    body: data(15, {
      pinMessage: { targetAuthorNumber: ACCOUNT, targetSentTimestamp: T + 100, pinDurationSeconds: 86400 },
    }),
    expect: {
      messages: [{
        type: "system",
        content: "Pinned a message",
        reply_to_id: `${ACCOUNT}:${T + 100}`,
        metadata: { pin: { action: "pin", duration_seconds: 86400 } },
      }],
    },
  },
  sg_unpin: {
    body: data(16, { unpinMessage: { targetAuthorNumber: ACCOUNT, targetSentTimestamp: T + 100 } }),
    expect: { messages: [{ type: "system", content: "Unpinned a message", metadata: { pin: { action: "unpin" } } }] },
  },
  sg_edit: {
    body: rpc({
      ...FROM,
      timestamp: T + 60000,
      editMessage: { targetSentTimestamp: T, dataMessage: { timestamp: T + 60000, message: "¿Tenéis talla L?" } },
    }),
    expect: { messages: [{ id: id(0), content: "¿Tenéis talla L?", edited_at: "2025-04-23T01:39:17.238Z" }] },
  },
  sg_sync_sent: {
    body: sent(100, { message: "Sí, mañana" }),
    expect: {
      messages: [{ id: `${ACCOUNT}:${T + 100}`, direction: "outbound", external_conversation_id: FROM.source }],
    },
  },
  sg_sync_edit: {
    body: sent(200, {
      editMessage: { targetSentTimestamp: T + 100, dataMessage: { timestamp: T + 200, message: "Sí, el lunes" } },
    }),
    expect: {
      messages: [{
        id: `${ACCOUNT}:${T + 100}`,
        direction: "outbound",
        external_conversation_id: FROM.source,
        content: "Sí, el lunes",
        edited_at: "2025-04-23T01:38:17.438Z",
      }],
    },
  },
  sg_reaction: {
    body: data(17, {
      reaction: { emoji: "👍", targetAuthorNumber: ACCOUNT, targetSentTimestamp: T + 100, isRemove: false },
    }),
    expect: {
      messages: [],
      updates: [{ kind: "reaction", id: `${ACCOUNT}:${T + 100}`, emoji: "👍", reactor: FROM.source }],
    },
  },
  sg_remote_delete: {
    body: data(18, { remoteDelete: { timestamp: T } }),
    expect: { messages: [], updates: [{ kind: "delete", id: id(0) }] },
  },
  sg_admin_delete: {
    body: data(19, {
      groupInfo: GROUP,
      adminDelete: { targetAuthorNumber: "+34633333333", targetSentTimestamp: T + 5 },
    }),
    expect: {
      messages: [],
      updates: [{ kind: "delete", external_conversation_id: `group:${GROUP.groupId}`, id: `+34633333333:${T + 5}` }],
    },
  },
  sg_receipt_delivered: {
    body: rpc({
      ...FROM,
      timestamp: T + 300,
      receiptMessage: { when: T + 300, isDelivery: true, timestamps: [T + 100] },
    }),
    expect: {
      messages: [],
      updates: [{
        kind: "status",
        status: "delivered",
        id: `${ACCOUNT}:${T + 100}`,
        external_conversation_id: FROM.source,
      }],
    },
  },
  sg_receipt_read: {
    body: rpc({
      ...FROM,
      timestamp: T + 400,
      receiptMessage: { when: T + 400, isDelivery: false, isRead: true, timestamps: [T + 100, T + 200] },
    }),
    expect: {
      messages: [],
      updates: [
        { kind: "status", status: "read", id: `${ACCOUNT}:${T + 100}` },
        { kind: "status", status: "read", id: `${ACCOUNT}:${T + 200}` },
      ],
    },
  },
  sg_call_offer: {
    body: rpc({ ...FROM, timestamp: T + 500, callMessage: { offerMessage: { id: 8812, type: "VIDEO_CALL" } } }),
    expect: {
      messages: [{
        id: `${FROM.source}:call:8812:offer`,
        type: "other",
        content: "Incoming video call",
        metadata: { platform_kind: "callMessage", call: { media: "video", event: "offer", call_id: "8812" } },
      }],
    },
  },
  sg_call_hangup: {
    body: rpc({
      ...FROM,
      timestamp: T + 600,
      callMessage: { hangupMessage: { id: 8812, type: "NORMAL", deviceId: 0 } },
    }),
    expect: { messages: [{ content: "Call ended", metadata: { call: { event: "hangup", call_id: "8812" } } }] },
  },
  sg_call_ice: {
    body: rpc({ ...FROM, timestamp: T + 550, callMessage: { iceUpdate: [{ id: 8812, mid: "audio", line: 0 }] } }),
    expect: none,
  },
  sg_typing: {
    body: rpc({ ...FROM, timestamp: T + 700, typingMessage: { action: "STARTED", timestamp: T + 700 } }),
    expect: none,
  },
  sg_unknown_data: {
    body: data(20, { payment: { note: "café", receipt: "AbC=" } }),
    expect: { messages: [{ type: "other", content: null, metadata: { platform_kind: "payment" } }] },
  },
  sg_unknown_envelope: {
    body: rpc({ ...FROM, timestamp: T + 800, storyMessage: { allowsReplies: true, textAttachment: { text: "hola" } } }),
    expect: {
      messages: [{
        type: "other",
        id: `${FROM.source}:storyMessage:${T + 800}`,
        metadata: { platform_kind: "storyMessage" },
      }],
    },
  },
  sg_bad_reaction: {
    body: [
      data(21, { reaction: { emoji: "👍", targetAuthorNumber: ACCOUNT } }),
      data(22, { message: "sigue aquí" }),
    ],
    expect: {
      messages: [{ content: "sigue aquí" }],
      updates: [],
      refused: [{ path: "[0].envelope", kind: "invalid_shape" }],
    },
  },
};

const kinds: KindExamples = {
  connection: {
    id: "00000000-0000-4000-8000-000000000003",
    user_id: "00000000-0000-4000-8000-0000000000aa",
    platform: "signal",
    account_identifier: ACCOUNT,
    status: "active",
    secrets: {},
  },
  examples,
};

export default kinds;
