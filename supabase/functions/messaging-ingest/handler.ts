// Routes, authentication and answers of the messaging-ingest function (docs/contract.md, webhooks).
//
//   POST /                          an app's batch (the ingest_messages payload), as the caller
//   GET|POST /whatsapp/{connection}  WhatsApp Cloud API (verify token / X-Hub-Signature-256)
//   POST /telegram/{connection}      Telegram Bot API (X-Telegram-Bot-Api-Secret-Token)
//   POST /signal/{connection}        signal-cli receive notifications (Authorization: Bearer)
//   GET|POST /wechat/{connection}    WeChat Official Account push (sha1 signature)
//
// The body is read whole (bounded) and its signature or token checked on those raw bytes
// before it is parsed. Answers: 200 stored (what could be: items refused alone are listed),
// or a paused connection (nothing stored, and the platform stops retrying); 400 not the
// platform's shape; 401 bad or missing signature/token, or a replayed WeChat nonce; 403
// wrong WhatsApp verify token, or every item for another account; 404 unknown connection;
// 405 wrong method; 413 too large; 422 every item refused by the store; 503 only when the
// database failed in a way a retry can fix.
//
// Whether a refusal is final is read from codes (SQLSTATE / PostgREST code, and the
// refusal kind the SQL puts in its hint), never from the wording of a message.

import { type Bytes, sha256Hex } from "./crypto.ts";
import { cleanDelivery } from "./clean.ts";
import * as signal from "./signal.ts";
import { type Connection, type DeliveryResult, type Store, StoreError, supabaseStore } from "./store.ts";
import * as telegram from "./telegram.ts";
import { type Delivery, type Platform, ShapeError } from "./types.ts";
import { Constants } from "../_shared/database.ts";
import * as wechat from "./wechat.ts";
import * as whatsapp from "./whatsapp.ts";
import { XmlError } from "./xml.ts";

export const FUNCTION_NAME = "messaging-ingest";
/** Platforms' deliveries are small; 1 MiB is far above any of them. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;
/** An app's batch: the Python client caps a batch at 8 MiB of JSON. */
export const MAX_BATCH_BYTES = 9 * 1024 * 1024;

const PLATFORMS = new Set<string>(Constants.public.Enums.messaging_platform);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Deps {
  store: Store;
  log?: (message: string) => void;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** The body as bytes, refusing more than `limit` bytes whatever Content-Length says. */
export async function readBody(req: Request, limit: number): Promise<Bytes> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await req.body?.cancel();
    throw new HttpError(413, `body larger than ${limit} bytes`);
  }
  if (!req.body) return new Uint8Array() as Bytes;
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new HttpError(413, `body larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total) as Bytes;
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function decodeUtf8(raw: Bytes): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new ShapeError("body: not UTF-8 text");
  }
}

function parseJson(raw: Bytes): unknown {
  const s = decodeUtf8(raw);
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new ShapeError(`body: not JSON (${(e as Error).message.slice(0, 80)})`);
  }
}

/**
 * The route below the function name (the edge runtime passes `/<function name>/...`):
 * [] for the app batch, [platform, id] for webhooks; null for another function's path.
 */
function route(url: URL): string[] | null {
  const parts = url.pathname.split("/").filter(Boolean);
  return parts.shift() === FUNCTION_NAME ? parts : null;
}

function authenticate(platform: Platform, req: Request, url: URL, raw: Bytes, c: Connection): void {
  let ok = false;
  if (platform === "whatsapp") {
    ok = whatsapp.verifySignature(req.headers.get("x-hub-signature-256"), raw, c.secrets.app_secret);
  } else if (platform === "telegram") {
    ok = telegram.verifySecretToken(req.headers.get("x-telegram-bot-api-secret-token"), c.secrets.secret_token);
  } else if (platform === "signal") {
    ok = signal.verifyBearer(req.headers.get("authorization"), c.secrets.token);
  } else {
    ok = wechat.verifySignature(url, c.secrets.token);
  }
  if (!ok) throw new HttpError(401, "missing or wrong signature or token");
}

/** Maps an authenticated body onto a delivery, bound to the connection's account. */
export function mapDelivery(platform: Platform, raw: Bytes, c: Connection): Delivery {
  switch (platform) {
    case "whatsapp":
      return whatsapp.mapWhatsApp(parseJson(raw), c.account_identifier);
    case "telegram":
      return telegram.mapTelegram(parseJson(raw));
    case "signal":
      return signal.mapSignal(parseJson(raw), c.account_identifier);
    case "wechat":
      return wechat.mapWeChat(decodeUtf8(raw), c.account_identifier);
  }
}

/** The answer the platform gets: WeChat reads "success", the others the status. */
function answer(platform: Platform, status: number, body: Record<string, unknown>): Response {
  if (platform === "wechat") return text(status, status === 200 ? "success" : String(body.error ?? ""));
  return json(status, body);
}

async function webhook(deps: Deps, req: Request, url: URL, platform: Platform, id: string): Promise<Response> {
  const canGet = platform === "whatsapp" || platform === "wechat";
  if (req.method !== "POST" && !(req.method === "GET" && canGet)) {
    throw new HttpError(405, `${req.method} is not accepted here`);
  }
  const raw = req.method === "POST" ? await readBody(req, MAX_WEBHOOK_BYTES) : (new Uint8Array() as Bytes);
  const connection = UUID.test(id) ? await deps.store.connection(id.toLowerCase()) : null;
  if (!connection || connection.platform !== platform) throw new HttpError(404, "no such connection");

  if (req.method === "GET") {
    if (platform === "whatsapp") return whatsapp.verifySubscription(url, connection.secrets.verify_token);
    authenticate(platform, req, url, raw, connection);
    return text(200, url.searchParams.get("echostr") ?? "");
  }

  authenticate(platform, req, url, raw, connection);
  // from here on the body is the platform's: refusals and failures are recorded on the connection
  let delivery: Delivery;
  try {
    delivery = cleanDelivery(mapDelivery(platform, raw, connection));
  } catch (e) {
    if (e instanceof ShapeError || e instanceof XmlError) {
      await recordFailure(deps, connection.id, `400 ${e.message}`, true);
      throw new HttpError(400, e.message);
    }
    throw e;
  }
  if (platform === "wechat") {
    delivery.replayGuard = { nonce: url.searchParams.get("nonce") ?? "", digest: sha256Hex(raw) };
  }
  let result: DeliveryResult;
  try {
    result = await deps.store.deliver(connection, delivery);
  } catch (e) {
    const err = e instanceof StoreError ? e : new StoreError(String(e), true);
    if (err.kind === "connection_unknown") throw new HttpError(404, "no such connection");
    if (err.retryable) {
      await recordFailure(deps, connection.id, err.message, false);
      throw new HttpError(503, "the database could not store the delivery; send it again");
    }
    // a refusal of the whole delivery that sending it again cannot change
    await recordFailure(deps, connection.id, err.message, true);
    return answer(platform, 422, { error: err.message, code: err.code, kind: err.kind ?? "refused" });
  }
  if (result.rejected?.kind === "paused") {
    // stored nothing; 200 is what makes every platform stop retrying
    return answer(platform, 200, {
      ok: true,
      stored: false,
      status: result.rejected.status,
      reason: result.rejected.reason,
    });
  }
  if (result.rejected?.kind === "replay") throw new HttpError(401, "nonce: already used with another body");
  const refused = result.refused ?? [];
  if (refused.length > 0 && (result.accepted ?? 0) === 0) {
    // nothing in the delivery could be stored, and a retry cannot change that: final
    const mismatch = refused.every((r) => r.kind === "account_mismatch");
    return answer(platform, mismatch ? 403 : 422, {
      error: mismatch
        ? "the delivery is for another account than this connection's"
        : "nothing in the delivery could be stored",
      refused,
    });
  }
  return answer(platform, 200, { ok: true, ...result });
}

async function recordFailure(deps: Deps, connectionId: string, message: string, refused: boolean): Promise<void> {
  deps.log?.(`connection ${connectionId}: ${refused ? "refused" : "failed"}: ${message}`);
  try {
    await deps.store.recordFailure(connectionId, message, refused);
  } catch (e) {
    deps.log?.(`connection ${connectionId}: could not record the failure: ${e}`);
  }
}

/** Browsers may call the app route (supabase-js `functions.invoke`): the usual CORS answer. */
const CORS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type",
  "access-control-allow-methods": "POST, OPTIONS",
};

async function appBatch(deps: Deps, req: Request): Promise<Response> {
  const res = await appBatchInner(deps, req).catch((e) => {
    if (e instanceof HttpError) return json(e.status, { error: e.message });
    if (e instanceof ShapeError) return json(400, { error: e.message });
    throw e;
  });
  for (const [k, v] of Object.entries(CORS)) res.headers.set(k, v);
  return res;
}

async function appBatchInner(deps: Deps, req: Request): Promise<Response> {
  if (req.method === "OPTIONS") return new Response(null, { status: 204 });
  if (req.method !== "POST") throw new HttpError(405, `${req.method} is not accepted here`);
  const authorization = req.headers.get("authorization");
  if (!authorization || !/^Bearer\s+\S+$/i.test(authorization)) {
    await req.body?.cancel();
    throw new HttpError(401, "Authorization: Bearer <user token or service key> required");
  }
  const payload = parseJson(await readBody(req, MAX_BATCH_BYTES));
  const { status, body } = await deps.store.ingestAsCaller(authorization, payload);
  return json(status, body);
}

export function createHandler(deps: Deps | (() => Deps)): (req: Request) => Promise<Response> {
  let resolved: Deps | undefined = typeof deps === "function" ? undefined : deps;
  return async (req: Request) => {
    resolved ??= (deps as () => Deps)();
    const url = new URL(req.url);
    const parts = route(url);
    try {
      if (parts === null) throw new HttpError(404, "no such function");
      if (parts.length === 0) return await appBatch(resolved, req);
      if (parts.length === 2 && PLATFORMS.has(parts[0])) {
        return await webhook(resolved, req, url, parts[0] as Platform, parts[1]);
      }
      throw new HttpError(404, "no such route");
    } catch (e) {
      if (e instanceof HttpError) return json(e.status, { error: e.message });
      if (e instanceof ShapeError) return json(400, { error: e.message });
      if (e instanceof StoreError) {
        resolved.log?.(e.message);
        return json(e.retryable ? 503 : 422, { error: e.retryable ? "the database is unavailable" : e.message });
      }
      resolved.log?.(`unexpected: ${(e as Error).stack ?? e}`);
      return json(500, { error: "internal error" });
    }
  };
}

/** The handler with the store Supabase's edge runtime environment names. */
export const handler = createHandler(() => {
  const env = (name: string) => {
    const v = Deno.env.get(name);
    if (!v) throw new Error(`${name} is not set`);
    return v;
  };
  return {
    store: supabaseStore({
      url: env("SUPABASE_URL"),
      anonKey: env("SUPABASE_ANON_KEY"),
      serviceKey: env("SUPABASE_SERVICE_ROLE_KEY"),
      cacheSeconds: Number(Deno.env.get("MESSAGING_CONNECTION_CACHE_SECONDS") ?? "30"),
      unknownCacheSeconds: Number(Deno.env.get("MESSAGING_UNKNOWN_CONNECTION_CACHE_SECONDS") ?? "10"),
    }),
    log: (m) => console.error(`[messaging-ingest] ${m}`),
  };
});
