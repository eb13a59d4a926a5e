import type { ChatMessage, MessageType } from "../types/messaging";

/** A search snippet split at its [[ ]] markers: odd parts are the matches. */
export function snippetParts(snippet: string): { text: string; match: boolean }[] {
  return snippet
    .split(/\[\[(.*?)\]\]/s)
    .map((text, i) => ({ text, match: i % 2 === 1 }))
    .filter((p) => p.text !== "");
}

/** What a person calls each kind of message that is not plain text. */
export const MESSAGE_KIND_LABELS: Record<Exclude<MessageType, "text">, string> = {
  image: "Photo",
  video: "Video",
  audio: "Audio",
  voice: "Voice message",
  document: "Document",
  sticker: "Sticker",
  location: "Location",
  contact: "Contact card",
  system: "Notice",
  other: "Attachment",
};

/** The last part of a URL's path, decoded (a media file's name), without its query. */
function fileNameOfUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  const path = url.split(/[?#]/, 1)[0] ?? "";
  const last = path.split("/").filter(Boolean).pop();
  if (!last || /^https?:$/.test(last)) return null;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * The label of a message that is not plain text: its kind and, where known, its file
 * name (the metadata's file_name, else the media URL's last part): "Document · invoice.pdf".
 * Null for a text message.
 */
export function mediaLabel(m: Pick<ChatMessage, "type" | "media_url" | "metadata">): string | null {
  if (m.type === "text") return null;
  const kind = MESSAGE_KIND_LABELS[m.type] ?? MESSAGE_KIND_LABELS.other;
  const name = (typeof m.metadata?.file_name === "string" && m.metadata.file_name) || fileNameOfUrl(m.media_url);
  return name ? `${kind} · ${name}` : kind;
}
