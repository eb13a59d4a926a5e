// Errors in words: a PostgREST error (code, message, details, hint), an Auth error,
// a network failure or anything else thrown becomes one readable sentence.

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  details?: unknown;
  hint?: unknown;
  status?: unknown;
}

export function describeError(error: unknown): string {
  if (error == null) return "Unknown error";
  if (typeof error === "string") return error;
  const e = error as ErrorLike;
  const message = typeof e.message === "string" && e.message ? e.message : String(error);
  if (message === "Failed to fetch" || message.startsWith("TypeError: Failed to fetch")) {
    return "Could not reach the API (the network request failed).";
  }
  const parts = [message];
  if (typeof e.details === "string" && e.details) parts.push(e.details);
  if (typeof e.hint === "string" && e.hint) parts.push(`Hint: ${e.hint}`);
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
