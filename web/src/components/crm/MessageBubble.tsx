// One message: text, a typed media placeholder, a system notice, and its marks
// (edited, deleted, reply, delivery status). Times are in the viewer's zone. Web addresses
// (http and https only) in the text are links that open in a new tab, the full address on hover.
import { memo } from "react";
import { formatDateTime, formatTime } from "../../lib/format";
import { splitLinks } from "../../lib/links";
import type { ChatMessage } from "../../types/messaging";

const MEDIA_LABELS: Record<string, string> = {
  image: "Photo",
  video: "Video",
  audio: "Audio",
  voice: "Voice message",
  document: "Document",
  sticker: "Sticker",
  location: "Location",
  contact: "Contact",
  other: "Attachment",
};

const STATUS_MARKS: Record<string, string> = { sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };

function fileName(m: ChatMessage): string | null {
  const fromMeta = m.metadata?.file_name;
  if (typeof fromMeta === "string" && fromMeta) return fromMeta;
  if (!m.media_url) return null;
  const tail = m.media_url.split(/[/\\]/).pop() ?? m.media_url;
  try {
    return decodeURIComponent(tail.split("?")[0] ?? tail);
  } catch {
    return tail;
  }
}

/** Text with its http(s) addresses as links: React text nodes and <a> elements, no HTML. */
export function LinkedText({ text }: { text: string }) {
  // most messages hold no address: no parsing for them
  if (!/https?:\/\//i.test(text)) return text;
  return (
    <>
      {splitLinks(text).map((part, i) =>
        part.kind === "link" ? (
          <a key={i} href={part.href} target="_blank" rel="noopener noreferrer" title={part.href}>
            {part.text}
          </a>
        ) : (
          part.text
        ),
      )}
    </>
  );
}

export interface MessageBubbleProps {
  message: ChatMessage;
  /** Shown above inbound messages of group chats when the sender changes. */
  senderLabel?: string | null;
  /** The message this one replies to, when it is loaded. */
  replyTo?: ChatMessage | null;
  highlighted?: boolean;
  /** Where a jump (to the first message, to a date) landed. */
  target?: boolean;
}

/**
 * Memoised: a thread of thousands re-renders on every page it loads, and a message object
 * that did not change (the query cache keeps it) renders nothing new.
 */
export const MessageBubble = memo(function MessageBubble({
  message: m,
  senderLabel,
  replyTo,
  highlighted,
  target,
}: MessageBubbleProps) {
  const deleted = Boolean(m.metadata?.deleted || m.metadata?.recalled);
  const edited = Boolean(m.edited_at || m.metadata?.edited);
  const status = typeof m.metadata?.status === "string" ? m.metadata.status : null;

  if (m.type === "system") {
    return (
      <li className="msg system" data-message-id={m.id} data-testid="message">
        <span className="visually-hidden">System notice: </span>
        <span className="system-text">{m.content ?? "(system notice)"}</span>
        <time dateTime={m.sent_at} title={formatDateTime(m.sent_at)}>
          {formatTime(m.sent_at)}
        </time>
      </li>
    );
  }

  const isMedia = m.type !== "text";
  const name = isMedia ? fileName(m) : null;
  return (
    <li
      className={`msg ${m.direction}${highlighted ? " highlighted" : ""}`}
      data-message-id={m.id}
      data-testid="message"
      data-jump-target={target ? "true" : undefined}
      aria-current={highlighted ? "true" : undefined}
    >
      <div className="bubble">
        {senderLabel && <div className="sender">{senderLabel}</div>}
        {m.reply_to_id && (
          <blockquote className="reply-quote" aria-label="In reply to">
            {replyTo ? (
              <>
                <span className="sender">
                  {replyTo.direction === "outbound" ? "You" : replyTo.sender_name || "Them"}
                </span>
                <span>{replyTo.content ?? `[${MEDIA_LABELS[replyTo.type] ?? replyTo.type}]`}</span>
              </>
            ) : (
              <span className="muted">Reply to an earlier message</span>
            )}
          </blockquote>
        )}
        {deleted ? (
          <p className="deleted">
            <span aria-hidden="true">⊘ </span>
            {m.metadata?.recalled ? "This message was recalled" : "This message was deleted"}
          </p>
        ) : (
          <>
            {isMedia && (
              <div className={`media media-${m.type}`}>
                <span className="media-label">{MEDIA_LABELS[m.type] ?? m.type}</span>
                {name && <span className="file-name">{name}</span>}
                {m.metadata?.media_omitted && <span className="muted"> (not included in the export)</span>}
              </div>
            )}
            {m.content && (
              <p className={isMedia ? "caption" : "text"}>
                <LinkedText text={m.content} />
              </p>
            )}
          </>
        )}
        <div className="msg-foot">
          {edited && !deleted && <span className="edited">edited</span>}
          <time dateTime={m.sent_at} title={formatDateTime(m.sent_at)}>
            {formatTime(m.sent_at)}
          </time>
          {status && m.direction === "outbound" && (
            <span className={`status status-${status}`} aria-label={`Delivery status: ${status}`} title={status}>
              {STATUS_MARKS[status] ?? status}
            </span>
          )}
        </div>
      </div>
    </li>
  );
});
