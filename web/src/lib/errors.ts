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

/** TanStack Query's retry rule: one retry for a server error, none when nothing answers. */
export function retryOnce(failureCount: number, error: unknown): boolean {
  return failureCount < 1 && !isNetworkError(error);
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
