// The database side of the function, through PostgREST (supabase-js) as Supabase's own
// functions do it: connections and their secrets via the service_role-only RPC
// webhook_connection, deliveries via ingest_webhook_delivery (or, for deliveries of one
// connection that arrive while its previous call runs, ingest_webhook_deliveries),
// failures via record_webhook_failure, refusals before the store via
// record_webhook_refusals (summed per connection, at most one write a second each), and
// app batches via ingest_messages as the calling user.
//
// Connections are cached (30 s). A rotation applies at once all the same: a signature that
// fails against the cached secrets reads the connection again (refresh, at most once a
// second per connection, so a flood of bad signatures is not a flood of lookups), and a
// delivery verified against replaced secrets is answered stale_secrets by the database,
// which compares the secrets_version it was verified against with the current one.

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { STATUS } from "./answers.ts";
import contract from "../_shared/contract.json" with { type: "json" };
import type { Database, Json } from "../_shared/database.ts";
import { isHistory } from "./connection_state.ts";
import type { Delivery, Platform } from "./types.ts";

export interface Secrets {
  app_secret?: string;
  verify_token?: string;
  secret_token?: string;
  token?: string;
}

export interface Connection {
  id: string;
  user_id: string;
  platform: Platform;
  account_identifier: string;
  status: string;
  secrets: Secrets;
  /** a digest of the secrets (webhook_connection): deliveries carry it, and the database
   * answers stale_secrets when the secrets changed since */
  secrets_version?: string | null;
}

/**
 * A refusal or failure of the database. `retryable`: sending the same again can succeed (the
 * platform should retry); `kind`: the machine-readable kind the SQL names in its hint
 * (`connection_unknown`, ...: the contract's refusal kinds).
 */
export class StoreError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly code?: string, readonly kind?: string) {
    super(message);
    this.name = "StoreError";
  }
}

/** One item of a delivery that was not stored, and why (from the function or the store). */
export interface Refused {
  path: string;
  kind: string;
  reason: string;
  code?: string;
  id?: string;
}

/** What ingest_webhook_delivery answers. */
export interface DeliveryResult {
  /** nothing may be stored: the connection is paused/disconnected, or a WeChat replay */
  rejected?: { kind: "paused" | "replay" | "stale_secrets"; status?: string; reason: string };
  inserted?: number;
  duplicates?: number;
  updated?: number;
  /** messages and updates taken (stored, or already stored) */
  accepted?: number;
  refused?: Refused[];
  [key: string]: unknown;
}

export interface Store {
  connection(id: string): Promise<Connection | null>;
  /**
   * The connection read again from the database (its secrets may have been rotated), and
   * cached. Null when it is gone, or when it was read again less than a second ago and
   * `force` is not set (the caller keeps its copy). Concurrent calls share one read.
   */
  refresh(id: string, force?: boolean): Promise<Connection | null>;
  deliver(connection: Connection, delivery: Delivery): Promise<DeliveryResult>;
  /** refused: a final refusal (counted); else a failure the platform retries (status error) */
  recordFailure(connectionId: string, error: string, refused: boolean): Promise<void>;
  /**
   * A delivery refused before the store took it (reason: bad_signature, wrong_verify_token,
   * bad_body, refused), counted on the connection. Summed per connection and written at
   * most once a second each: the first refusal of a quiet second is written before this
   * resolves, the others with the next write.
   */
  recordRefusal(connectionId: string, reason: string, error: string): Promise<void>;
  /** ingest_messages with the caller's own Authorization: PostgREST's status and body. */
  ingestAsCaller(authorization: string, payload: Json): Promise<{ status: number; body: unknown }>;
  /** The id of every connection (live_ids.ts keeps them); absent: every id is read alone. */
  connectionIds?(): Promise<string[]>;
}

/** Ids per page when the store reads every connection's id (a page is asked until one is empty). */
const ID_PAGE = 1000;

/**
 * SQLSTATE classes and PostgREST codes where the same request can succeed later: connection
 * (08), rollback: deadlock, serialization (40), resources (53), lock not available (55),
 * operator intervention: statement timeout, shutdown (57), system (58) and internal (XX)
 * errors; PostgREST's own connection (PGRST000-003) and schema cache (PGRST2xx) errors. No
 * code at all is a transport failure. Every other code is a refusal of the content.
 */
const RETRYABLE = /^(08|40|53|55|57|58|XX|PGRST00|PGRST2)/;

export function isRetryable(code: string | undefined): boolean {
  return !code || RETRYABLE.test(code);
}

/** The refusal kind the SQL names in the error's hint (the contract's `refusals`). */
export function errorKind(e: { hint?: string | null } | null): string | undefined {
  return e?.hint || undefined;
}

interface Rpc {
  data: unknown;
  error: { code?: string; message: string; details?: string | null; hint?: string | null } | null;
  status: number;
}

function storeError(res: Rpc, what: string): StoreError {
  const code = res.error?.code || undefined;
  return new StoreError(
    `${what}: ${res.error?.message ?? `HTTP ${res.status}`}`,
    isRetryable(code),
    code,
    errorKind(res.error),
  );
}

function raise(res: Rpc, what: string): never {
  throw storeError(res, what);
}

export interface StoreOptions {
  url: string;
  anonKey: string;
  serviceKey: string;
  /** how long a connection and its secrets are kept in memory (seconds; 0: not at all) */
  cacheSeconds?: number;
  /** how long an id that names no connection is answered 404 without asking (seconds) */
  unknownCacheSeconds?: number;
  /** a connection is read again on a failed signature at most once in this long (seconds) */
  refreshSeconds?: number;
  /** a connection's refusals are written at most once in this long (seconds) */
  refusalFlushSeconds?: number;
  /** the fetch supabase-js uses (tests) */
  fetch?: typeof fetch;
}

/** At most this many unknown ids are remembered (the oldest go first). */
const MAX_UNKNOWN = 10_000;

/** Most deliveries in one ingest_webhook_deliveries call (the contract's limit). */
export const MAX_BATCH_DELIVERIES = contract.limits.deliveries_per_call.value;
/** A batch stops growing at this many messages and updates (a delivery is never split). */
export const MAX_BATCH_ITEMS = 1000;

interface Waiting {
  delivery: Delivery;
  resolve: (result: DeliveryResult) => void;
  reject: (error: unknown) => void;
}

/**
 * One delivery as the store's RPCs take it (their `payload jsonb` is `Json` in the generated
 * types). Delivery's interfaces carry no index signature, so the compiler cannot see that
 * they are JSON; they are: the mappers build them from a parsed JSON or XML body, out of
 * strings, numbers, booleans, null, arrays and plain objects.
 */
function payloadOf(delivery: Delivery): { [key: string]: Json } {
  const payload: { [key: string]: Json } = {
    messages: delivery.messages as Json[],
    updates: delivery.updates as Json[],
    refused: (delivery.refused ?? []) as Json[],
    replay_guard: delivery.replayGuard ?? null,
  };
  // WhatsApp's history backfill goes apart: stored as history, read already (the store's
  // history_messages); the first chunk's phase names the coverage's phase
  const history = delivery.messages.find(isHistory);
  if (history) {
    payload.messages = delivery.messages.filter((m) => !isHistory(m)) as Json[];
    payload.history_messages = delivery.messages.filter(isHistory) as Json[];
    const phase = (history.metadata?.history as { phase?: unknown } | undefined)?.phase;
    if (typeof phase === "number" || typeof phase === "string") payload.history_phase = String(phase);
  }
  if (delivery.state && Object.keys(delivery.state).length > 0) payload.connection_state = delivery.state as Json;
  return payload;
}

/** Refusals of one connection waiting for their write. */
interface PendingRefusals {
  counts: Record<string, number>;
  reason: string;
  error: string;
  at: Date;
}

/** The secrets version a delivery was verified against, for the database to compare. */
function version(connection: Connection): { secrets_version?: string } {
  return connection.secrets_version ? { secrets_version: connection.secrets_version } : {};
}

function items(delivery: Delivery): number {
  return delivery.messages.length + delivery.updates.length;
}

export function supabaseStore(opts: StoreOptions): Store & { flushRefusals(): Promise<void> } {
  const global = opts.fetch ? { fetch: opts.fetch } : {};
  const clientOptions = {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global,
  };
  const service: SupabaseClient<Database> = createClient<Database>(opts.url, opts.serviceKey, clientOptions);
  const ttl = (opts.cacheSeconds ?? 30) * 1000;
  const unknownTtl = (opts.unknownCacheSeconds ?? 10) * 1000;
  const cache = new Map<string, { connection: Connection; until: number }>();
  // ids that named no connection: random ids would otherwise each cost a database lookup
  const unknown = new Map<string, number>();
  const refreshMs = (opts.refreshSeconds ?? 1) * 1000;
  const flushMs = (opts.refusalFlushSeconds ?? 1) * 1000;
  // per connection: when it was last read again, and the read in flight
  const refreshed = new Map<string, number>();
  const refreshing = new Map<string, Promise<Connection | null>>();
  // per connection: refusals not yet written, when the last write started, the next write
  const pending = new Map<string, PendingRefusals>();
  const flushed = new Map<string, number>();
  const flushing = new Set<string>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();

  async function lookup(id: string): Promise<Connection | null> {
    const res: Rpc = await service.rpc("webhook_connection", { connection_id: id });
    if (res.error) raise(res, "webhook_connection");
    const connection = (res.data ?? null) as Connection | null;
    if (connection && ttl > 0) cache.set(id, { connection, until: Date.now() + ttl });
    else cache.delete(id);
    if (!connection && unknownTtl > 0) {
      if (unknown.size >= MAX_UNKNOWN) unknown.delete(unknown.keys().next().value as string);
      unknown.set(id, Date.now() + unknownTtl);
    }
    return connection;
  }

  function schedule(id: string, wait: number): void {
    if (timers.has(id)) return;
    timers.set(
      id,
      setTimeout(() => {
        timers.delete(id);
        void flush(id);
      }, Math.max(0, wait)),
    );
  }

  async function flush(id: string): Promise<void> {
    const p = pending.get(id);
    if (!p || flushing.has(id)) return;
    pending.delete(id);
    flushed.delete(id);
    flushed.set(id, Date.now());
    if (flushed.size > MAX_UNKNOWN) flushed.delete(flushed.keys().next().value as string);
    flushing.add(id);
    try {
      const res: Rpc = await service.rpc("record_webhook_refusals", {
        connection_id: id,
        counts: p.counts,
        reason: p.reason,
        error: p.error,
        at: p.at.toISOString(),
      });
      if (res.error) throw storeError(res, "record_webhook_refusals");
    } catch (e) {
      // a failure a retry can fix keeps the counts for the next write; a refusal drops them
      if (!(e instanceof StoreError) || e.retryable) {
        const now = pending.get(id);
        if (now) {
          for (const [k, n] of Object.entries(p.counts)) now.counts[k] = (now.counts[k] ?? 0) + n;
        } else pending.set(id, p);
      }
      throw e;
    } finally {
      flushing.delete(id);
      if (pending.has(id)) schedule(id, (flushed.get(id) ?? 0) + flushMs - Date.now());
    }
  }

  // deliveries waiting per connection id: a connection has an entry while its call is in
  // flight (drain removes it once the queue is empty)
  const waiting = new Map<string, Waiting[]>();

  function settle(connection: Connection, result: DeliveryResult): DeliveryResult {
    // a paused connection: its status is read again next time; rotated secrets: read again
    if (result?.rejected?.kind === "paused" || result?.rejected?.kind === "stale_secrets") {
      cache.delete(connection.id);
    }
    return result;
  }

  /** The store's refusal of a delivery (or of the call) as a StoreError; an unknown
   * connection is dropped from the cache. */
  function refusal(connection: Connection, res: Rpc, what: string): StoreError {
    if (errorKind(res.error) === "connection_unknown") cache.delete(connection.id);
    return storeError(res, what);
  }

  async function deliverOne(connection: Connection, delivery: Delivery): Promise<DeliveryResult> {
    const res: Rpc = await service.rpc("ingest_webhook_delivery", {
      payload: { connection_id: connection.id, ...payloadOf(delivery), ...version(connection) },
    });
    if (res.error) throw refusal(connection, res, "ingest_webhook_delivery");
    return settle(connection, res.data as DeliveryResult);
  }

  async function deliverMany(connection: Connection, batch: Waiting[]): Promise<void> {
    const res: Rpc = await service.rpc("ingest_webhook_deliveries", {
      payload: {
        connection_id: connection.id,
        deliveries: batch.map((w) => ({ ...payloadOf(w.delivery), ...version(connection) })),
      },
    });
    if (res.error) throw refusal(connection, res, "ingest_webhook_deliveries");
    const results = ((res.data ?? {}) as { results?: (DeliveryResult & { error?: Rpc["error"] })[] }).results ?? [];
    if (results.length !== batch.length) {
      throw new StoreError(`ingest_webhook_deliveries: ${results.length} results for ${batch.length} deliveries`, true);
    }
    batch.forEach((w, i) => {
      const result = results[i];
      if (result.error) {
        w.reject(refusal(connection, { data: null, error: result.error, status: 200 }, "ingest_webhook_deliveries"));
      } else {
        w.resolve(settle(connection, result));
      }
    });
  }

  async function drain(connection: Connection, queue: Waiting[]): Promise<void> {
    try {
      while (queue.length > 0) {
        let take = 0;
        let total = 0;
        while (take < queue.length && take < MAX_BATCH_DELIVERIES) {
          total += items(queue[take].delivery);
          if (take > 0 && total > MAX_BATCH_ITEMS) break;
          take++;
        }
        const batch = queue.splice(0, take);
        try {
          if (batch.length === 1) batch[0].resolve(await deliverOne(connection, batch[0].delivery));
          else await deliverMany(connection, batch);
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      waiting.delete(connection.id);
    }
  }

  return {
    async connection(id) {
      const now = Date.now();
      const hit = cache.get(id);
      if (hit && hit.until > now) return hit.connection;
      const missing = unknown.get(id);
      if (missing !== undefined) {
        if (missing > now) return null;
        unknown.delete(id);
      }
      return await lookup(id);
    },

    refresh(id, force = false) {
      const inFlight = refreshing.get(id);
      if (inFlight) return inFlight;
      const now = Date.now();
      if (!force && (refreshed.get(id) ?? -Infinity) + refreshMs > now) return Promise.resolve(null);
      refreshed.set(id, now);
      if (refreshed.size > MAX_UNKNOWN) refreshed.delete(refreshed.keys().next().value as string);
      const read = lookup(id).finally(() => refreshing.delete(id));
      refreshing.set(id, read);
      return read;
    },

    deliver(connection, delivery) {
      // one call in flight per connection: a delivery to an idle connection goes at once,
      // alone; those arriving meanwhile wait and go together in the next call (one
      // request, transaction and commit for all of them, each stored as it would be alone)
      return new Promise<DeliveryResult>((resolve, reject) => {
        const queue = waiting.get(connection.id);
        if (queue) {
          queue.push({ delivery, resolve, reject });
        } else {
          const fresh = [{ delivery, resolve, reject }];
          waiting.set(connection.id, fresh);
          void drain(connection, fresh);
        }
      });
    },

    async recordFailure(connectionId, error, refused) {
      const res: Rpc = await service.rpc("record_webhook_failure", { connection_id: connectionId, error, refused });
      if (res.error) raise(res, "record_webhook_failure");
    },

    recordRefusal(connectionId, reason, error) {
      const p = pending.get(connectionId) ?? { counts: {}, reason, error, at: new Date() };
      p.counts[reason] = (p.counts[reason] ?? 0) + 1;
      p.reason = reason;
      p.error = error;
      p.at = new Date();
      pending.set(connectionId, p);
      if (timers.has(connectionId) || flushing.has(connectionId)) return Promise.resolve();
      const wait = (flushed.get(connectionId) ?? -Infinity) + flushMs - Date.now();
      if (wait <= 0) return flush(connectionId);
      schedule(connectionId, wait);
      return Promise.resolve();
    },

    /** Writes every connection's waiting refusals now (tests; a shutdown). */
    async flushRefusals() {
      for (const [id, t] of timers) {
        clearTimeout(t);
        timers.delete(id);
      }
      await Promise.allSettled([...pending.keys()].map((id) => flush(id)));
      for (const [id, t] of timers) {
        clearTimeout(t);
        timers.delete(id);
      }
    },

    async connectionIds() {
      // keyset pages until an empty one: whatever PostgREST's max-rows, no id is missed
      const ids: string[] = [];
      for (let last = "";;) {
        let query = service.from("messaging_connections").select("id").order("id").limit(ID_PAGE);
        if (last) query = query.gt("id", last);
        const res = await query;
        if (res.error) raise(res as Rpc, "messaging_connections");
        const page = (res.data ?? []).map((r) => r.id);
        if (page.length === 0) return ids;
        ids.push(...page);
        last = page[page.length - 1];
      }
    },

    async ingestAsCaller(authorization, payload) {
      const client = createClient<Database>(opts.url, opts.anonKey, {
        ...clientOptions,
        global: { ...global, headers: { Authorization: authorization } },
      });
      const res: Rpc = await client.rpc("ingest_messages", { payload });
      if (res.error) {
        return { status: res.status || 502, body: res.error };
      }
      return { status: STATUS.app_batch, body: res.data };
    },
  };
}
