// What the handler needs of a platform: one Adapter per value of the database's
// messaging_platform enum (adapters.ts holds them as a Record<Platform, Adapter>, so a
// platform added to the enum fails `deno check` until its adapter is there, whole). The
// handler drives any adapter the same way and names no platform:
//
//   GET   authorize where the handshake is signed (401) -> handshake (null: the platform
//         sends none, and GET is 405)
//   POST  authorize (401: nothing of the body read) -> the body read (at most the webhook
//         limit) -> verify, where the signature covers the body (401) -> map (400 on a
//         ShapeError / XmlError) -> replayGuard -> the store -> answer (the body the
//         platform expects, for every status it reads)

import type { Json } from "../_shared/database.ts";
import type { Bytes } from "./crypto.ts";
import type { Connection } from "./store.ts";
import { type Delivery, ShapeError } from "./types.ts";

/** WeChat's: the nonce of the signed query string and the SHA-256 of the body. */
export type ReplayGuard = NonNullable<Delivery["replayGuard"]>;

/** The answer to the platform's GET subscription check. */
export interface Handshake {
  /** true: the GET carries the platform's signature, and `authorize` checks it first (401) */
  signed: boolean;
  /** the platform's expected answer (e.g. the challenge it sent) */
  answer(url: URL, connection: Connection): Response;
}

export interface Adapter {
  /**
   * What can be checked before the body is read: the platform's token or query signature
   * (within its replay window where it covers a timestamp), or the presence and form of a
   * signature that covers the body. null: go on; else the problem, answered 401 with
   * nothing of the body read. Never names a secret or how a given value differs from it.
   */
  authorize(req: Request, url: URL, connection: Connection): string | null;
  /**
   * Where the platform's signature covers the body: whether it matches the raw bytes
   * (checked before they are parsed; 401 when false). null: nothing covers the body.
   */
  verify: ((req: Request, raw: Bytes, connection: Connection) => boolean) | null;
  /** The authenticated body as a delivery bound to the connection's account (ShapeError: 400). */
  map(raw: Bytes, connection: Connection): Delivery;
  /** The GET subscription check; null: the platform sends none (GET is then 405, POST only). */
  handshake: Handshake | null;
  /** The platform's answer for a status and the function's JSON body. */
  answer(status: number, body: Record<string, unknown>): Response;
  /**
   * What the store keeps to refuse a replayed delivery (the platform's signature does not
   * cover the body); null: the platform's signature covers the body, nothing to keep.
   */
  replayGuard: ((url: URL, raw: Bytes) => ReplayGuard) | null;
}

/** True when GET is a route of the platform's webhook. */
export function acceptsGet(adapter: Adapter): boolean {
  return adapter.handshake !== null;
}

export function decodeUtf8(raw: Bytes): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new ShapeError("body: not UTF-8 text");
  }
}

/** The body as JSON (`Json`, the generated type of a jsonb argument); ShapeError when it is not. */
export function parseJson(raw: Bytes): Json {
  const s = decodeUtf8(raw);
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new ShapeError(`body: not JSON (${(e as Error).message.slice(0, 80)})`);
  }
}
