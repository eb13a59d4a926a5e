// What a delivery says of the connection itself, beside its messages and updates
// (ConnectionState; the store records it: 21_connection_state.sql). A kind or update type
// the mapping does not know is counted here by its platform name, never refused.

import type { ConnectionState, Delivery, IngestMessage } from "./types.ts";

/** The delivery's state, created on first use. */
export function stateOf(delivery: { state?: ConnectionState }): ConnectionState {
  delivery.state ??= {};
  return delivery.state;
}

/** Counts one unknown kind or update type (its platform name, at most 100 characters). */
export function countUnknown(delivery: { state?: ConnectionState }, kind: string): void {
  const state = stateOf(delivery);
  const counts = state.unknown_kinds ??= {};
  const key = kind.slice(0, 100);
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Counts the messages an adapter kept as `other` because it does not know their kind
 * (`metadata.unknown_kind`), by `metadata.platform_kind`.
 */
export function countUnknownMessages(delivery: Delivery): void {
  for (const m of delivery.messages) {
    if (m.type !== "other" || m.metadata?.unknown_kind !== true) continue;
    const kind = m.metadata.platform_kind;
    countUnknown(delivery, typeof kind === "string" && kind !== "" ? kind : "unknown");
  }
}

/** A message of WhatsApp's history backfill (the adapter marks it `metadata.history`). */
export function isHistory(m: IngestMessage): boolean {
  return m.metadata?.history !== undefined;
}
