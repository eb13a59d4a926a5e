// Who calls the app route (POST /), decided from the Authorization header alone, before a
// byte of the body is read: an unauthenticated 8 MiB body costs nothing but its headers.
//
// The token must be a JWT of the project, unexpired, for a role that may write messages
// (`authenticated` or `service_role`; `anon` may call nothing of the store). How its
// signature is checked:
//
// * with the project's JWT secret in the function's environment (SUPABASE_JWT_SECRET; an
//   HS256 project, and the local stack): here, with an HMAC, no request;
// * otherwise (a hosted project whose tokens are signed with asymmetric keys, or no secret
//   given): by PostgREST, with one small authenticated read (`messaging_connections`,
//   `limit=0`) carrying the token; it verifies the signature and expiry as it will for the
//   batch. The answer is kept per token (a digest of it) until the token expires, at most
//   CACHE_SECONDS; a refused token is remembered REFUSED_SECONDS.
//
// Anything not shaped like a JWT (or one of Supabase's `sb_secret_` keys) is refused here
// without a request.

import { fromBase64Url, hs256, sha256Hex, timingSafeEqual, toBytes } from "./crypto.ts";
import { StoreError } from "./store.ts";

/** null: the caller may go on; else what is wrong with the token (the 401's message). */
export type CallerCheck = (authorization: string) => Promise<string | null>;

const ROLES = new Set(["authenticated", "service_role"]);
const CACHE_SECONDS = 300;
const REFUSED_SECONDS = 30;
const MAX_CACHED = 10_000;
/** Longer tokens are refused unread (Supabase's are well under 2 KB). */
const MAX_TOKEN_CHARS = 8192;

interface Claims {
  alg?: unknown;
  role?: unknown;
  exp?: unknown;
}

/** The token of `Authorization: Bearer <token>`, or null. */
export function bearerToken(authorization: string | null): string | null {
  const m = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return m ? m[1] : null;
}

function decodePart(part: string): Record<string, unknown> | null {
  const bytes = fromBase64Url(part);
  if (!bytes) return null;
  try {
    const v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** Header and claims of a JWT-shaped token (not yet trusted), or a reason it is none. */
function parseJwt(token: string): { header: Claims; claims: Claims; parts: string[] } | string {
  const parts = token.split(".");
  if (parts.length !== 3) return "the bearer token is not a JWT";
  const header = decodePart(parts[0]);
  const claims = decodePart(parts[1]);
  if (!header || !claims) return "the bearer token is not a JWT";
  return { header, claims, parts };
}

/** What the claims allow, once the signature is known good: null or the problem. */
export function claimsProblem(claims: Claims, nowSeconds: number): string | null {
  if (claims.exp !== undefined && !(typeof claims.exp === "number" && claims.exp > nowSeconds)) {
    return "the bearer token has expired";
  }
  if (typeof claims.role !== "string" || !ROLES.has(claims.role)) {
    return "the bearer token's role may not write messages (a signed-in user's token or the service key is required)";
  }
  return null;
}

export interface CallerOptions {
  /** the project's JWT secret (HS256), when the function has it */
  jwtSecret?: string;
  /** PostgREST's base URL (SUPABASE_URL) and the anon key, for the check by request */
  url: string;
  anonKey: string;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * The app route's check. `checkByRequest` answers for tokens it cannot verify itself: true
 * when PostgREST took the token, false when it refused it (401/403); it throws a retryable
 * StoreError when PostgREST could not answer (the caller gets 503).
 */
export function callerCheck(opts: CallerOptions): CallerCheck {
  const now = opts.now ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  const known = new Map<string, { ok: boolean; until: number }>();
  const asking = new Map<string, Promise<boolean>>();

  async function byRequest(token: string): Promise<boolean> {
    let res: Response;
    try {
      res = await doFetch(`${opts.url.replace(/\/$/, "")}/rest/v1/messaging_connections?select=id&limit=0`, {
        headers: { apikey: opts.anonKey, authorization: `Bearer ${token}` },
      });
    } catch (e) {
      throw new StoreError(`the token could not be checked: ${e}`, true);
    }
    await res.body?.cancel();
    if (res.status === 200 || res.status === 206) return true;
    if (res.status === 401 || res.status === 403) return false;
    throw new StoreError(`the token could not be checked: PostgREST answered ${res.status}`, true);
  }

  function remember(key: string, ok: boolean, until: number): void {
    if (known.size >= MAX_CACHED) known.delete(known.keys().next().value as string);
    known.set(key, { ok, until });
  }

  return async (authorization) => {
    const token = bearerToken(authorization);
    if (!token) return "Authorization: Bearer <user token or service key> required";
    if (token.length > MAX_TOKEN_CHARS) return "the bearer token is too long";
    const nowMs = now();
    const jwt = parseJwt(token);
    if (typeof jwt === "string") {
      // Supabase's opaque secret keys are checked by PostgREST; anything else is no token of ours
      if (!token.startsWith("sb_secret_")) return jwt;
    } else {
      // the claims first: an expired token or an anon key is refused without any signature check
      const problem = claimsProblem(jwt.claims, nowMs / 1000);
      if (problem) return problem;
      if (opts.jwtSecret && jwt.header.alg === "HS256") {
        const given = fromBase64Url(jwt.parts[2]);
        const expected = hs256(opts.jwtSecret, `${jwt.parts[0]}.${jwt.parts[1]}`);
        return given && timingSafeEqual(given, expected) ? null : "the bearer token's signature is not this project's";
      }
    }
    const key = sha256Hex(toBytes(token));
    const hit = known.get(key);
    if (hit && hit.until > nowMs) return hit.ok ? null : "the bearer token was refused by the API";
    // one request per token however many of its calls arrive at once (the gateway would
    // refuse a fifth at once with 429)
    let asked = asking.get(key);
    if (!asked) {
      asked = byRequest(token).finally(() => asking.delete(key));
      asking.set(key, asked);
    }
    const ok = await asked;
    const exp = typeof jwt !== "string" && typeof jwt.claims.exp === "number" ? jwt.claims.exp * 1000 : Infinity;
    remember(key, ok, ok ? Math.min(exp, nowMs + CACHE_SECONDS * 1000) : nowMs + REFUSED_SECONDS * 1000);
    return ok ? null : "the bearer token was refused by the API";
  };
}
