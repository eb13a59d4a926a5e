// Signature and token checks over raw bytes, compared in constant time.

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
export async function safeEqualString(
  given: string | null | undefined,
  expected: string | null | undefined,
): Promise<boolean> {
  if (typeof given !== "string" || typeof expected !== "string" || expected === "") return false;
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", toBytes(given)),
    crypto.subtle.digest("SHA-256", toBytes(expected)),
  ]);
  return timingSafeEqual(new Uint8Array(a), new Uint8Array(b));
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

export async function hmacSha256Hex(secret: string, body: Bytes): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    toBytes(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(await crypto.subtle.sign("HMAC", key, body));
}

export async function sha1Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-1", toBytes(text)));
}

export async function sha256Hex(body: Bytes): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", body));
}
