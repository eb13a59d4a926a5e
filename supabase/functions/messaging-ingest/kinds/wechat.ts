// docs/kinds.md's wechat examples: the XML of WeChat's Official Account push as its
// documentation shows it (receiving standard messages, receiving event pushes, template
// message and batch send results), with ToUserName set to the business account
// gh_123456789abc, and what the function makes of each (kinds_test.ts): one example per row
// of the table that names it.
import type { KindExample, KindExamples } from "./example.ts";

const ACCOUNT = "gh_123456789abc";
const USER = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/** A push: the common header and the kind's own fields. */
function push(msgType: string, inner: string, createTime = 1348831860): string {
  return `<xml><ToUserName><![CDATA[${ACCOUNT}]]></ToUserName><FromUserName><![CDATA[${USER}]]></FromUserName>` +
    `<CreateTime>${createTime}</CreateTime><MsgType><![CDATA[${msgType}]]></MsgType>${inner}</xml>`;
}
const event = (name: string, inner = "") => push("event", `<Event><![CDATA[${name}]]></Event>${inner}`);
const eventId = (name: string) => `${USER}:1348831860:${name}`;
/** The photos a pic_* menu event names (count and MD5 sums; the function does not keep them). */
const PICS = "<SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]>" +
  "</PicMd5Sum></item></PicList></SendPicsInfo>";
/** A menu event's system line, named by its Event, the button's EventKey in metadata.event. */
function menuLine(name: string, content: string): KindExample["expect"] {
  return {
    messages: [{
      id: eventId(name),
      external_conversation_id: USER,
      type: "system",
      content,
      metadata: { event: { name }, platform_kind: `event:${name}`, unknown_kind: undefined },
    }],
    updates: [],
    refused: [],
    state: { unknown_kinds: undefined },
  };
}

const examples: Record<string, KindExample> = {
  wx_text: {
    body: push("text", "<Content><![CDATA[你好，有货吗？]]></Content><MsgId>1234567890123456</MsgId>"),
    expect: {
      messages: [{
        id: "1234567890123456",
        external_conversation_id: USER,
        type: "text",
        content: "你好，有货吗？",
        sent_at: "2012-09-28T11:31:00Z",
      }],
    },
  },
  wx_text_article: {
    body: push(
      "text",
      "<Content><![CDATA[这件还有吗]]></Content><MsgId>1234567890123457</MsgId><MsgDataId>2247483651</MsgDataId><Idx>1</Idx>",
    ),
    expect: { messages: [{ type: "text", metadata: { article: { msg_data_id: "2247483651", idx: "1" } } }] },
  },
  wx_image: {
    body: push(
      "image",
      "<PicUrl><![CDATA[http://mmbiz.qpic.cn/pic.jpg]]></PicUrl><MediaId><![CDATA[media_id]]></MediaId><MsgId>1234567890123458</MsgId>",
    ),
    expect: {
      messages: [{ type: "image", media_url: "http://mmbiz.qpic.cn/pic.jpg", metadata: { media_id: "media_id" } }],
    },
  },
  wx_voice: {
    body: push(
      "voice",
      "<MediaId><![CDATA[media_id]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[明天到]]></Recognition><MsgId>1234567890123459</MsgId>",
    ),
    expect: { messages: [{ type: "voice", content: "明天到", metadata: { media_id: "media_id", format: "amr" } }] },
  },
  wx_video: {
    body: push(
      "video",
      "<MediaId><![CDATA[media_id]]></MediaId><ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId><MsgId>1234567890123460</MsgId>",
    ),
    expect: { messages: [{ type: "video", metadata: { media_id: "media_id", thumb_media_id: "thumb_media_id" } }] },
  },
  wx_shortvideo: {
    body: push(
      "shortvideo",
      "<MediaId><![CDATA[media_id]]></MediaId><ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId><MsgId>1234567890123461</MsgId>",
    ),
    expect: {
      messages: [{ type: "video", metadata: { wechat_type: "shortvideo", thumb_media_id: "thumb_media_id" } }],
    },
  },
  wx_location: {
    body: push(
      "location",
      "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[位置信息]]></Label><MsgId>1234567890123462</MsgId>",
    ),
    expect: {
      messages: [{
        type: "location",
        content: "位置信息",
        metadata: { latitude: 23.134521, longitude: 113.358803, scale: 20 },
      }],
    },
  },
  wx_link: {
    body: push(
      "link",
      "<Title><![CDATA[公众平台官网链接]]></Title><Description><![CDATA[公众平台官网链接]]></Description><Url><![CDATA[https://mp.weixin.qq.com/]]></Url><MsgId>1234567890123463</MsgId>",
    ),
    expect: {
      messages: [{
        type: "text",
        content: "公众平台官网链接\n公众平台官网链接\nhttps://mp.weixin.qq.com/",
        metadata: {
          wechat_type: "link",
          link: { title: "公众平台官网链接", description: "公众平台官网链接", url: "https://mp.weixin.qq.com/" },
        },
      }],
    },
  },
  wx_miniprogrampage: {
    body: push(
      "miniprogrampage",
      "<MsgId>1234567890123464</MsgId><Title><![CDATA[商品详情]]></Title><AppId><![CDATA[wx1234567890abcdef]]></AppId>" +
        "<PagePath><![CDATA[pages/item?id=9]]></PagePath><ThumbUrl><![CDATA[http://mmbiz.qpic.cn/thumb.jpg]]></ThumbUrl>" +
        "<ThumbMediaId><![CDATA[thumb]]></ThumbMediaId>",
    ),
    expect: {
      messages: [{
        type: "other",
        content: "商品详情",
        metadata: {
          platform_kind: "miniprogrampage",
          miniprogram: { title: "商品详情", app_id: "wx1234567890abcdef", page_path: "pages/item?id=9" },
        },
      }],
    },
  },
  wx_unknown_type: {
    body: push("hologram", "<MsgId>1234567890123465</MsgId>"),
    expect: { messages: [{ type: "other", content: null, metadata: { platform_kind: "hologram" } }] },
  },
  wx_subscribe: {
    body: event("subscribe"),
    expect: {
      messages: [{
        id: eventId("subscribe"),
        type: "system",
        content: "Followed the account",
        metadata: { platform_kind: "event:subscribe", event: { name: "subscribe" } },
      }],
    },
  },
  wx_subscribe_qr: {
    body: event("subscribe", "<EventKey><![CDATA[qrscene_123123]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>"),
    expect: {
      messages: [{
        type: "system",
        content: "Followed the account (QR code 123123)",
        metadata: { event: { name: "subscribe", key: "qrscene_123123", ticket: "TICKET" } },
      }],
    },
  },
  wx_unsubscribe: {
    body: event("unsubscribe"),
    expect: { messages: [{ id: eventId("unsubscribe"), type: "system", content: "Unfollowed the account" }] },
  },
  wx_scan: {
    body: event("SCAN", "<EventKey><![CDATA[SCENE_VALUE]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>"),
    expect: { messages: [{ type: "system", content: "Scanned QR code SCENE_VALUE" }] },
  },
  wx_location_event: {
    body: event(
      "LOCATION",
      "<Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision>",
    ),
    expect: {
      messages: [{
        id: eventId("LOCATION"),
        type: "location",
        content: "23.137466,113.352425",
        metadata: { latitude: 23.137466, longitude: 113.352425, precision: 119.38504, platform_kind: "event:LOCATION" },
      }],
    },
  },
  wx_click: {
    body: event("CLICK", "<EventKey><![CDATA[V1001_TODAY_MUSIC]]></EventKey>"),
    expect: {
      messages: [{
        type: "system",
        content: "Menu: V1001_TODAY_MUSIC",
        metadata: { event: { name: "CLICK", key: "V1001_TODAY_MUSIC" } },
      }],
    },
  },
  // the menu's scan, photo, location and mini program buttons (custom menu event pushes)
  wx_scancode_push: {
    body: event(
      "scancode_push",
      "<EventKey><![CDATA[6]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>" +
        "<ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo>",
    ),
    expect: menuLine("scancode_push", "Menu scan: 6"),
  },
  wx_scancode_waitmsg: {
    body: event(
      "scancode_waitmsg",
      "<EventKey><![CDATA[6]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>" +
        "<ScanResult><![CDATA[2]]></ScanResult></ScanCodeInfo>",
    ),
    expect: menuLine("scancode_waitmsg", "Menu scan: 6"),
  },
  wx_pic_sysphoto: {
    body: event("pic_sysphoto", `<EventKey><![CDATA[6]]></EventKey>${PICS}`),
    expect: menuLine("pic_sysphoto", "Menu photo: 6"),
  },
  wx_pic_photo_or_album: {
    body: event("pic_photo_or_album", `<EventKey><![CDATA[6]]></EventKey>${PICS}`),
    expect: menuLine("pic_photo_or_album", "Menu photo: 6"),
  },
  wx_pic_weixin: {
    body: event("pic_weixin", `<EventKey><![CDATA[6]]></EventKey>${PICS}`),
    expect: menuLine("pic_weixin", "Menu photo: 6"),
  },
  wx_location_select: {
    body: event(
      "location_select",
      "<EventKey><![CDATA[6]]></EventKey><SendLocationInfo><Location_X><![CDATA[23]]></Location_X>" +
        "<Location_Y><![CDATA[113]]></Location_Y><Scale><![CDATA[15]]></Scale><Label><![CDATA[ 广州市海珠区客村艺苑路 106号]]></Label>" +
        "<Poiname><![CDATA[]]></Poiname></SendLocationInfo>",
    ),
    expect: menuLine("location_select", "Menu location: 6"),
  },
  wx_view_miniprogram: {
    body: event("view_miniprogram", "<EventKey><![CDATA[pages/index/index]]></EventKey><MenuId>MENUID</MenuId>"),
    expect: menuLine("view_miniprogram", "Menu mini program: pages/index/index"),
  },
  wx_view: {
    body: event("VIEW", "<EventKey><![CDATA[http://www.example.com/]]></EventKey><MenuId>MENUID</MenuId>"),
    expect: {
      messages: [{
        type: "system",
        content: "Menu link: http://www.example.com/",
        metadata: { event: { name: "VIEW", key: "http://www.example.com/", menu_id: "MENUID" } },
      }],
    },
  },
  wx_template_success: {
    body: event("TEMPLATESENDJOBFINISH", "<MsgID>200163836</MsgID><Status><![CDATA[success]]></Status>"),
    expect: {
      messages: [],
      updates: [{ kind: "status", id: "200163836", status: "delivered", external_conversation_id: USER }],
    },
  },
  wx_template_blocked: {
    body: event("TEMPLATESENDJOBFINISH", "<MsgID>200163840</MsgID><Status><![CDATA[failed:user block]]></Status>"),
    expect: {
      messages: [],
      updates: [{ kind: "status", id: "200163840", status: "failed", error: { reason: "failed:user block" } }],
    },
  },
  wx_template_failed: {
    body: event("TEMPLATESENDJOBFINISH", "<MsgID>200163841</MsgID><Status><![CDATA[failed: system failed]]></Status>"),
    expect: {
      messages: [],
      updates: [{ kind: "status", id: "200163841", status: "failed", error: { reason: "failed: system failed" } }],
    },
  },
  wx_masssend: {
    body: event(
      "MASSSENDJOBFINISH",
      "<MsgID>1988</MsgID><Status><![CDATA[sendsuccess]]></Status><TotalCount>100</TotalCount>" +
        "<FilterCount>80</FilterCount><SentCount>75</SentCount><ErrorCount>5</ErrorCount>",
    ),
    expect: { messages: [], updates: [], refused: [] },
  },
  wx_unknown_event: {
    body: event("merchant_order", "<OrderId><![CDATA[test_order_id]]></OrderId>"),
    expect: { messages: [{ type: "other", content: null, metadata: { platform_kind: "event:merchant_order" } }] },
  },
  wx_bad_template: {
    body: event("TEMPLATESENDJOBFINISH", "<Status><![CDATA[success]]></Status>"),
    expect: { messages: [], updates: [], refused: [{ path: "Event", kind: "invalid_shape" }] },
  },
};

const kinds: KindExamples = {
  connection: {
    id: "00000000-0000-4000-8000-000000000004",
    user_id: "00000000-0000-4000-8000-0000000000aa",
    platform: "wechat",
    account_identifier: ACCOUNT,
    status: "active",
    secrets: {},
  },
  examples,
};

export default kinds;
