// One message: text, a typed media placeholder, a system notice, and its marks
// (edited, with the earlier versions on request; deleted, with the text when its owner keeps
// deleted text; reply, delivery status). Times are in the viewer's zone. Web addresses
// (http and https only) in the text are links that open in a new tab, the full address on hover.
// Each kind shows as a person expects (docs/kinds.md, "screens"): polls, orders, what was
// chosen, the ad it came from, forwarded and topic labels, call lines, places with a map
// link, contacts, link cards; metadata is read through lib/kinds.ts, which never throws.
import { memo, type ReactNode } from "react";
import { formatDateTime, formatTime } from "../../lib/format";
import {
  describeCall,
  entityLinks,
  isUnknownKind,
  kindLabel,
  kindName,
  moreAttachments,
  notShownText,
  oneLine,
  platformKind,
  readCall,
  readContacts,
  readForwarded,
  readInteractive,
  readLinkCards,
  readOrder,
  readPlace,
  readPoll,
  readQuote,
  readReactions,
  readReferral,
  readTopic,
} from "../../lib/kinds";
import { splitLinks } from "../../lib/links";
import { keptDeletedText, readVersions } from "../../lib/versions";
import type { ChatMessage } from "../../types/messaging";
import {
  ContactsView,
  InteractiveView,
  KindLabels,
  LinkCards,
  OrderView,
  PlaceView,
  PollView,
  ReferralView,
} from "./MessageKinds";
import { EditedMark } from "./MessageVersions";

const STATUS_MARKS: Record<string, string> = {
  sent: "✓",
  delivered: "✓✓",
  read: "✓✓",
  played: "✓✓",
  failed: "!",
};

function fileName(m: ChatMessage): string | null {
  const fromMeta = m.metadata?.file_name ?? m.metadata?.filename;
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

/** The words with Telegram's hidden links (text_link, text_mention) over their ranges, and any visible address linked. */
function EntityText({ text, metadata }: { text: string; metadata: unknown }) {
  const ranges = entityLinks(metadata, text);
  if (ranges.length === 0) return <LinkedText text={text} />;
  const parts: ReactNode[] = [];
  let at = 0;
  for (const r of ranges) {
    if (r.start > at) parts.push(<LinkedText key={`t${at}`} text={text.slice(at, r.start)} />);
    parts.push(
      <a key={`l${r.start}`} href={r.href} target="_blank" rel="noopener noreferrer" title={r.href}>
        {text.slice(r.start, r.end)}
      </a>,
    );
    at = r.end;
  }
  if (at < text.length) parts.push(<LinkedText key={`t${at}`} text={text.slice(at)} />);
  return <>{parts}</>;
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
  /** Show the message this one replies to (the quote is a button when given). */
  onJumpTo?: (messageId: string) => void;
}

/** A line across the thread (system notices, calls, a first contact), not a bubble. */
function SystemLine({
  m,
  text,
  call,
  onJumpTo,
}: {
  m: ChatMessage;
  text: string;
  call?: boolean;
  onJumpTo?: (messageId: string) => void;
}) {
  // a pin, a vote, a poll's closing: the line names the message it is about
  const about = m.reply_to_id ?? (typeof m.metadata?.pinned_id === "string" ? m.metadata.pinned_id : null);
  return (
    <li className={`msg system${call ? " call-line" : ""}`} data-message-id={m.id} data-testid="message">
      <span className="visually-hidden">{call ? "Call: " : "System notice: "}</span>
      <span className="system-text">
        {call && <span className="call-mark" aria-hidden="true" />}
        <LinkedText text={text} />
      </span>
      {about && onJumpTo && (
        <button type="button" className="line-jump" onClick={() => onJumpTo(about)}>
          Show the message
        </button>
      )}
      <time dateTime={m.sent_at} title={formatDateTime(m.sent_at)}>
        {formatTime(m.sent_at)}
      </time>
    </li>
  );
}

/** The labels a message carries: forwarded, its forum topic, via a bot, a story it answers. */
function labelsOf(m: ChatMessage): { key: string; text: string; title?: string }[] {
  const md = m.metadata;
  const labels: { key: string; text: string; title?: string }[] = [];
  const forwarded = readForwarded(md);
  if (forwarded) labels.push({ key: "forwarded", text: `↪ ${forwarded}` });
  const topic = readTopic(md);
  if (topic) labels.push({ key: "topic", text: `# ${topic}`, title: "Topic" });
  if (typeof md?.via_bot === "string" && md.via_bot) labels.push({ key: "via", text: `via @${md.via_bot}` });
  if (md?.story_reply) labels.push({ key: "story", text: "Replied to a story" });
  if (md?.article) labels.push({ key: "article", text: "From an article" });
  if (md?.view_once === true) labels.push({ key: "view-once", text: "View once" });
  const product = md?.referred_product;
  if (product && typeof product === "object" && "product_retailer_id" in product) {
    labels.push({ key: "product", text: `Asked about product ${String(product.product_retailer_id)}` });
  }
  return labels;
}

/** The body of a message that is not deleted: what its kind means, then its words. */
function KindBody({ m }: { m: ChatMessage }) {
  const md = m.metadata;
  const kind = platformKind(md);
  const poll = readPoll(md, m.content);
  if (poll && (m.type === "other" || kind === "poll")) return <PollView poll={poll} />;
  const order = readOrder(md);
  if (order) {
    return (
      <>
        <OrderView order={order} />
        {m.content && (
          <p className="caption">
            <LinkedText text={m.content} />
          </p>
        )}
      </>
    );
  }
  const choice = readInteractive(md, m.content);
  if (choice) return <InteractiveView choice={choice} />;
  if (m.type === "location") {
    const place = readPlace(md);
    if (place) return <PlaceView place={place} fallback={m.content} />;
  }
  if (m.type === "contact") {
    const contacts = readContacts(md);
    if (contacts.length) return <ContactsView contacts={contacts} />;
  }
  const cards = readLinkCards(md);
  // a WeChat link's content repeats its title, description and address: the card says it all
  const wechatLink = md?.wechat_type === "link" && cards.length > 0;
  if (isUnknownKind(m)) {
    return (
      <>
        <p className="unknown-kind muted">{notShownText(kind)}</p>
        {m.content && (
          <p className="caption">
            <LinkedText text={m.content} />
          </p>
        )}
      </>
    );
  }
  const isMedia = m.type !== "text";
  const name = isMedia ? fileName(m) : null;
  const dice = kind === "dice";
  const label = kindLabel(m);
  const more = moreAttachments(md);
  const mini =
    md?.miniprogram && typeof md.miniprogram === "object" ? (md.miniprogram as Record<string, unknown>) : null;
  return (
    <>
      {isMedia && !dice && (
        <div className={`media media-${m.type}`}>
          <span className="media-label">{label}</span>
          {name && <span className="file-name">{name}</span>}
          {more.length > 0 && (
            <span className="muted">
              and {more.length} more: {more.join(", ")}
            </span>
          )}
          {m.metadata?.media_omitted && <span className="muted"> (not included in the export)</span>}
        </div>
      )}
      {m.content && !wechatLink && (
        <p
          className={dice ? "dice" : isMedia ? "caption" : "text"}
          aria-label={dice ? `Dice: ${m.content}` : undefined}
        >
          <EntityText text={m.content} metadata={md} />
        </p>
      )}
      {cards.length > 0 && <LinkCards cards={cards} />}
      {mini && typeof mini.page_path === "string" && <p className="kind-note muted">Page {mini.page_path}</p>}
    </>
  );
}

/** The reactions under a message, one chip per emoji with its count, who reacted on hover. */
function Reactions({ m }: { m: ChatMessage }) {
  const reactions = readReactions(m.metadata);
  if (reactions.length === 0) return null;
  return (
    <ul className="reactions" aria-label="Reactions">
      {reactions.map((r) => (
        <li key={r.emoji} title={`${r.custom ? "Custom emoji" : r.emoji}: ${r.who.join(", ")}`}>
          {r.emoji}
          {r.count > 1 && <span className="reaction-count">{r.count}</span>}
        </li>
      ))}
    </ul>
  );
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
  onJumpTo,
}: MessageBubbleProps) {
  const deleted = Boolean(m.metadata?.deleted || m.metadata?.recalled);
  const history = readVersions(m.metadata);
  const edited = Boolean(m.edited_at || m.metadata?.edited || history.versions.length > 0);
  const kept = deleted ? keptDeletedText(m) : null;
  const status = typeof m.metadata?.status === "string" ? m.metadata.status : null;
  const call = readCall(m.metadata);

  if (call && (m.type === "other" || m.type === "system")) {
    return <SystemLine m={m} call text={m.content || describeCall(call, m.direction === "outbound")} />;
  }
  if (m.type === "system") return <SystemLine m={m} text={m.content ?? "(system notice)"} onJumpTo={onJumpTo} />;
  if (m.type === "other" && platformKind(m.metadata) === "request_welcome") {
    return <SystemLine m={m} text={kindName("request_welcome")} />;
  }

  const referral = readReferral(m.metadata);
  const quote = readQuote(m.metadata);
  const labels = labelsOf(m);
  const replyId = m.reply_to_id;
  const quoted = (
    <>
      {replyTo ? (
        <>
          <span className="sender">{replyTo.direction === "outbound" ? "You" : replyTo.sender_name || "Them"}</span>
          <span>{quote?.text ?? oneLine(replyTo)}</span>
        </>
      ) : quote?.text ? (
        <span>{quote.text}</span>
      ) : (
        <span className="muted">Reply to an earlier message</span>
      )}
    </>
  );
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
        <KindLabels labels={labels} />
        {referral && <ReferralView referral={referral} />}
        {replyId && (
          <blockquote className="reply-quote" aria-label="In reply to">
            {onJumpTo ? (
              <button
                type="button"
                className="reply-jump"
                onClick={() => onJumpTo(replyId)}
                title="Show the quoted message"
              >
                {quoted}
              </button>
            ) : (
              quoted
            )}
          </blockquote>
        )}
        {!replyId && quote && (
          <blockquote className="reply-quote" aria-label="Quoting">
            {quote.from && <span className="sender">Reply to {quote.from}</span>}
            {quote.text && <span>{quote.text}</span>}
          </blockquote>
        )}
        {m.metadata?.placeholder === true ? (
          <p className="placeholder muted" title="Its text arrives with its copy (an echo, an export or the history)">
            Sent from another tool
          </p>
        ) : deleted ? (
          <>
            <p className="deleted">
              <span aria-hidden="true">⊘ </span>
              {m.metadata?.recalled ? "This message was recalled" : "This message was deleted"}
            </p>
            {kept !== null && (
              <p className="deleted-text">
                <span className="visually-hidden">Deleted text: </span>
                <del>{kept}</del>
              </p>
            )}
          </>
        ) : (
          <KindBody m={m} />
        )}
        <Reactions m={m} />
        <div className="msg-foot">
          {edited && (!deleted || history.versions.length > 0) && (
            <EditedMark
              history={history}
              current={deleted ? kept : m.content}
              currentLabel={deleted ? "when deleted" : "now"}
            />
          )}
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
