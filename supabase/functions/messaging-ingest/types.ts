// The shapes the platform modules produce: ingest_messages messages plus updates of
// stored messages (statuses, reactions, deletions), as public.ingest_webhook_delivery takes them.

import type { Database } from "../_shared/database.ts";

// The vocabulary is defined once, as enum types in the database; the generated types
// (`make web-types` writes ../_shared/database.ts) carry it here.
type Enums = Database["public"]["Enums"];
export type Platform = Enums["messaging_platform"];
export type MessageType = Enums["message_type"];

// Type aliases rather than interfaces: an alias has an implicit index signature, so the
// compiler can compare these shapes with the generated `Json` of the RPCs' jsonb payload.

/** One message of the ingest_messages payload (docs/contract.md; the rules: _shared/contract.json). */
export type IngestMessage = {
  platform: Platform;
  external_conversation_id: string;
  participant_identifier?: string;
  participant_name?: string;
  conversation_type?: Enums["conversation_type"];
  id: string;
  direction: Enums["message_direction"];
  type: MessageType;
  content: string | null;
  media_url?: string;
  sent_at: string;
  edited_at?: string;
  sender_identifier?: string;
  sender_name?: string;
  reply_to_id?: string;
  metadata?: Record<string, unknown>;
  /** the other party's ids by kind (participant_ids.ts): aliases of a direct conversation */
  participant_ids?: ParticipantIds;
};

/** Identifier kind (the store's identifier_kinds) -> one value or several. */
export type ParticipantIds = Record<string, string | string[]>;

type UpdateBase = {
  platform: Platform;
  external_conversation_id: string;
  /** the id of the stored message the update is about */
  id: string;
  /** ISO 8601 time of the update */
  at: string;
  /** a status's customer ids, when it carries more than one kind: they meet (identity aliases) */
  participant_ids?: ParticipantIds;
};

export type StatusUpdate = UpdateBase & {
  kind: "status";
  /** the contract's delivery_statuses; played: a voice message listened to (WhatsApp) */
  status: "sent" | "delivered" | "read" | "failed" | "played";
  error?: Record<string, unknown>;
  /**
   * the status can only be of a message the business sent (WhatsApp's): while its message is
   * not stored, the thread shows a placeholder ("sent from another tool")
   */
  placeholder?: true;
};

export type ReactionUpdate = UpdateBase & {
  kind: "reaction";
  reactor: string;
  /** null: the reaction was removed */
  emoji: string | null;
};

export type DeleteUpdate = UpdateBase & {
  kind: "delete";
};

/** A poll's message named by conversation and id, or (Telegram) by the poll id alone. */
type PollRef =
  | (UpdateBase & { poll_id?: undefined })
  | (Omit<UpdateBase, "external_conversation_id" | "id"> & {
    poll_id: string;
    external_conversation_id?: undefined;
    id?: undefined;
  });

/** A voter's choice (0-based option indexes; empty: the vote taken back), newest per voter wins. */
export type VoteUpdate = PollRef & {
  kind: "vote";
  voter: string;
  options: number[];
};

/** The poll's later state as the platform counts it: options with votes, total, closed. */
export type PollUpdate = PollRef & {
  kind: "poll";
  poll: { options?: { text: string; votes: number }[]; total_votes?: number; closed?: boolean };
};

export type MessageUpdate = StatusUpdate | ReactionUpdate | DeleteUpdate | VoteUpdate | PollUpdate;

/**
 * A part of a delivery the function refuses for good (a retry cannot change it): counted on
 * the connection with the store's own refusals. kind: account_mismatch (another account's
 * delivery), invalid_shape (an item the function cannot map), invalid_message /
 * invalid_update (a mapped message or update nested deeper than the contract allows:
 * clean.ts; the store's kinds for what it refuses itself).
 */
export type Refusal = {
  path: string;
  kind: "account_mismatch" | "invalid_shape" | "invalid_message" | "invalid_update";
  reason: string;
  id?: string;
};

/** One chunk of WhatsApp's history backfill: its phase (0-2), order and progress (percent). */
export type HistoryChunk = { phase: number; chunk_order?: number; progress?: number; at: string };

/** A business-app contact change (WhatsApp smb_app_state_sync): the business's name for a number. */
export type ContactName = {
  identifier: string;
  name?: string;
  first_name?: string;
  action: "add" | "edit" | "remove";
  at: string;
};

/**
 * What a delivery says of the connection itself (connection_state of
 * ingest_webhook_delivery, 21_connection_state.sql); absent when it says nothing.
 */
export type ConnectionState = {
  /** kinds and update types the mapping does not know, by the platform's name: counts */
  unknown_kinds?: Record<string, number>;
  /** WhatsApp history backfill: the chunks seen, and an error (the business declined sharing) */
  history?: { chunks: HistoryChunk[]; error?: Record<string, unknown> };
  /** Telegram business connection: enabled, can reply */
  business?: { id?: string; enabled: boolean; can_reply: boolean; at: string; user?: string };
  contacts?: ContactName[];
};

/** What one webhook delivery asks the store to do. */
export interface Delivery {
  messages: IngestMessage[];
  updates: MessageUpdate[];
  /** what the delivery says of the connection (history progress, business state, unknown kinds, contacts) */
  state?: ConnectionState;
  /** items refused before the database; counted on the connection */
  refused?: Refusal[];
  /** WeChat: the nonce of the signed query string and the SHA-256 of the body */
  replayGuard?: { nonce: string; digest: string };
}

/**
 * Runs the mapping of one item; a ShapeError refuses that item alone, and so does a
 * RangeError (the mapping recursed into a value nested too deep, e.g. a template string of
 * a 3,000-deep array), so one hostile item never costs the others.
 */
export function mapItem(refused: Refusal[], path: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof RangeError) {
      refused.push({ path, kind: "invalid_shape", reason: `${path}: nested too deep to read` });
      return;
    }
    if (!(e instanceof ShapeError)) throw e;
    refused.push({ path, kind: "invalid_shape", reason: e.message });
  }
}

/** A body that is not the platform's shape: answered with 400. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The object at `path`, or a ShapeError naming the path. */
export function requireObject(v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) throw new ShapeError(`${path}: must be an object`);
  return v;
}

export function requireArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ShapeError(`${path}: must be an array`);
  return v;
}

/** A non-empty string (numbers are accepted and written as strings, as ids often are). */
export function requireString(v: unknown, path: string): string {
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v !== "string" || v === "") throw new ShapeError(`${path}: must be a non-empty string`);
  return v;
}

export function optionalString(v: unknown): string | undefined {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Epoch seconds (number or digit string) as an ISO 8601 UTC string. */
export function fromEpochSeconds(v: unknown, path: string): string {
  return fromEpoch(v, path, 1000);
}

/** Epoch milliseconds as an ISO 8601 UTC string. */
export function fromEpochMillis(v: unknown, path: string): string {
  return fromEpoch(v, path, 1);
}

function fromEpoch(v: unknown, path: string, scale: number): string {
  const n = typeof v === "string" && /^\d{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    throw new ShapeError(`${path}: must be an epoch time (integer), got ${JSON.stringify(v)?.slice(0, 40)}`);
  }
  const d = new Date(n * scale);
  if (Number.isNaN(d.getTime())) throw new ShapeError(`${path}: not a valid time`);
  return d.toISOString().replace(".000Z", "Z");
}

/** Drops keys whose value is undefined, so the payload carries only what was given. */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  return obj;
}

/**
 * A value written into text: scalars as they are, an array or object as "?" (a template
 * string of a deeply nested array recurses and overflows the stack).
 */
export function scalarText(v: unknown): string {
  return typeof v === "object" && v !== null ? "?" : String(v);
}
