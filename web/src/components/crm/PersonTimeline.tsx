// A person's messages from every conversation, inline in time order: platform and direction
// marks, day separators, a search within the person, "Older" / "Newer" pages; each message
// opens its thread at that message. Presentation only: the page comes from
// usePersonTimeline (hooks/use-person-timeline.ts).
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { TimelineItem } from "../../hooks/use-person-timeline";
import { oneLine } from "../../lib/kinds";
import { dayKey, formatDay, formatTime, formatDateTime } from "../../lib/format";
import type { ThreadAnchor } from "../../types/messaging";
import { PlatformIcon, platformLabel } from "./PlatformIcon";
import { Snippet } from "./Snippet";
import "./person-timeline.css";

export interface PersonTimelineProps {
  items: TimelineItem[];
  /** The search the page shows ("" for every message). */
  query: string;
  onQuery: (query: string) => void;
  hasOlder: boolean;
  hasNewer: boolean;
  onOlder: () => void;
  onNewer: () => void;
  /** A page is being read (the buttons wait). */
  busy: boolean;
  threadHref: (conversationId: string, anchor: ThreadAnchor) => string;
}

function messageText(item: TimelineItem): string {
  return oneLine(item.message);
}

export function PersonTimeline(props: PersonTimelineProps) {
  const { items, query, hasOlder, hasNewer, busy } = props;
  const [draft, setDraft] = useState(query);

  function submit(e: FormEvent) {
    e.preventDefault();
    props.onQuery(draft.trim());
  }

  const rows: React.ReactNode[] = [];
  let day = "";
  for (const item of items) {
    const m = item.message;
    const key = dayKey(m.sent_at);
    if (key !== day) {
      day = key;
      rows.push(
        <li key={`day-${key}`} className="day-separator timeline-day" aria-hidden="true">
          <span>{formatDay(m.sent_at)}</span>
        </li>,
      );
    }
    const outbound = m.direction === "outbound";
    rows.push(
      <li key={item.cursor} className={`timeline-item ${m.direction}`}>
        <Link
          to={props.threadHref(item.conversation_id, { id: m.id, sent_at: m.sent_at })}
          className="timeline-link"
          data-message-id={m.id}
          aria-label={`${outbound ? "Sent" : "Received"} on ${platformLabel(item.platform)}, ${formatDateTime(m.sent_at)}: ${messageText(item)}`}
        >
          <PlatformIcon platform={item.platform} />
          <span className="timeline-mark" title={outbound ? "Sent by you" : "Received"}>
            {outbound ? "↗ You" : `↙ ${m.sender_name || item.participant_name || "Them"}`}
          </span>
          <span className="timeline-text">{item.snippet ? <Snippet text={item.snippet} /> : messageText(item)}</span>
          <time dateTime={m.sent_at} title={formatDateTime(m.sent_at)}>
            {formatTime(m.sent_at)}
          </time>
        </Link>
      </li>,
    );
  }

  return (
    <section className="person-timeline" aria-label="Messages with this person" aria-busy={busy}>
      <form role="search" className="timeline-search" onSubmit={submit}>
        <label htmlFor="timeline-query">Search this person&rsquo;s messages</label>
        <input
          id="timeline-query"
          type="search"
          value={draft}
          placeholder="Words, a code, a number"
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit">Search</button>
        {query && (
          <button
            type="button"
            onClick={() => {
              setDraft("");
              props.onQuery("");
            }}
          >
            Clear
          </button>
        )}
      </form>
      <nav className="timeline-paging" aria-label="Timeline pages">
        <button type="button" onClick={props.onOlder} disabled={!hasOlder || busy}>
          Older messages
        </button>
        <button type="button" onClick={props.onNewer} disabled={!hasNewer || busy}>
          Newer messages
        </button>
      </nav>
      {items.length === 0 ? (
        <p className="muted timeline-empty">
          {query ? `No message of this person matches “${query}”.` : "No messages yet."}
        </p>
      ) : (
        <ol className="timeline" aria-label="Timeline">
          {rows}
        </ol>
      )}
    </section>
  );
}
