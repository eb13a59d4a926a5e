// Errors in words: a PostgREST error (code, message, details, hint), an Auth error,
// a network failure, a timeout or anything else thrown becomes one readable sentence.

import contract from "@shared/contract.json" with { type: "json" };

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  details?: unknown;
  hint?: unknown;
  status?: unknown;
}

/** The contract's advice for each refusal kind (the kind is what the error's hint carries). */
const ADVICE = new Map<string, string>(contract.refusals.map((r) => [r.kind, r.advice]));

/** How long one API request may take before the screens say the API does not answer. */
export const REQUEST_TIMEOUT_MS = 10_000;

function messageOf(error: unknown): string {
  if (typeof error === "string") return error;
  const e = (error ?? {}) as ErrorLike;
  return typeof e.message === "string" && e.message ? e.message : String(error);
}

/**
 * A request that never got an answer, and why. The browser's own transport failures carry no
 * code: fetch() rejects with a TypeError in the browser's words ("Failed to fetch" in
 * Chromium, "NetworkError ..." in Firefox, "Load failed" in Safari) and AbortSignal.timeout()
 * with a TimeoutError, whose name postgrest-js folds into the message. This is the one place
 * that reads those words (tests/test_no_wording_branches.py allows exactly these lines).
 */
function transportFailure(error: unknown): "timeout" | "network" | null {
  const e = (error ?? {}) as ErrorLike;
  const message = messageOf(error);
  if (e.name === "TimeoutError" || /TimeoutError|signal timed out/.test(message)) return "timeout";
  if (/Failed to fetch|NetworkError|Load failed/.test(message)) return "network";
  return null;
}

/** True for a request that never got an answer (no server, refused, timed out). */
export function isNetworkError(error: unknown): boolean {
  return transportFailure(error) !== null;
}

export function describeError(error: unknown): string {
  if (error == null) return "Unknown error";
  if (typeof error === "string") return error;
  const e = error as ErrorLike;
  const message = messageOf(error);
  if (transportFailure(error) === "timeout") {
    return `The API did not answer within ${REQUEST_TIMEOUT_MS / 1000} seconds. Check that it is running, then try again.`;
  }
  if (isNetworkError(error)) {
    return "Could not reach the API (the network request failed). Check that it is running, then try again.";
  }
  // a gateway's own error page (the API behind it is down): no HTML in the screen
  if (/^\s*<(!doctype|html)/i.test(message)) {
    const status = /\b(50[0-9])\b/.exec(message)?.[1];
    return `The API is not answering${status ? ` (HTTP ${status} from its gateway)` : ""}. Check that it is running, then try again.`;
  }
  const parts = [message];
  if (typeof e.details === "string" && e.details) parts.push(e.details);
  // the store's refusals carry their kind in the hint: show the contract's advice for it
  if (typeof e.hint === "string" && e.hint) parts.push(ADVICE.get(e.hint) ?? `Hint: ${e.hint}`);
  const code = typeof e.code === "string" && e.code ? e.code : null;
  return parts.join(" — ") + (code ? ` (${code})` : "");
}

/** Throws a supabase-js `{ error }` so TanStack Query sees a failure. */
export function raise(error: unknown): never {
  if (error instanceof Error) throw error;
  const err = new Error(describeError(error));
  Object.assign(err, error);
  throw err;
}

/** The refusal kind of a 429: more requests of this user at once than the database runs. */
const TOO_MANY_REQUESTS = "too_many_requests";

/** How long the database asks a refused request to wait (its Retry-After), in ms. */
export const RETRY_AFTER_MS = contract.limits.retry_after_seconds.value * 1000;

/** How many times the screens send again a request refused with 429 before showing it. */
export const TOO_MANY_TRIES = 4;

/** True for a 429 of the store: nothing ran, the same request may simply be sent again. */
export function isTooManyRequests(error: unknown): boolean {
  const e = (error ?? {}) as ErrorLike;
  return e.hint === TOO_MANY_REQUESTS;
}

/**
 * TanStack Query's retry rule: a 429 up to TOO_MANY_TRIES times (it ran nothing), one retry
 * for another server error, none when nothing answers.
 */
export function retryOnce(failureCount: number, error: unknown): boolean {
  if (isTooManyRequests(error)) return failureCount < TOO_MANY_TRIES;
  return failureCount < 1 && !isNetworkError(error);
}

/** Mutations: only a 429 is sent again (it ran nothing); anything else is shown at once. */
export function retryTooMany(failureCount: number, error: unknown): boolean {
  return isTooManyRequests(error) && failureCount < TOO_MANY_TRIES;
}

/**
 * TanStack Query's wait before a retry: after a 429 at least the Retry-After, doubling with
 * each try and spread a little (so a user's tabs do not all come back at once); otherwise
 * TanStack's own doubling from a second, at most 30 s.
 */
export function retryDelay(failureCount: number, error: unknown, spread: number = Math.random()): number {
  if (isTooManyRequests(error)) {
    return Math.round(RETRY_AFTER_MS * 2 ** Math.max(0, failureCount - 1) * (1 + 0.25 * spread));
  }
  return Math.min(1000 * 2 ** failureCount, 30_000);
}

/**
 * supabase-js's fetch with a deadline: a request with no answer after REQUEST_TIMEOUT_MS
 * fails with a TimeoutError instead of waiting for the browser's own minutes-long limit.
 */
export const fetchWithTimeout: typeof fetch = (input, init) => {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  return fetch(input, { ...init, signal });
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a value that can be a row id (a uuid): anything else names no row. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
