// An edited message's earlier versions and a deleted message's kept text, read from its
// metadata as the store writes them (docs/contract.md, "Edits and deletes"): versions is
// [{content, at}] oldest first, the newest 20 kept, versions_dropped counting older ones.
// Never throws: anything malformed reads as no versions.
import type { ChatMessage, MessageMetadata } from "../types/messaging";

export interface MessageVersion {
  content: string | null;
  /** ISO 8601: when this text was written (the message's time, or the edit's). */
  at: string;
}

export interface MessageVersions {
  versions: MessageVersion[];
  /** Earlier versions past the cap that the store no longer keeps. */
  dropped: number;
}

export function readVersions(metadata: MessageMetadata | null | undefined): MessageVersions {
  const raw = metadata?.versions;
  const versions: MessageVersion[] = [];
  if (Array.isArray(raw)) {
    for (const v of raw as unknown[]) {
      if (!v || typeof v !== "object") continue;
      const { content, at } = v as { content?: unknown; at?: unknown };
      if (typeof at !== "string") continue;
      versions.push({ content: typeof content === "string" ? content : null, at });
    }
  }
  const d = metadata?.versions_dropped;
  return { versions, dropped: typeof d === "number" && d > 0 ? Math.floor(d) : 0 };
}

/**
 * The text a deleted message kept (its owner keeps deleted text), or null. An import's
 * tombstone ("This message was deleted") has no deleted_at and never counts as kept text.
 */
export function keptDeletedText(m: ChatMessage): string | null {
  const md = m.metadata;
  if (!md?.deleted || typeof md.deleted_at !== "string") return null;
  return m.content && m.content.trim() ? m.content : null;
}
