import type { ThreadAnchor } from "../types/messaging";

// The app's URLs, in one place: a CRM adopting the components passes its own.
export function threadHref(conversationId: string, anchor?: ThreadAnchor): string {
  const base = `/inbox/${encodeURIComponent(conversationId)}`;
  if (!anchor) return base;
  const q = new URLSearchParams({ msg: anchor.id, at: anchor.sent_at });
  return `${base}?${q.toString()}`;
}

/** The value of `?jump=` that opens a thread at its first message. */
export const JUMP_START = "start";

/** A thread opened at its first message (null) or at the first message on or after a time. */
export function threadJumpHref(conversationId: string, at: string | null): string {
  const q = new URLSearchParams({ jump: at ?? JUMP_START });
  return `/inbox/${encodeURIComponent(conversationId)}?${q.toString()}`;
}

export function personHref(personId: string): string {
  return `/people/${encodeURIComponent(personId)}`;
}

/** The connections page with one connection picked out (scrolled to, its conversations listed). */
export function connectionHref(connectionId: string): string {
  return `/connections?${new URLSearchParams({ connection: connectionId }).toString()}`;
}
