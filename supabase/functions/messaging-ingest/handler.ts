// Routes, authentication and answers of the messaging-ingest function (docs/contract.md, webhooks).
//
//   POST /                            an app's batch (the ingest_messages payload), as the caller
//   POST /{platform}/{connection}     a platform's webhook delivery
//   GET  /{platform}/{connection}     its subscription check, where the platform has one
//
// Each platform is an Adapter (adapter.ts; the Record in adapters.ts): how its requests are
// verified, its bodies mapped, its GET handshake and its answers. This file names no
// platform: it drives whichever adapter the route's first segment names. Nothing of a body
// is read before its caller is known: the connection (from the URL; a random id is 404
// without a database lookup, live_ids.ts) and what the platform sends beside the body (a
// token, a query signature, a signature header's form) for a webhook, the JWT for the app
// route (caller.ts). A signature over the body is then checked on the raw bytes (read whole,
// bounded) before they are parsed.
// Every status comes from STATUS (answers.ts), the table docs/contract.md shows: 200 stored
// (what could be: items refused alone are listed), or a paused connection (nothing stored,
// and the platform stops retrying; counted as dropped); 400 not the platform's shape; 401
// bad or missing signature/token, or a replayed nonce; every refusal is counted on the
// connection by its reason; 403 a wrong verify token, or every item for another
// account; 404 unknown connection; 405 wrong method; 413 too large; 422 every item refused by
// the store; 503 only when the database failed in a way a retry can fix.
//
// Whether a refusal is final is read from codes (SQLSTATE / PostgREST code, and the
// refusal kind the SQL puts in its hint), never from the wording of a message.

import { acceptsGet, type Adapter, parseJson } from "./adapter.ts";
import { ADAPTERS } from "./adapters.ts";
import { HttpError, json, NOSNIFF, publicReason, STATUS } from "./answers.ts";
import { type CallerCheck, callerCheck } from "./caller.ts";
import type { Bytes } from "./crypto.ts";
import { cleanDelivery } from "./clean.ts";
import { countUnknownMessages } from "./connection_state.ts";
import { LiveIds } from "./live_ids.ts";
import { type Connection, type DeliveryResult, type Store, StoreError, supabaseStore } from "./store.ts";
import { type Delivery, type Platform, ShapeError } from "./types.ts";
import { XmlError } from "./xml.ts";
import contract from "../_shared/contract.json" with { type: "json" };

export const FUNCTION_NAME = "messaging-ingest";
/** Platforms' deliveries are small; the contract's limit is far above any of them. */
export const MAX_WEBHOOK_BYTES = contract.limits.webhook_body_bytes.value;
/** An app's batch: the Python client keeps its batches 1 MiB below this contract limit. */
export const MAX_BATCH_BYTES = contract.limits.app_body_bytes.value;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Deps {
  store: Store;
  log?: (message: string) => void;
  /** the platforms' adapters (tests pass their own); the routes /{platform}/{id} are its keys */
  adapters?: Record<Platform, Adapter>;
  /** the app route's check of its caller before the body is read (caller.ts; tests: their own) */
  caller?: CallerCheck;
}

/** The body as bytes, refusing more than `limit` bytes whatever Content-Length says. */
export async function readBody(req: Request, limit: number): Promise<Bytes> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await req.body?.cancel();
    throw new HttpError("too_large", `body larger than ${limit} bytes`);
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
      throw new HttpError("too_large", `body larger than ${limit} bytes`);
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

/** A body no one reads: a small one (a declared length of at most DRAIN_BYTES) is read to
 * its end and dropped, so the connection stays usable for the next request (answering
 * before reading a small body made clients see it closed under load); a larger or
 * undeclared one is cancelled unread. */
export const DRAIN_BYTES = 16 * 1024;

async function discardBody(req: Request): Promise<void> {
  if (!req.body || req.bodyUsed) return;
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared <= DRAIN_BYTES) {
    await readBody(req, DRAIN_BYTES).catch(() => {});
  } else {
    await req.body.cancel().catch(() => {});
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

const BAD_SIGNATURE = "missing or wrong signature or token";

/**
 * What is wrong with the request's signature or token against connection c, or null.
 * raw null: before the body is read (the adapter's authorize: a token, a query signature,
 * a signature header's form); else the signature over the body (where the platform has one).
 */
function signatureProblem(adapter: Adapter, req: Request, url: URL, raw: Bytes | null, c: Connection): string | null {
  if (raw === null) return adapter.authorize(req, url, c);
  return adapter.verify && !adapter.verify(req, raw, c) ? "missing or wrong signature" : null;
}

/**
 * The connection the request is signed for: the cached one, or, when the signature or token
 * fails against it, the connection read again (a secret rotated a moment ago works at once;
 * store.refresh reads a connection again at most once a second). A failure is counted on
 * the connection as `bad_signature` and answered 401 naming the problem.
 */
async function authenticate(
  deps: Deps,
  adapter: Adapter,
  req: Request,
  url: URL,
  raw: Bytes | null,
  c: Connection,
): Promise<Connection> {
  const problem = signatureProblem(adapter, req, url, raw, c);
  if (problem === null) return c;
  // a database that cannot answer leaves the cached copy: the request is refused, not retried
  const fresh = await deps.store.refresh(c.id).catch((e) => {
    deps.log?.(`connection ${c.id}: could not read it again: ${e}`);
    return null;
  });
  if (fresh && fresh.platform === c.platform && signatureProblem(adapter, req, url, raw, fresh) === null) return fresh;
  await recordRefusal(deps, c.id, "bad_signature", `${STATUS.bad_signature} ${problem}`);
  throw new HttpError("bad_signature", problem);
}

/** Both checks (before and over the body) against connection c. */
function signedFor(adapter: Adapter, req: Request, url: URL, raw: Bytes, c: Connection): boolean {
  return signatureProblem(adapter, req, url, null, c) === null && signatureProblem(adapter, req, url, raw, c) === null;
}

/**
 * The delivery stored. The database answers stale_secrets when the secrets it was verified
 * against were rotated since they were cached: the connection is read again and the
 * request verified once more, so an old secret stops at once (401, counted).
 */
async function deliverVerified(
  deps: Deps,
  adapter: Adapter,
  req: Request,
  url: URL,
  raw: Bytes,
  connection: Connection,
  delivery: Delivery,
): Promise<DeliveryResult> {
  const result = await deps.store.deliver(connection, delivery);
  if (result.rejected?.kind !== "stale_secrets") return result;
  const fresh = await deps.store.refresh(connection.id, true);
  if (!fresh || fresh.platform !== connection.platform || !signedFor(adapter, req, url, raw, fresh)) {
    await recordRefusal(deps, connection.id, "bad_signature", `${STATUS.bad_signature} ${BAD_SIGNATURE}`);
    throw new HttpError("bad_signature", BAD_SIGNATURE);
  }
  const again = await deps.store.deliver(fresh, delivery);
  if (again.rejected?.kind === "stale_secrets") {
    throw new StoreError("the connection's secrets changed during the delivery", true);
  }
  return again;
}

async function webhook(
  deps: Deps,
  req: Request,
  url: URL,
  adapter: Adapter,
  platform: string,
  id: string,
  live: LiveIds | null,
): Promise<Response> {
  try {
    return await webhookInner(deps, req, url, adapter, platform, id, live);
  } finally {
    // a refusal before the body was read: it is never read (no-op once consumed)
    if (!req.bodyUsed) await discardBody(req);
  }
}

async function webhookInner(
  deps: Deps,
  req: Request,
  url: URL,
  adapter: Adapter,
  platform: string,
  id: string,
  live: LiveIds | null,
): Promise<Response> {
  if (req.method !== "POST" && !(req.method === "GET" && acceptsGet(adapter))) {
    throw new HttpError("wrong_method", `${req.method} is not accepted here`);
  }
  const cid = id.toLowerCase();
  const known = UUID.test(id) && (live === null || await live.has(cid));
  let connection = known ? await deps.store.connection(cid) : null;
  if (!connection || connection.platform !== platform) throw new HttpError("unknown_connection", "no such connection");

  if (req.method === "GET" && adapter.handshake) {
    // subscription checks are rare: read the connection again (at most once a second), so
    // a rotated verify token applies at once here too
    const fresh = await deps.store.refresh(connection.id);
    if (fresh && fresh.platform === platform) connection = fresh;
    if (adapter.handshake.signed) connection = await authenticate(deps, adapter, req, url, null, connection);
    const answer = adapter.handshake.answer(url, connection);
    if (answer.status === STATUS.wrong_verify_token) {
      await recordRefusal(deps, connection.id, "wrong_verify_token", `${STATUS.wrong_verify_token} wrong verify token`);
    }
    return answer;
  }

  connection = await authenticate(deps, adapter, req, url, null, connection);
  const raw = await readBody(req, MAX_WEBHOOK_BYTES);
  connection = await authenticate(deps, adapter, req, url, raw, connection);
  // from here on the body is the platform's: refusals and failures are recorded on the connection
  let delivery: Delivery;
  try {
    delivery = cleanDelivery(adapter.map(raw, connection));
    // the kinds kept as other because the mapping does not know them: counted on the connection
    countUnknownMessages(delivery);
  } catch (e) {
    // a RangeError: the mapping recursed into a value nested too deep (outside any one item)
    const shape = e instanceof RangeError ? new ShapeError("body: nested too deep to read") : e;
    if (shape instanceof ShapeError || shape instanceof XmlError) {
      await recordRefusal(deps, connection.id, "bad_body", `${STATUS.bad_body} ${shape.message}`);
      throw new HttpError("bad_body", shape.message);
    }
    throw e;
  }
  if (adapter.replayGuard) delivery.replayGuard = adapter.replayGuard(url, raw);
  let result: DeliveryResult;
  try {
    result = await deliverVerified(deps, adapter, req, url, raw, connection, delivery);
  } catch (e) {
    if (e instanceof HttpError) throw e;
    const err = e instanceof StoreError ? e : new StoreError(String(e), true);
    if (err.kind === "connection_unknown") throw new HttpError("unknown_connection", "no such connection");
    if (err.retryable) {
      await recordFailure(deps, connection.id, err.message);
      throw new HttpError("database_unavailable", "the database could not store the delivery; send it again");
    }
    // a refusal of the whole delivery that sending it again cannot change (in words that
    // name no internal table or constraint: publicReason)
    deps.log?.(`connection ${connection.id}: ${err.message}`);
    const reason = publicReason(err.message, err.code, err.kind);
    await recordRefusal(deps, connection.id, "refused", reason);
    return adapter.answer(STATUS.refused, { error: reason, code: err.code, kind: err.kind ?? "refused" });
  }
  if (result.rejected?.kind === "paused") {
    // stored nothing; 200 is what makes every platform stop retrying
    return adapter.answer(STATUS.paused, {
      ok: true,
      stored: false,
      status: result.rejected.status,
      reason: result.rejected.reason,
    });
  }
  if (result.rejected?.kind === "replay") throw new HttpError("replayed", "nonce: already used with another body");
  // an item the store refused names its SQLSTATE; the function's own refusals carry none
  const refused = (result.refused ?? []).map((r) =>
    r.code === undefined ? r : { ...r, reason: publicReason(r.reason, r.code, undefined) }
  );
  result.refused = refused;
  if (refused.length > 0 && (result.accepted ?? 0) === 0) {
    // nothing in the delivery could be stored, and a retry cannot change that: final
    const mismatch = refused.every((r) => r.kind === "account_mismatch");
    return adapter.answer(mismatch ? STATUS.other_account : STATUS.refused, {
      error: mismatch
        ? "the delivery is for another account than this connection's"
        : "nothing in the delivery could be stored",
      refused,
    });
  }
  return adapter.answer(STATUS.stored, { ok: true, ...result });
}

/** A failure the platform retries (503): the connection's status becomes error. */
async function recordFailure(deps: Deps, connectionId: string, message: string): Promise<void> {
  deps.log?.(`connection ${connectionId}: failed: ${message}`);
  try {
    await deps.store.recordFailure(connectionId, message, false);
  } catch (e) {
    deps.log?.(`connection ${connectionId}: could not record the failure: ${e}`);
  }
}

/** A refusal before the store took the delivery, counted on the connection by its reason. */
async function recordRefusal(deps: Deps, connectionId: string, reason: string, message: string): Promise<void> {
  // a flood of bad signatures is not a flood of log lines: those are only counted
  if (reason !== "bad_signature") deps.log?.(`connection ${connectionId}: refused (${reason}): ${message}`);
  try {
    await deps.store.recordRefusal(connectionId, reason, message);
  } catch (e) {
    deps.log?.(`connection ${connectionId}: could not record the refusal: ${e}`);
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
    if (e instanceof ShapeError) return json(STATUS.bad_body, { error: e.message });
    throw e;
  });
  for (const [k, v] of Object.entries(CORS)) res.headers.set(k, v);
  return res;
}

async function appBatchInner(deps: Deps, req: Request): Promise<Response> {
  if (req.method === "OPTIONS") return new Response(null, { status: STATUS.preflight });
  if (req.method !== "POST") throw new HttpError("wrong_method", `${req.method} is not accepted here`);
  const authorization = req.headers.get("authorization");
  if (!authorization || !/^Bearer\s+\S+$/i.test(authorization)) {
    await discardBody(req);
    throw new HttpError("no_bearer", "Authorization: Bearer <user token or service key> required");
  }
  // the token is checked before a byte of the body is read (caller.ts)
  const problem = deps.caller ? await deps.caller(authorization) : null;
  if (problem !== null) {
    await discardBody(req);
    throw new HttpError("bad_token", problem);
  }
  const payload = parseJson(await readBody(req, MAX_BATCH_BYTES));
  const { status, body } = await deps.store.ingestAsCaller(authorization, payload);
  return json(status, body);
}

export function createHandler(deps: Deps | (() => Deps)): (req: Request) => Promise<Response> {
  let resolved: Deps | undefined = typeof deps === "function" ? undefined : deps;
  let live: LiveIds | null | undefined;
  const handle = async (req: Request) => {
    resolved ??= (deps as () => Deps)();
    if (live === undefined) {
      const store = resolved.store;
      const log = resolved.log;
      live = store.connectionIds
        ? new LiveIds(
          () => store.connectionIds!(),
          undefined,
          undefined,
          undefined,
          (e) => log?.(`connection ids: ${e}`),
        )
        : null;
    }
    const url = new URL(req.url);
    const parts = route(url);
    try {
      if (parts === null) throw new HttpError("unknown_route", "no such function");
      if (parts.length === 0) return await appBatch(resolved, req);
      const adapters: Record<string, Adapter> = resolved.adapters ?? ADAPTERS;
      if (parts.length === 2 && Object.hasOwn(adapters, parts[0])) {
        return await webhook(resolved, req, url, adapters[parts[0]], parts[0], parts[1], live);
      }
      throw new HttpError("unknown_route", "no such route");
    } catch (e) {
      if (e instanceof HttpError) return json(e.status, { error: e.message });
      if (e instanceof ShapeError) return json(STATUS.bad_body, { error: e.message });
      if (e instanceof StoreError) {
        resolved.log?.(e.message);
        return json(e.retryable ? STATUS.database_unavailable : STATUS.refused, {
          error: e.retryable ? "the database is unavailable" : publicReason(e.message, e.code, e.kind),
        });
      }
      resolved.log?.(`unexpected: ${(e as Error).stack ?? e}`);
      return json(STATUS.internal_error, { error: "internal error" });
    }
  };
  return async (req: Request) => {
    const res = await handle(req);
    for (const [k, v] of Object.entries(NOSNIFF)) res.headers.set(k, v);
    return res;
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
      refreshSeconds: Number(Deno.env.get("MESSAGING_CONNECTION_REFRESH_SECONDS") ?? "1"),
      refusalFlushSeconds: Number(Deno.env.get("MESSAGING_REFUSAL_FLUSH_SECONDS") ?? "1"),
    }),
    caller: callerCheck({
      url: env("SUPABASE_URL"),
      anonKey: env("SUPABASE_ANON_KEY"),
      jwtSecret: Deno.env.get("SUPABASE_JWT_SECRET") || undefined,
    }),
    log: (m) => console.error(`[messaging-ingest] ${m}`),
  };
});
