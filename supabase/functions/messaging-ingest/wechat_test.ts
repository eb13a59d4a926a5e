// WeChat Official Account pushes: XML bodies as the message-management docs show them,
// and the sha1 signature of the sorted token, timestamp and nonce.
import { sha1Hex } from "./crypto.ts";
import { assert, assertEquals, assertThrows } from "./test_helpers.ts";
import { ShapeError } from "./types.ts";
import { mapWeChat, verifySignature } from "./wechat.ts";
import { XmlError } from "./xml.ts";

const TEXT = `<xml>
  <ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>
  <FromUserName><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[你好，有货吗？]]></Content>
  <MsgId>1234567890123456</MsgId>
  <MsgDataId>xxxx</MsgDataId>
  <Idx>xxxx</Idx>
</xml>`;

Deno.test("text: the sender's openid is the conversation, MsgId the id, CreateTime the time", () => {
  assertEquals(mapWeChat(TEXT), {
    messages: [{
      platform: "wechat",
      external_conversation_id: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
      participant_identifier: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
      participant_ids: { wechat_openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
      conversation_type: "direct",
      id: "1234567890123456",
      direction: "inbound",
      type: "text",
      content: "你好，有货吗？",
      sent_at: "2012-09-28T11:31:00Z",
      sender_identifier: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
      // issue 28: MsgDataId/Idx (the article the message was sent from) were dropped
      metadata: { article: { msg_data_id: "xxxx", idx: "xxxx" } },
    }],
    updates: [],
  });
});

Deno.test("image, voice with recognition, location, link; unknown types are other", () => {
  const base = (inner: string) =>
    `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU1]]></FromUserName><CreateTime>1357290913</CreateTime>${inner}<MsgId>42</MsgId></xml>`;
  const img = mapWeChat(
    base(
      "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.example/pic.jpg]]></PicUrl><MediaId><![CDATA[media_id]]></MediaId>",
    ),
  ).messages[0];
  assertEquals([img.type, img.media_url, img.metadata], ["image", "http://mmbiz.example/pic.jpg", {
    media_id: "media_id",
  }]);
  const voice = mapWeChat(
    base(
      "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[明天到]]></Recognition>",
    ),
  ).messages[0];
  assertEquals([voice.type, voice.content], ["voice", "明天到"]);
  const loc = mapWeChat(
    base(
      "<MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[位置信息]]></Label>",
    ),
  ).messages[0];
  assertEquals([loc.type, loc.content, loc.metadata], ["location", "位置信息", {
    latitude: 23.134521,
    longitude: 113.358803,
    scale: 20,
  }]);
  const link = mapWeChat(
    base(
      "<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[公众平台官网链接]]></Title><Description><![CDATA[描述]]></Description><Url><![CDATA[http://example.com/]]></Url>",
    ),
  ).messages[0];
  assertEquals([link.type, link.content], ["text", "公众平台官网链接\n描述\nhttp://example.com/"]);
  const other = mapWeChat(base("<MsgType><![CDATA[miniprogrampage]]></MsgType>")).messages[0];
  // issue 28: the mini-program page's fields were dropped; an unknown type names its kind
  assertEquals([other.type, other.metadata], ["other", {
    wechat_type: "miniprogrampage",
    platform_kind: "miniprogrampage",
    miniprogram: {},
  }]);
  const future = mapWeChat(base("<MsgType><![CDATA[hologram]]></MsgType>")).messages[0];
  assertEquals([future.type, future.metadata], ["other", {
    wechat_type: "hologram",
    platform_kind: "hologram",
    unknown_kind: true,
  }]);
});

Deno.test("events are system lines (issue 28: they were dropped); the AES safe mode and other shapes are refused", () => {
  const ev =
    `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU1]]></FromUserName><CreateTime>123456789</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>`;
  const sub = mapWeChat(ev).messages;
  assertEquals(sub.map((m) => [m.id, m.type, m.content]), [[
    "oU1:123456789:subscribe",
    "system",
    "Followed the account",
  ]]);
  assertThrows(
    () => mapWeChat("<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>"),
    ShapeError,
    "Encrypt",
  );
  assertThrows(() => mapWeChat("<root><MsgType>text</MsgType></root>"), ShapeError, "<xml>");
  assertThrows(
    () =>
      mapWeChat(
        "<xml><ToUserName>gh_1</ToUserName><MsgType>text</MsgType><FromUserName>o</FromUserName><CreateTime>1</CreateTime></xml>",
      ),
    ShapeError,
    "MsgId",
  );
  assertThrows(() => mapWeChat('{"MsgType": "text"}'), XmlError);
});

Deno.test("XXE and billion laughs are refused before any parsing", () => {
  const xxe = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1348831860</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>`;
  assertThrows(() => mapWeChat(xxe), XmlError, "DOCTYPE");
  const lol =
    `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><xml><Content>&lol2;</Content></xml>`;
  assertThrows(() => mapWeChat(lol), XmlError);
  // an undeclared entity reference without a DOCTYPE is refused too
  assertThrows(
    () =>
      mapWeChat(
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>",
      ),
    XmlError,
    "&xxe;",
  );
});

Deno.test("signature: sha1 of the sorted token, timestamp and nonce", async () => {
  const token = "crmtoken123";
  const signature = await sha1Hex(["1409659813", "1372623149", token].sort().join(""));
  const url = (sig: string) =>
    new URL(`http://x/wechat/id?signature=${sig}&timestamp=1409659813&nonce=1372623149&echostr=hi`);
  const now = 1409659813 + 10;
  assert(await verifySignature(url(signature), token, now));
  assert(!(await verifySignature(url(signature), "othertoken", now)));
  assert(!(await verifySignature(url(signature.replace(/.$/, signature.endsWith("0") ? "1" : "0")), token, now)));
  assert(!(await verifySignature(new URL("http://x/wechat/id?timestamp=1&nonce=2"), token, now)), "no signature");
  // a captured query string replayed later (with any body) is refused
  assert(!(await verifySignature(url(signature), token, 1409659813 + 301)), "too old");
  assert(!(await verifySignature(url(signature), token, 1409659813 - 301)), "from the future");
});

Deno.test("ToUserName must be the connection's account", () => {
  const xml = (to: string) =>
    `<xml><ToUserName><![CDATA[${to}]]></ToUserName><FromUserName>oU1</FromUserName><CreateTime>1357290913</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>42</MsgId></xml>`;
  assertEquals(mapWeChat(xml("gh_1"), "gh_1").messages.length, 1);
  const other = mapWeChat(xml("gh_other"), "gh_1");
  assertEquals([other.messages.length, other.refused?.[0].kind, other.refused?.[0].path], [
    0,
    "account_mismatch",
    "ToUserName",
  ]);
});

Deno.test("issue 28: template results are statuses, mass-send totals are left out, a bad event is refused alone", () => {
  const ev = (inner: string) =>
    `<xml><ToUserName>gh_1</ToUserName><FromUserName>oU1</FromUserName><CreateTime>1357290913</CreateTime><MsgType>event</MsgType>${inner}</xml>`;
  const ok = mapWeChat(
    ev("<Event>TEMPLATESENDJOBFINISH</Event><MsgID>200163836</MsgID><Status>success</Status>"),
    "gh_1",
  );
  assertEquals(ok.updates.map((u) => [u.kind, u.id, u.external_conversation_id, "status" in u && u.status]), [
    ["status", "200163836", "oU1", "delivered"],
  ]);
  assertEquals(mapWeChat(ev("<Event>MASSSENDJOBFINISH</Event><MsgID>1</MsgID>")), { messages: [], updates: [] });
  const bad = mapWeChat(ev("<Event>TEMPLATESENDJOBFINISH</Event><MsgID>1</MsgID><Status>maybe</Status>"));
  assertEquals([bad.messages.length, bad.updates.length, bad.refused?.map((r) => [r.path, r.kind])], [0, 0, [[
    "Event",
    "invalid_shape",
  ]]]);
  // a location report with unreadable coordinates keeps what it has
  const loc = mapWeChat(ev("<Event>LOCATION</Event><Latitude>x</Latitude><Longitude>113.3</Longitude>")).messages[0];
  assertEquals([loc.type, loc.content, loc.metadata?.longitude, loc.metadata?.latitude], [
    "location",
    null,
    113.3,
    undefined,
  ]);
});
