// The database side of the function, through PostgREST (supabase-js) as Supabase's own
// functions do it: connections and their secrets via the service_role-only RPC
// webhook_connection, deliveries via ingest_webhook_delivery, failures via
// record_webhook_failure, and app batches via ingest_messages as the calling user.

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
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
}

/** A refusal or failure of the database. `retryable`: the platform should send again.
 * `kind`: the refusal kind the store names in the error's hint (the contract's refusals). */
export class StoreError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly code?: string, readonly kind?: string) {
    super(message);
    this.name = "StoreError";
  }
}

export interface Store {
  connection(id: string): Promise<Connection | null>;
  deliver(connection: Connection, delivery: Delivery): Promise<Record<string, unknown>>;
  recordFailure(connectionId: string, error: string): Promise<void>;
  /** ingest_messages with the caller's own Authorization: PostgREST's status and body. */
  ingestAsCaller(authorization: string, payload: unknown): Promise<{ status: number; body: unknown }>;
}

/** SQLSTATEs of a refusal that sending the same body again cannot change. */
const FINAL = /^(22|23|42|P0001$)/;

interface Rpc {
  data: unknown;
  error: { code?: string; message: string; details?: string | null; hint?: string | null } | null;
  status: number;
}

function raise(res: Rpc, what: string): never {
  const code = res.error?.code || undefined;
  const retryable = !(code && FINAL.test(code));
  const kind = res.error?.hint || undefined;
  throw new StoreError(`${what}: ${res.error?.message ?? `HTTP ${res.status}`}`, retryable, code, kind);
}

export interface StoreOptions {
  url: string;
  anonKey: string;
  serviceKey: string;
  /** how long a connection and its secrets are kept in memory (seconds; 0: not at all) */
  cacheSeconds?: number;
}

export function supabaseStore(opts: StoreOptions): Store {
  const clientOptions = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } };
  const service: SupabaseClient = createClient(opts.url, opts.serviceKey, clientOptions);
  const ttl = (opts.cacheSeconds ?? 30) * 1000;
  const cache = new Map<string, { connection: Connection; until: number }>();

  return {
    async connection(id) {
      const hit = cache.get(id);
      if (hit && hit.until > Date.now()) return hit.connection;
      const res = (await service.rpc("webhook_connection", { connection_id: id })) as Rpc;
      if (res.error) raise(res, "webhook_connection");
      const connection = (res.data ?? null) as Connection | null;
      if (connection && ttl > 0) cache.set(id, { connection, until: Date.now() + ttl });
      else cache.delete(id);
      return connection;
    },

    async deliver(connection, delivery) {
      const res = (await service.rpc("ingest_webhook_delivery", {
        payload: { connection_id: connection.id, messages: delivery.messages, updates: delivery.updates },
      })) as Rpc;
      if (res.error) {
        if (res.error.hint === "connection_unknown") cache.delete(connection.id);
        raise(res, "ingest_webhook_delivery");
      }
      return res.data as Record<string, unknown>;
    },

    async recordFailure(connectionId, error) {
      const res = (await service.rpc("record_webhook_failure", { connection_id: connectionId, error })) as Rpc;
      if (res.error) raise(res, "record_webhook_failure");
    },

    async ingestAsCaller(authorization, payload) {
      const client = createClient(opts.url, opts.anonKey, {
        ...clientOptions,
        global: { headers: { Authorization: authorization } },
      });
      const res = (await client.rpc("ingest_messages", { payload })) as Rpc;
      if (res.error) {
        return { status: res.status || 502, body: res.error };
      }
      return { status: 200, body: res.data };
    },
  };
}
