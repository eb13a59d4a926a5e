// A conversation: newest at the bottom, older pages loaded as the user scrolls up
// (the scroll position stays put), down to the first message, across the archive.
// Opened at a search hit it pages both ways: newer pages load as the user scrolls down.
// The open thread reads its summary row every few seconds and, when a new message moved
// it, the newest page; opening the thread marks it read for the signed-in user.
// A jump (to the first message, or to a date) opens it at that page in one read
// (get_conversation_messages_at) and pages both ways from there.
// A reply's quote jumps to the quoted message: scrolled to and highlighted when loaded, else
// older pages are read until it is (it is always older than the reply). The photos of one
// album (Telegram media_group_id) in a row are shown together.
import { useQueryClient } from "@tanstack/react-query";
import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router-dom";
import {
  conversationKeys,
  isUnread,
  mergeLatest,
  useConversation,
  useConversationMessages,
  useLatestMessages,
  usePlaceholders,
  withPlaceholders,
  useMarkRead,
  type ThreadJump,
} from "../../hooks/use-chat-conversations";
import { useConnection } from "../../hooks/use-connections";
import { dayKey, formatDay } from "../../lib/format";
import { albumRuns } from "../../lib/kinds";
import { useDocumentTitle } from "../../lib/title";
import { conversationTitle, type ChatMessage, type ThreadAnchor } from "../../types/messaging";
import { Empty, ErrorMessage, Loading } from "../ui/States";
import { ContactPanel } from "./ContactPanel";
import { LinkPersonControl } from "./LinkPersonControl";
import { MessageBubble } from "./MessageBubble";
import { PlatformIcon, platformLabel } from "./PlatformIcon";

/** Older (newer) messages load when the view comes this close (px) to the top (bottom). */
const LOAD_MARGIN = 400;

export interface ConversationThreadProps {
  conversationId: string;
  /** Open at this message (a search hit) instead of the newest. */
  anchor?: ThreadAnchor | null;
  /** Open at the first message (at null) or at a time, instead of the newest. */
  jump?: ThreadJump | null;
  threadHref: (conversationId: string) => string;
  personHref: (personId: string) => string;
  /** The thread opened at its first message (at null) or at a time: the jump controls' links. */
  jumpHref?: (conversationId: string, at: string | null) => string;
  /** The connection a conversation came in on (the header links to it). */
  connectionHref?: (connectionId: string) => string;
  /** Where the phone layout's "back" goes (the list). */
  backHref?: string;
}

export function ConversationThread({
  conversationId,
  anchor = null,
  jump = null,
  threadHref,
  personHref,
  jumpHref,
  connectionHref,
  backHref = "/inbox",
}: ConversationThreadProps) {
  const conversation = useConversation(conversationId);
  const markRead = useMarkRead();
  const [panel, setPanel] = useState(false);
  // whether the ?msg= of a search hit is in this conversation (null: not known yet)
  const [anchorFound, setAnchorFound] = useState<boolean | null>(null);
  const c = conversation.data;
  useDocumentTitle(c ? conversationTitle(c) : conversation.isPending ? null : "No such conversation");
  const lastMessageAt = c?.last_message_at ?? null;
  const unread = c ? isUnread(c) : false;
  const { mutate } = markRead;

  // read up to the newest message: on opening, and whenever a new one arrives while open
  useEffect(() => {
    if (unread && lastMessageAt) mutate(conversationId);
  }, [unread, lastMessageAt, conversationId, mutate]);

  if (conversation.isPending) return <Loading label="Loading the conversation" />;
  if (conversation.isError && !c) {
    return <ErrorMessage error={conversation.error} retry={() => void conversation.refetch()} />;
  }
  if (!c) return <NoSuchConversation backHref={backHref} />;
  const group = c.conversation_type === "group";
  const title = conversationTitle(c);

  return (
    <section className={`thread${panel ? " with-panel" : ""}`} aria-label={`Conversation with ${title}`}>
      <header className="thread-header">
        <Link to={backHref} className="back-link" aria-label="Back to the conversations">
          ← <span className="back-text">Conversations</span>
        </Link>
        <PlatformIcon platform={c.platform} />
        <div className="thread-title">
          <h2>{title}</h2>
          <span className="muted">
            {platformLabel(c.platform)}
            {group ? " group" : ""}
            {c.participant_name && c.participant_name !== title ? ` · ${c.participant_name}` : ""}
            {c.participant_identifier ? ` · ${c.participant_identifier}` : ""} · {c.message_count} messages
            {c.connection_id && <ConnectionLink connectionId={c.connection_id} connectionHref={connectionHref} />}
          </span>
        </div>
        {jumpHref && <JumpControl conversationId={conversationId} jumpHref={jumpHref} />}
        <LinkPersonControl conversation={c} personHref={personHref} />
        <button
          type="button"
          className="panel-toggle"
          aria-expanded={panel}
          aria-controls="contact-panel"
          onClick={() => setPanel((v) => !v)}
        >
          {panel ? "Hide contact" : "Contact"}
        </button>
      </header>
      {conversation.isError && <ErrorMessage error={conversation.error} retry={() => void conversation.refetch()} />}
      {anchor && anchorFound !== null && (
        <p className={`anchor-banner${anchorFound ? "" : " anchor-missing"}`} role="status">
          {anchorFound ? "Opened at the search match." : "That message is not in this conversation."}{" "}
          <Link to={threadHref(conversationId)}>Jump to the latest messages</Link>
        </p>
      )}
      {jump && !anchor && (
        <p className="anchor-banner" role="status">
          {jump.at ? `Opened at ${formatDay(jump.at)}.` : "Opened at the first message."}{" "}
          <Link to={threadHref(conversationId)}>Jump to the latest messages</Link>
        </p>
      )}
      <div className="thread-body">
        <MessageLog
          conversationId={conversationId}
          anchor={anchor}
          jump={anchor ? null : jump}
          group={group}
          updatedAt={c.updated_at}
          onAnchorFound={setAnchorFound}
        />
        {panel && <ContactPanel conversation={c} personHref={personHref} onClose={() => setPanel(false)} />}
      </div>
    </section>
  );
}

export function NoSuchConversation({ backHref = "/inbox" }: { backHref?: string }) {
  return (
    <div className="state state-empty" role="status">
      <strong>No such conversation.</strong> It does not exist, or it is not yours.{" "}
      <Link to={backHref}>Back to the conversations</Link>
    </div>
  );
}

/** The account a conversation came in on, linked to its row on the connections page. */
function ConnectionLink({
  connectionId,
  connectionHref,
}: {
  connectionId: string;
  connectionHref?: (connectionId: string) => string;
}) {
  const connection = useConnection(connectionId);
  const c = connection.data;
  if (!c) return null;
  const label = c.display_name || c.account_identifier;
  return (
    <span className="via-connection">
      {" · via "}
      {connectionHref ? (
        <Link to={connectionHref(c.id)} title={`The connection ${c.account_identifier} (${platformLabel(c.platform)})`}>
          {label}
        </Link>
      ) : (
        label
      )}
    </span>
  );
}

/** Jump to the first message, or to a day: the thread reopens there in one read. */
function JumpControl({
  conversationId,
  jumpHref,
}: {
  conversationId: string;
  jumpHref: (conversationId: string, at: string | null) => string;
}) {
  const navigate = useNavigate();
  const [day, setDay] = useState("");
  const [invalid, setInvalid] = useState(false);
  function submit(e: FormEvent) {
    e.preventDefault();
    // the start of that day in the viewer's zone, as the thread's day separators show it
    const at = /^\d{4}-\d{2}-\d{2}$/.test(day) ? new Date(`${day}T00:00:00`) : null;
    if (!at || Number.isNaN(at.getTime())) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    void navigate(jumpHref(conversationId, at.toISOString()));
  }
  return (
    <details className="thread-jump">
      <summary>Jump</summary>
      <div className="thread-jump-body">
        <Link to={jumpHref(conversationId, null)}>First message</Link>
        <form onSubmit={submit} aria-label="Jump to a date">
          <label>
            <span>Date</span>
            <input
              type="date"
              value={day}
              onChange={(e) => setDay(e.target.value)}
              aria-invalid={invalid || undefined}
              required
            />
          </label>
          <button type="submit">Go</button>
          {invalid && (
            <span role="alert" className="error">
              Pick a date.
            </span>
          )}
        </form>
      </div>
    </details>
  );
}

function MessageLog({
  conversationId,
  anchor,
  jump,
  group,
  updatedAt,
  onAnchorFound,
}: {
  conversationId: string;
  anchor: ThreadAnchor | null;
  jump: ThreadJump | null;
  group: boolean;
  updatedAt: string | null;
  onAnchorFound: (found: boolean) => void;
}) {
  const thread = useConversationMessages(conversationId, anchor, jump);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = thread;
  const { hasPreviousPage, isFetchingPreviousPage, fetchPreviousPage } = thread;
  const scroller = useRef<HTMLDivElement>(null);
  const placed = useRef(false);
  const firstId = useRef<string | null>(null);
  const height = useRef(0);
  const location = useLocation();
  const focusOnLoad = Boolean((location.state as { focusThread?: boolean } | null)?.focusThread);

  const atBottom = useRef(true);
  const lastId = useRef<string | null>(null);
  const queryClient = useQueryClient();
  // an open thread (not one opened at a search hit or a jump) follows new messages
  const following = !anchor && !jump;
  const latest = useLatestMessages(
    conversationId,
    following && thread.isSuccess,
    thread.data?.pages[0],
    thread.dataUpdatedAt,
  );
  const { refetch: refetchLatest } = latest;

  // the summary row moved (a new or edited message): read the newest page now
  const seenUpdate = useRef(updatedAt);
  useEffect(() => {
    if (seenUpdate.current === updatedAt) return;
    seenUpdate.current = updatedAt;
    if (following) void refetchLatest();
  }, [updatedAt, following, refetchLatest]);

  // pages are newest first, each newest first: reversed, the thread reads oldest -> newest
  const { messages: stored, gap } = useMemo(
    () => mergeLatest(thread.data ? thread.data.pages.flat().reverse() : [], following ? latest.data : undefined),
    [thread.data, latest.data, following],
  );
  // messages sent by another tool the store has only statuses of, placed by time
  const placeholders = usePlaceholders(conversationId);
  const messages = useMemo(
    () => withPlaceholders(stored, placeholders.data, thread.isSuccess && !hasNextPage),
    [stored, placeholders.data, thread.isSuccess, hasNextPage],
  );

  // more new messages than one page: read the thread again from its newest message
  useEffect(() => {
    if (gap) void queryClient.resetQueries({ queryKey: conversationKeys.messages(conversationId, null) });
  }, [gap, queryClient, conversationId]);
  const byId = useMemo(() => new Map(messages.map((m) => [m.id, m])), [messages]);

  // a quote's jump: the quoted message scrolled to and highlighted, older pages read until it is loaded
  const [seeking, setSeeking] = useState<string | null>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const [seekFailed, setSeekFailed] = useState(false);
  const fetchOlderFailed = thread.isFetchNextPageError;
  const jumpTo = useCallback((id: string) => {
    setSeekFailed(false);
    setSeeking(id);
  }, []);
  useEffect(() => {
    if (!seeking) return;
    const el = scroller.current?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(seeking)}"]`);
    if (el) {
      el.scrollIntoView({ block: "center" });
      setFlash(seeking);
      setSeeking(null);
    } else if (fetchOlderFailed) {
      setSeeking(null); // the read failed: its error and retry show at the top, no endless retries
    } else if (hasNextPage) {
      if (!isFetchingNextPage) void fetchNextPage();
    } else if (!isFetchingNextPage) {
      setSeeking(null);
      setSeekFailed(true);
    }
  }, [seeking, messages, hasNextPage, isFetchingNextPage, fetchNextPage, fetchOlderFailed]);

  // the search hit's page is read: say whether the ?msg= named a message of this thread
  const anchorKnown = anchor !== null && thread.isSuccess;
  const anchorPresent = anchor !== null && byId.has(anchor.id);
  useEffect(() => {
    if (anchorKnown) onAnchorFound(anchorPresent);
  }, [anchorKnown, anchorPresent, onAnchorFound]);
  // a jump lands on the first message at or after its time (or the newest before it)
  const jumpTarget = useMemo(() => {
    if (!jump) return null;
    if (jump.at === null) return messages[0]?.id ?? null;
    const at = Date.parse(jump.at);
    return (messages.find((m) => Date.parse(m.sent_at) >= at) ?? messages[messages.length - 1])?.id ?? null;
  }, [jump, messages]);

  const loadOlder = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const loadNewer = useCallback(() => {
    if (hasPreviousPage && !isFetchingPreviousPage) void fetchPreviousPage();
  }, [hasPreviousPage, isFetchingPreviousPage, fetchPreviousPage]);

  useLayoutEffect(() => {
    const el = scroller.current;
    const first = messages[0];
    if (!el || !first) return;
    if (!placed.current) {
      // first render: the newest message at the bottom, or the search hit in view
      const hit = anchor ? el.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(anchor.id)}"]`) : null;
      const target = jumpTarget ? el.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(jumpTarget)}"]`) : null;
      if (hit) hit.scrollIntoView({ block: "center" });
      else if (target && jump?.at === null)
        el.scrollTop = 0; // the beginning, its marker in view
      else if (target) {
        // the day's separator above the message, when the message starts a day, in view too
        const above = target.previousElementSibling;
        const top = above?.classList.contains("day-separator") ? above : target;
        el.scrollTop += top.getBoundingClientRect().top - el.getBoundingClientRect().top - 8;
      } else el.scrollTop = el.scrollHeight;
      placed.current = true;
      // a row chosen in the list hands the keyboard to the thread, unless the user has
      // meanwhile moved on to something else (the person picker, say)
      const active = document.activeElement;
      const untouched = !active || active === document.body || active.closest(".conversation-list") !== null;
      if (focusOnLoad && untouched) el.focus({ preventScroll: true });
    } else if (firstId.current !== first.id) {
      // older messages were put above: keep what the user looks at where it was
      el.scrollTop += el.scrollHeight - height.current;
    } else if (
      lastId.current !== messages[messages.length - 1]?.id &&
      atBottom.current &&
      !hasPreviousPage &&
      following
    ) {
      // a new message arrived while the user read the end: follow it
      el.scrollTop = el.scrollHeight;
    }
    firstId.current = first.id;
    lastId.current = messages[messages.length - 1]?.id ?? null;
    height.current = el.scrollHeight;
    // a view not yet full of messages asks for more by itself
    if (el.scrollTop < LOAD_MARGIN) loadOlder();
    if (el.scrollHeight - el.scrollTop - el.clientHeight < LOAD_MARGIN) loadNewer();
  }, [messages, anchor, jump, jumpTarget, loadOlder, loadNewer, focusOnLoad, hasPreviousPage, following]);

  if (thread.isPending) return <Loading label="Loading messages" />;
  if (thread.isError && !thread.data) {
    return <ErrorMessage error={thread.error} retry={() => void thread.refetch()} />;
  }
  if (messages.length === 0) return <Empty>No messages in this conversation.</Empty>;

  let previous: ChatMessage | null = null;
  return (
    <div
      className="messages"
      id="thread"
      ref={scroller}
      onScroll={(e) => {
        const el = e.currentTarget;
        height.current = el.scrollHeight;
        const fromBottom = el.scrollHeight - el.scrollTop - el.clientHeight;
        atBottom.current = fromBottom < 80;
        if (el.scrollTop < LOAD_MARGIN) loadOlder();
        if (fromBottom < LOAD_MARGIN) loadNewer();
      }}
      tabIndex={0}
      role="log"
      aria-label="Messages"
      aria-busy={isFetchingNextPage || isFetchingPreviousPage}
    >
      <div className="thread-top">
        {thread.isFetchNextPageError ? (
          <ErrorMessage error={thread.error} retry={() => void fetchNextPage()} />
        ) : hasNextPage ? (
          <button type="button" onClick={loadOlder} disabled={isFetchingNextPage}>
            {isFetchingNextPage ? "Loading older messages…" : "Load older messages"}
          </button>
        ) : (
          <p className="thread-start" data-testid="thread-start">
            Beginning of the conversation
          </p>
        )}
      </div>
      {(seeking || seekFailed) && (
        <p className="seek-status" role="status">
          {seeking ? "Looking for the message…" : "That message is not in this conversation."}
        </p>
      )}
      <ol className="message-list">
        {albumRuns(messages).map((run) => {
          const m = run[0] as ChatMessage;
          const newDay = !previous || dayKey(previous.sent_at) !== dayKey(m.sent_at);
          const showSender =
            group &&
            m.direction === "inbound" &&
            m.type !== "system" &&
            (newDay ||
              !previous ||
              previous.direction !== "inbound" ||
              previous.type === "system" ||
              (previous.sender_identifier ?? previous.sender_name) !== (m.sender_identifier ?? m.sender_name));
          previous = run[run.length - 1] ?? m;
          const bubble = (x: ChatMessage) => (
            <MessageBubble
              key={x.id}
              message={x}
              senderLabel={showSender && x === m ? m.sender_name || m.sender_identifier || "Unknown" : null}
              replyTo={x.reply_to_id ? (byId.get(x.reply_to_id) ?? null) : null}
              highlighted={anchor?.id === x.id || flash === x.id}
              target={jumpTarget === x.id}
              onJumpTo={jumpTo}
            />
          );
          return (
            <Fragment key={m.id}>
              {newDay && (
                <li className="day-separator" role="separator">
                  <span>{formatDay(m.sent_at)}</span>
                </li>
              )}
              {run.length > 1 ? (
                <li className={`album ${m.direction}`} data-testid="album" aria-label={`Album of ${run.length}`}>
                  <ol className="album-items">{run.map(bubble)}</ol>
                </li>
              ) : (
                bubble(m)
              )}
            </Fragment>
          );
        })}
      </ol>
      {(anchor || jump) && (
        <div className="thread-bottom">
          {thread.isFetchPreviousPageError ? (
            <ErrorMessage error={thread.error} retry={() => void fetchPreviousPage()} />
          ) : hasPreviousPage ? (
            <button type="button" onClick={loadNewer} disabled={isFetchingPreviousPage}>
              {isFetchingPreviousPage ? "Loading newer messages…" : "Load newer messages"}
            </button>
          ) : (
            <p className="thread-end" data-testid="thread-end">
              Latest message
            </p>
          )}
        </div>
      )}
    </div>
  );
}
