// WhatsApp Cloud API message kinds (docs/kinds.md, ## WhatsApp): what one message object of
// the messages webhook (and of smb_message_echoes and history, which share its shape) is
// stored as: the message type, its content and the metadata keys. Every kind, known or not,
// gives a message: a kind without a type of its own is `other` with `metadata.platform_kind`
// naming it. Fields that are missing or of another shape are left out (what can be read is
// kept); only a text without its body is refused (requireString), as before.

import { compact, isObject, type MessageType, optionalString, requireString, scalarText } from "./types.ts";

const MEDIA: Record<string, MessageType> = {
  image: "image",
  video: "video",
  audio: "audio",
  document: "document",
  sticker: "sticker",
};

export interface Body {
  type: MessageType;
  content: string | null;
  media_url?: string;
  metadata?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj => (isObject(v) ? v : {});

/** A finite number, or a digit string read as one; else undefined. */
function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);

/** A kind stored as `other`: the platform's name for it in platform_kind (and whatsapp_type, as before). */
function other(kind: string, content: string | null, extra: Obj = {}): Body {
  return {
    type: "other",
    content,
    metadata: compact({ whatsapp_type: kind.split(".")[0], platform_kind: kind, ...extra }),
  };
}

/** interactive: button_reply, list_reply, nfm_reply (a Flow's answers), call_permission_reply. */
function interactive(part: Obj): Body {
  const sub = optionalString(part.type) ??
    ["button_reply", "list_reply", "nfm_reply", "call_permission_reply"].find((k) => isObject(part[k])) ??
    "unknown";
  const r = obj(part[sub]);
  if (sub === "button_reply" || sub === "list_reply") {
    const title = optionalString(r.title) ?? null;
    return {
      type: "text",
      content: title,
      metadata: {
        whatsapp_type: "interactive",
        interactive: compact({
          kind: sub,
          id: optionalString(r.id),
          title: title ?? undefined,
          description: optionalString(r.description),
        }),
      },
    };
  }
  if (sub === "nfm_reply") {
    // response_json is a JSON text of the form's answers (the flow_token among them)
    const raw = optionalString(r.response_json);
    let answers: unknown = undefined;
    if (raw !== undefined) {
      try {
        answers = JSON.parse(raw);
      } catch {
        answers = undefined;
      }
    }
    return {
      type: "text",
      content: optionalString(r.body) ?? optionalString(r.name) ?? null,
      metadata: {
        whatsapp_type: "interactive",
        interactive: compact({
          kind: sub,
          name: optionalString(r.name),
          body: optionalString(r.body),
          answers: isObject(answers) ? answers : undefined,
          // not a JSON object: kept as the text it was
          response_json: raw !== undefined && !isObject(answers) ? raw : undefined,
        }),
      },
    };
  }
  if (sub === "call_permission_reply") {
    const response = optionalString(r.response);
    return {
      type: "text",
      content: response ? `Call permission: ${response}` : null,
      metadata: {
        whatsapp_type: "interactive",
        interactive: compact({
          kind: sub,
          response,
          is_permanent: bool(r.is_permanent),
          expiration_timestamp: num(r.expiration_timestamp),
          response_source: optionalString(r.response_source),
        }),
      },
    };
  }
  return other(`interactive.${sub}`, null);
}

/** order: the catalog, each item's product, quantity and price, and the customer's text. */
function order(part: Obj): Body {
  const items = (Array.isArray(part.product_items) ? part.product_items : []).filter(isObject).map((i) =>
    compact({
      product_retailer_id: optionalString(i.product_retailer_id),
      quantity: num(i.quantity),
      item_price: num(i.item_price),
      currency: optionalString(i.currency),
    })
  );
  const text = optionalString(part.text);
  return other("order", text ?? null, {
    order: compact({ catalog_id: optionalString(part.catalog_id), text, product_items: items }),
  });
}

/** Type, text and metadata of one message object (messages, echoes, history). */
export function body(m: Obj, path: string): Body {
  const type = requireString(m.type, `${path}.type`);
  const part = obj(m[type]);
  if (type === "text") {
    return { type: "text", content: requireString(part.body, `${path}.text.body`) };
  }
  if (Object.hasOwn(MEDIA, type)) {
    const kind: MessageType = type === "audio" && part.voice === true ? "voice" : MEDIA[type];
    return {
      type: kind,
      content: optionalString(part.caption) ?? null,
      metadata: compact({
        media_id: optionalString(part.id),
        mime_type: optionalString(part.mime_type),
        filename: optionalString(part.filename),
        // the SHA-256 of the (decrypted) file, as WhatsApp sends it (base64): an export's
        // copy of the same file carries it too, so the two copies meet (12_match.sql)
        sha256: optionalString(part.sha256),
        animated: type === "sticker" ? bool(part.animated) : undefined,
      }),
    };
  }
  if (type === "location") {
    const name = optionalString(part.name);
    const address = optionalString(part.address);
    const url = optionalString(part.url);
    const label = [name, address].filter(Boolean).join(", ");
    return {
      type: "location",
      content: label || `${scalarText(part.latitude)},${scalarText(part.longitude)}`,
      media_url: url,
      metadata: compact({
        // as given (the contract's shape; nesting_test.ts sends deep values here)
        latitude: part.latitude,
        longitude: part.longitude,
        location: name || address || url ? compact({ name, address, url }) : undefined,
      }),
    };
  }
  if (type === "contacts") {
    const contacts = Array.isArray(m.contacts) ? m.contacts : [];
    const names = contacts
      .map((c) => (isObject(c) && isObject(c.name) ? optionalString(c.name.formatted_name) : undefined))
      .filter(Boolean);
    return { type: "contact", content: names.join(", ") || null, metadata: { contacts } };
  }
  if (type === "button") {
    // a template's quick-reply button: its text and the payload the template set
    const text = optionalString(part.text);
    return {
      type: "text",
      content: text ?? null,
      metadata: {
        whatsapp_type: "button",
        interactive: compact({ kind: "button", text, payload: optionalString(part.payload) }),
      },
    };
  }
  if (type === "interactive") return interactive(part);
  if (type === "order") return order(part);
  if (type === "system") {
    // user_changed_number / customer_changed_number, user_changed_user_id,
    // customer_identity_changed: a line in the thread; the new ids are participant_ids
    return {
      type: "system",
      content: optionalString(part.body) ?? null,
      metadata: compact({ whatsapp_system_type: optionalString(part.type), identity: optionalString(part.identity) }),
    };
  }
  const errors = Array.isArray(m.errors) ? m.errors : undefined;
  if (type === "unsupported") {
    // the kind the API does not deliver (edit, poll_creation, pin, ...), when it names it
    const inner = optionalString(part.type);
    return other(inner ? `unsupported.${inner}` : "unsupported", null, {
      unsupported: inner ? { type: inner } : undefined,
      errors,
    });
  }
  // unknown, request_welcome, and whatever Meta adds: kept, with the platform's type; a type
  // no reference names is marked unknown_kind (counted on the connection: connection_state.ts)
  return other(type, optionalString(part.body) ?? optionalString(part.text) ?? null, {
    errors,
    unknown_kind: type === "request_welcome" ? undefined : true,
  });
}

/**
 * What any message kind may carry besides its body: context.forwarded /
 * frequently_forwarded, context.referred_product (a message about a catalog product) and
 * the click-to-WhatsApp ad's referral.
 */
export function extras(m: Obj): Obj {
  const context = obj(m.context);
  const out: Obj = {};
  if (context.forwarded === true || context.frequently_forwarded === true) {
    out.forwarded = { frequently: context.frequently_forwarded === true };
  }
  const product = obj(context.referred_product);
  if (Object.keys(product).length > 0) {
    out.referred_product = compact({
      catalog_id: optionalString(product.catalog_id),
      product_retailer_id: optionalString(product.product_retailer_id),
    });
  }
  if (isObject(m.referral)) {
    const r = m.referral;
    const referral = compact({
      source_url: optionalString(r.source_url),
      source_type: optionalString(r.source_type),
      source_id: optionalString(r.source_id),
      headline: optionalString(r.headline),
      body: optionalString(r.body),
      media_type: optionalString(r.media_type),
      image_url: optionalString(r.image_url),
      video_url: optionalString(r.video_url),
      thumbnail_url: optionalString(r.thumbnail_url),
      ctwa_clid: optionalString(r.ctwa_clid),
    });
    if (Object.keys(referral).length > 0) out.referral = referral;
  }
  return out;
}

/** The body's metadata with the extras: undefined when there is none. */
export function metadataOf(b: Body, m: Obj): Obj | undefined {
  const md = { ...(b.metadata ?? {}), ...extras(m) };
  return Object.keys(md).length > 0 ? md : undefined;
}

/**
 * A calls-field terminate as a call line: `other`, whatsapp_type "call" and the contract's
 * metadata.call ({media, missed}, plus answered, duration_seconds and the platform's status).
 */
export function callLine(call: Obj): Body {
  const duration = num(call.duration);
  const status = optionalString(call.status);
  const answered = (duration !== undefined && duration > 0) || status?.toUpperCase() === "COMPLETED";
  return {
    type: "other",
    content: null,
    metadata: {
      whatsapp_type: "call",
      platform_kind: "call",
      call: compact({
        media: "voice",
        missed: !answered,
        answered,
        duration_seconds: duration,
        status,
        direction: optionalString(call.direction),
      }),
    },
  };
}
