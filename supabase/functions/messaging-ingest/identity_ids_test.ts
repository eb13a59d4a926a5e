// The participant ids each adapter gives a message (docs/contract.md, identity aliases),
// from payloads shaped as the platforms document them: WhatsApp's business-scoped user ids
// and usernames (Cloud API webhooks after the username rollout: messages[].from_user_id,
// contacts[].user_id / parent_user_id / profile.username, statuses[].recipient_user_id),
// its system messages for a changed number or user id, Signal's service ids (signal-cli
// envelopes: sourceUuid, sourceNumber), Telegram's user ids and usernames, WeChat openids.
import { mapSignal } from "./signal.ts";
import { mapTelegram } from "./telegram.ts";
import { assert, assertEquals } from "./test_helpers.ts";
import { participantIds, validId } from "./participant_ids.ts";
import { mapWeChat } from "./wechat.ts";
import { mapWhatsApp } from "./whatsapp.ts";

const META = { display_phone_number: "15550783881", phone_number_id: "106540352242922" };
const BSUID = "US.13491208655302741918";
const PARENT = "US.ENT.11815799212886844830";

function whatsapp(value: Record<string, unknown>, field = "messages") {
  return {
    object: "whatsapp_business_account",
    entry: [{
      id: "102290129340398",
      changes: [{ value: { messaging_product: "whatsapp", metadata: META, ...value }, field }],
    }],
  };
}

Deno.test("participantIds: values of their kind's form, repeats once, several values as an array", () => {
  assertEquals(
    participantIds([
      ["phone", "+34612345678"],
      ["phone", "+34612345678"],
      ["phone", "+34699999999"],
      ["whatsapp_user_id", BSUID],
      ["username", undefined],
    ]),
    { phone: ["+34612345678", "+34699999999"], whatsapp_user_id: BSUID },
  );
  assertEquals(participantIds([["phone", "612345678"], ["icq", "1"], ["telegram_user_id", "abc"]]), undefined);
  assert(validId("whatsapp_parent_user_id", PARENT));
  assert(!validId("whatsapp_user_id", PARENT));
  assert(validId("signal_pni", "PNI:0b3c8e1d-2f4a-4b6c-8d9e-1a2b3c4d5e6f"));
  assert(!validId("signal_aci", "PNI:0b3c8e1d-2f4a-4b6c-8d9e-1a2b3c4d5e6f"));
});

Deno.test("WhatsApp without from: the conversation is the business-scoped user id; username and ids are aliases", () => {
  const d = mapWhatsApp(whatsapp({
    contacts: [{ profile: { name: "Ana", username: "@ana.lopez" }, user_id: BSUID, parent_user_id: PARENT }],
    messages: [{ from_user_id: BSUID, id: "wamid.U1", timestamp: "1749416383", type: "text", text: { body: "hola" } }],
  }));
  assertEquals(d.refused, []);
  assertEquals(d.messages.length, 1);
  const m = d.messages[0];
  assertEquals(m.external_conversation_id, BSUID);
  assertEquals(m.participant_identifier, "@ana.lopez");
  assertEquals(m.participant_name, "Ana");
  assertEquals(m.sender_identifier, BSUID);
  assertEquals(m.participant_ids, { whatsapp_user_id: BSUID, whatsapp_parent_user_id: PARENT, username: "@ana.lopez" });
});

Deno.test("WhatsApp with from and from_user_id: keyed by the phone, both ids carried (they meet)", () => {
  const d = mapWhatsApp(whatsapp({
    contacts: [{ profile: { name: "Ana" }, wa_id: "34612345678", user_id: BSUID }],
    messages: [{
      from: "34612345678",
      from_user_id: BSUID,
      id: "wamid.U2",
      timestamp: "1749416383",
      type: "text",
      text: { body: "x" },
    }],
  }));
  const m = d.messages[0];
  assertEquals(m.external_conversation_id, "+34612345678");
  assertEquals(m.participant_identifier, "+34612345678");
  assertEquals(m.participant_ids, { phone: "+34612345678", whatsapp_user_id: BSUID });
});

Deno.test("WhatsApp with only a parent user id: keyed by it; a message with no id at all is refused alone", () => {
  const d = mapWhatsApp(whatsapp({
    messages: [
      { from_parent_user_id: PARENT, id: "wamid.P", timestamp: "1749416383", type: "text", text: { body: "x" } },
      { id: "wamid.NONE", timestamp: "1749416383", type: "text", text: { body: "y" } },
    ],
  }));
  assertEquals(d.messages.map((m) => m.external_conversation_id), [PARENT]);
  assertEquals(d.refused?.length, 1);
  assert(d.refused![0].reason.includes("no from, from_user_id"));
});

Deno.test("WhatsApp user_changed_number: a system line in the old conversation carrying the old and new phones", () => {
  const d = mapWhatsApp(whatsapp({
    messages: [{
      from: "16505551234",
      id: "wamid.SYS",
      timestamp: "1739321024",
      type: "system",
      system: {
        body: "User Sheena Nelson changed from 16505551234 to 12195555358",
        wa_id: "12195555358",
        type: "user_changed_number",
      },
    }],
  }));
  const m = d.messages[0];
  assertEquals(m.type, "system");
  assertEquals(m.external_conversation_id, "+16505551234");
  assertEquals(m.content, "User Sheena Nelson changed from 16505551234 to 12195555358");
  assertEquals(m.participant_ids, { phone: ["+16505551234", "+12195555358"] });
  assertEquals(m.metadata, { whatsapp_system_type: "user_changed_number" });
});

Deno.test("WhatsApp customer_changed_number (older spelling, new_wa_id) and user_changed_user_id", () => {
  const d = mapWhatsApp(whatsapp({
    messages: [
      {
        from: "16505551234",
        id: "wamid.SYS1",
        timestamp: "1739321024",
        type: "system",
        system: { body: "changed", new_wa_id: "12195555358", type: "customer_changed_number" },
      },
      {
        from_user_id: BSUID,
        id: "wamid.SYS2",
        timestamp: "1739321025",
        type: "system",
        system: {
          body: "User changed their user id",
          user_id: "US.99999999999999999999",
          type: "user_changed_user_id",
        },
      },
      {
        from: "16505551234",
        id: "wamid.SYS3",
        timestamp: "1739321026",
        type: "system",
        system: { body: "identity changed", identity: "abc=", type: "customer_identity_changed" },
      },
    ],
  }));
  assertEquals(d.messages.map((m) => m.participant_ids), [
    { phone: ["+16505551234", "+12195555358"] },
    { whatsapp_user_id: [BSUID, "US.99999999999999999999"] },
    { phone: "+16505551234" },
  ]);
  assertEquals(d.messages[2].metadata, { whatsapp_system_type: "customer_identity_changed", identity: "abc=" });
});

Deno.test("WhatsApp statuses and echoes without a phone: keyed by recipient_user_id / to_user_id", () => {
  const s = mapWhatsApp(whatsapp({
    statuses: [{ id: "wamid.OUT", status: "delivered", timestamp: "1749416383", recipient_user_id: BSUID }],
  }));
  assertEquals(s.updates.map((u) => u.external_conversation_id), [BSUID]);
  assertEquals(s.updates[0].participant_ids, undefined, "one id: nothing to make known together");
  const both = mapWhatsApp(whatsapp({
    contacts: [{ wa_id: "34612345678", user_id: BSUID, profile: { name: "Ana", username: "ana" } }],
    statuses: [{
      id: "wamid.OUT",
      status: "read",
      timestamp: "1749416383",
      recipient_id: "34612345678",
      recipient_user_id: BSUID,
    }],
  }));
  assertEquals(both.updates[0].external_conversation_id, "+34612345678");
  assertEquals(both.updates[0].participant_ids, { phone: "+34612345678", whatsapp_user_id: BSUID, username: "ana" });
  const e = mapWhatsApp(whatsapp({
    message_echoes: [{
      from: "15550783881",
      to_user_id: BSUID,
      id: "wamid.E",
      timestamp: "1749416383",
      type: "text",
      text: { body: "hi" },
    }],
  }, "smb_message_echoes"));
  assertEquals(e.messages[0].external_conversation_id, BSUID);
  assertEquals(e.messages[0].direction, "outbound");
  assertEquals(e.messages[0].participant_ids, { whatsapp_user_id: BSUID });
});

Deno.test("Signal: a new number under the same service id carries both, so it meets the old conversation", () => {
  const aci = "7ccae375-cd51-4c82-8b1e-7be3280aa485";
  const d = mapSignal({
    envelope: {
      source: "+34622222222",
      sourceNumber: "+34622222222",
      sourceUuid: aci,
      sourceName: "Marta",
      timestamp: 1745372297238,
      dataMessage: { timestamp: 1745372297238, message: "mi número nuevo" },
    },
    account: "+34600000001",
  });
  assertEquals(d.messages[0].external_conversation_id, "+34622222222");
  assertEquals(d.messages[0].participant_ids, { signal_aci: aci, phone: "+34622222222" });
  // a sync of what we sent: the destination's ids
  const out = mapSignal({
    envelope: {
      source: "+34600000001",
      sourceNumber: "+34600000001",
      timestamp: 1745372297300,
      syncMessage: {
        sentMessage: {
          destinationNumber: "+34622222222",
          destinationUuid: aci,
          timestamp: 1745372297300,
          message: "ok",
        },
      },
    },
    account: "+34600000001",
  });
  assertEquals(out.messages[0].participant_ids, { signal_aci: aci, phone: "+34622222222" });
  // a PNI, and no ids in a group
  const pni = mapSignal({
    envelope: {
      sourceUuid: "PNI:0b3c8e1d-2f4a-4b6c-8d9e-1a2b3c4d5e6f",
      timestamp: 1745372297400,
      dataMessage: { timestamp: 1745372297400, message: "hi" },
    },
  });
  assertEquals(pni.messages[0].participant_ids, { signal_pni: "PNI:0b3c8e1d-2f4a-4b6c-8d9e-1a2b3c4d5e6f" });
  const group = mapSignal({
    envelope: {
      sourceNumber: "+34622222222",
      sourceUuid: aci,
      timestamp: 1745372297500,
      dataMessage: { timestamp: 1745372297500, message: "g", groupInfo: { groupId: "abc" } },
    },
  });
  assertEquals(group.messages[0].participant_ids, undefined);
});

Deno.test("Telegram: a private chat carries its user id and username; a group carries none", () => {
  const msg = (chat: Record<string, unknown>) =>
    mapTelegram({
      update_id: 1,
      message: { message_id: 5, date: 1441645532, chat, from: { id: chat.id, first_name: "Ana" }, text: "hola" },
    }).messages[0];
  assertEquals(msg({ id: 111111111, type: "private", first_name: "Ana", username: "ana_new" }).participant_ids, {
    telegram_user_id: "111111111",
    username: "ana_new",
  });
  assertEquals(msg({ id: 111111111, type: "private", first_name: "Ana" }).participant_ids, {
    telegram_user_id: "111111111",
  });
  assertEquals(msg({ id: -100123, type: "supergroup", title: "G" }).participant_ids, undefined);
});

Deno.test("WeChat: the follower's openid; an id not of an openid's form is left out, the message kept", () => {
  const xml = (from: string) =>
    `<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[${from}]]></FromUserName>` +
    `<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>` +
    `<MsgId>1234567890123456</MsgId></xml>`;
  assertEquals(mapWeChat(xml("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")).messages[0].participant_ids, {
    wechat_openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
  });
  const odd = mapWeChat(xml("odd id!")).messages[0];
  assertEquals(odd.external_conversation_id, "odd id!");
  assertEquals(odd.participant_ids, undefined);
});
