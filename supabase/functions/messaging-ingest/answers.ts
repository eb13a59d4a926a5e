// Every HTTP status the function answers, by what happened: one map, read by the handler and
// the adapters, and the table of docs/contract.md ("Live webhooks"), which answers_test.ts
// compares with it both ways.

/** What happened -> the status the function answers (docs/contract.md, the answer table). */
export const STATUS = {
  /** a webhook delivery stored (what could be: items refused alone are listed) */
  stored: 200,
  /** a paused or disconnected connection: nothing stored; 200 makes every platform stop retrying */
  paused: 200,
  /** a GET subscription check passed (WhatsApp hub.challenge, WeChat echostr) */
  handshake: 200,
  /** POST /: ingest_messages' answer, passed on */
  app_batch: 200,
  /** OPTIONS /: the CORS preflight of POST / */
  preflight: 204,
  /** a body that is not the platform's shape (or, on POST /, not JSON); a malformed WhatsApp GET */
  bad_body: 400,
  /** a missing or wrong signature or token */
  bad_signature: 401,
  /** a WeChat nonce already used with another body */
  replayed: 401,
  /** POST / without Authorization: Bearer */
  no_bearer: 401,
  /** POST / with a token that is not a valid, unexpired user or service token (checked before the body is read) */
  bad_token: 401,
  /** a wrong WhatsApp verify token on the GET handshake */
  wrong_verify_token: 403,
  /** every item of the delivery for another account than the connection's */
  other_account: 403,
  /** an unknown connection, or one of another platform */
  unknown_connection: 404,
  /** a path that is no route of the function */
  unknown_route: 404,
  /** a method the route does not take (GET where the platform has no handshake) */
  wrong_method: 405,
  /** a body over the route's cap */
  too_large: 413,
  /** the store refused the whole delivery, or every item of it: a retry cannot change that */
  refused: 422,
  /** an error of the function itself */
  internal_error: 500,
  /** the database failed in a way a retry can fix */
  database_unavailable: 503,
} as const;

export type AnswerKind = keyof typeof STATUS;

/** An answer the handler gives as `{"error": message}` JSON with the kind's status. */
export class HttpError extends Error {
  readonly status: number;
  constructor(readonly kind: AnswerKind, message: string) {
    super(message);
    this.status = STATUS[kind];
  }
}

/**
 * Headers of every answer: a browser must never guess another type than the one named (a
 * reflected `hub.challenge` or `echostr` is text, never HTML or script).
 */
export const NOSNIFF = { "x-content-type-options": "nosniff" } as const;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...NOSNIFF },
  });
}

/** A plain-text answer (WeChat's, and the reflected handshakes). */
export function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...NOSNIFF } });
}

/**
 * Whether a database error's words may be shown to the caller: the store's own refusals
 * (a kind in the hint, or their codes 22023, 42501, P0002) and PostgreSQL's data exceptions
 * (class 22: they name values) may;
 * other errors (an integrity constraint's violation, an undefined object, ...) name
 * internal tables and constraints, so only their SQLSTATE is answered.
 */
export function showable(code: string | undefined, kind: string | undefined): boolean {
  return kind !== undefined || (code !== undefined && /^(22|42501$|P0002$)/.test(code));
}

/** The words of a database error as the caller sees them (see `showable`). */
export function publicReason(message: string, code: string | undefined, kind: string | undefined): string {
  return showable(code, kind) ? message : `refused by the database (SQLSTATE ${code ?? "unknown"})`;
}
