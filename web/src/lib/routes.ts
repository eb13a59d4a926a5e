import type { ThreadAnchor } from "../types/messaging";

// The app's URLs, in one place: a CRM adopting the components passes its own.
export function threadHref(conversationId: string, anchor?: ThreadAnchor): string {
  const base = `/inbox/${encodeURIComponent(conversationId)}`;
  if (!anchor) return base;
  const q = new URLSearchParams({ msg: anchor.id, at: anchor.sent_at });
  return `${base}?${q.toString()}`;
}

export function personHref(personId: string): string {
  return `/people/${encodeURIComponent(personId)}`;
}
