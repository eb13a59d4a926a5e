// Signature and token checks over raw bytes, compared in constant time.
//
// node:crypto (built into Deno and Supabase's edge runtime) rather than crypto.subtle: its
// HMAC and digests run synchronously on the request's thread, where every WebCrypto call
// is a promise settled on another thread (a third of the function's CPU per delivery in a
// --cpu-prof of the webhook bench).

import { createHash, createHmac } from "node:crypto";

const encoder = new TextEncoder();

export type Bytes = Uint8Array<ArrayBuffer>;

export function toBytes(s: string): Bytes {
  return encoder.encode(s) as Bytes;
}

/**
 * True when a and b hold the same bytes. The time taken depends only on the lengths
 * (public: a hex digest or a token's length), never on where the first difference is.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Constant-time comparison of two secrets: their SHA-256 digests are compared, so
 * neither the position of a difference nor the secret's length shows in the timing.
 * False when either is missing or empty.
 */
export function safeEqualString(
  given: string | null | undefined,
  expected: string | null | undefined,
): boolean {
  if (typeof given !== "string" || typeof expected !== "string" || expected === "") return false;
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

export function hmacSha256Hex(secret: string, body: Bytes): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

export function sha256Hex(body: Bytes): string {
  return createHash("sha256").update(body).digest("hex");
}

/** The bytes of a base64url string (no padding), or null when it is not one. */
export function fromBase64Url(s: string): Bytes | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)) as Bytes;
  } catch {
    return null;
  }
}

/** HMAC-SHA256 of a JWT's signing input, base64url without padding (HS256). */
export function hs256(secret: string, signingInput: string): Bytes {
  return createHmac("sha256", secret).update(signingInput, "utf8").digest() as unknown as Bytes;
}
