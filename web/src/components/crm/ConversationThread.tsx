// A conversation: newest at the bottom, older pages loaded as the user scrolls up
// (the scroll position stays put), down to the first message, across the archive.
import { useQueryClient } from "@tanstack/react-query";
import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef } from "react";
import { Link } from "react-router-dom";
import {
  conversationKeys,
  mergeLatest,
  useConversation,
  useConversationMessages,
  useLatestMessages,
} from "../../hooks/use-chat-conversations";
import { dayKey, formatDay } from "../../lib/format";
import { conversationTitle, type ChatMessage, type ThreadAnchor } from "../../types/messaging";
import { Empty, ErrorMessage, Loading } from "../ui/States";
import { LinkPersonControl } from "./LinkPersonControl";
import { MessageBubble } from "./MessageBubble";
import { PlatformIcon, platformLabel } from "./PlatformIcon";

/** Older messages load when the view comes this close (px) to the top. */
const LOAD_OLDER_MARGIN = 400;

export interface ConversationThreadProps {
  conversationId: string;
  /** Open at this message (a search hit) instead of the newest. */
  anchor?: ThreadAnchor | null;
  threadHref: (conversationId: string) => string;
  personHref: (personId: string) => string;
}

export function ConversationThread({
  conversationId,
  anchor = null,
  threadHref,
  personHref,
}: ConversationThreadProps) {
  const conversation = useConversation(conversationId);

  if (conversation.isPending) return <Loading label="Loading the conversation" />;
  if (conversation.isError) {
    return <ErrorMessage error={conversation.error} retry={() => void conversation.refetch()} />;
  }
  const c = conversation.data;
  if (!c) return <Empty>This conversation does not exist, or it is not yours.</Empty>;
  const group = c.conversation_type === "group";

  return (
    <section className="thread" aria-label={`Conversation with ${conversationTitle(c)}`}>
      <header className="thread-header">
        <PlatformIcon platform={c.platform} />
        <div className="thread-title">
          <h2>{conversationTitle(c)}</h2>
          <span className="muted">
            {platformLabel(c.platform)}
            {group ? " group" : ""}
            {c.participant_identifier ? ` · ${c.participant_identifier}` : ""} ·{" "}
            {c.message_count} messages
          </span>
        </div>
        <LinkPersonControl conversation={c} personHref={personHref} />
      </header>
      {anchor && (
        <p className="anchor-banner" role="status">
          Showing the conversation up to the search match.{" "}
          <Link to={threadHref(conversationId)}>Jump to the latest messages</Link>
        </p>
      )}
      <MessageLog conversationId={conversationId} anchor={anchor} group={group} />
    </section>
  );
}

function MessageLog({
  conversationId,
  anchor,
  group,
}: {
  conversationId: string;
  anchor: ThreadAnchor | null;
  group: boolean;
}) {
  const thread = useConversationMessages(conversationId, anchor);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = thread;
  const scroller = useRef<HTMLDivElement>(null);
  const placed = useRef(false);
  const firstId = useRef<string | null>(null);
  const height = useRef(0);

  const atBottom = useRef(true);
  const lastId = useRef<string | null>(null);
  const queryClient = useQueryClient();
  // an open thread (not one opened at a search hit) follows new messages
  const latest = useLatestMessages(
    conversationId,
    !anchor && thread.isSuccess,
    thread.data?.pages[0],
    thread.dataUpdatedAt,
  );

  // pages are newest first, each newest first: reversed, the thread reads oldest -> newest
  const { messages, gap } = useMemo(
    () => mergeLatest(thread.data ? thread.data.pages.flat().reverse() : [], anchor ? undefined : latest.data),
    [thread.data, latest.data, anchor],
  );

  // more new messages than one page: read the thread again from its newest message
  useEffect(() => {
    if (gap) void queryClient.resetQueries({ queryKey: conversationKeys.messages(conversationId, null) });
  }, [gap, queryClient, conversationId]);
  const byId = useMemo(() => new Map(messages.map((m) => [m.id, m])), [messages]);

  const loadOlder = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  useLayoutEffect(() => {
    const el = scroller.current;
    const first = messages[0];
    if (!el || !first) return;
    if (!placed.current) {
      // first render: the newest message at the bottom, or the search hit in view
      const hit = anchor
        ? el.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(anchor.id)}"]`)
        : null;
      if (hit) hit.scrollIntoView({ block: "center" });
      else el.scrollTop = el.scrollHeight;
      placed.current = true;
    } else if (firstId.current !== first.id) {
      // older messages were put above: keep what the user looks at where it was
      el.scrollTop += el.scrollHeight - height.current;
    } else if (lastId.current !== messages[messages.length - 1]?.id && atBottom.current) {
      // a new message arrived while the user read the end: follow it
      el.scrollTop = el.scrollHeight;
    }
    firstId.current = first.id;
    lastId.current = messages[messages.length - 1]?.id ?? null;
    height.current = el.scrollHeight;
    // a view not yet full of messages asks for more by itself
    if (el.scrollTop < LOAD_OLDER_MARGIN) loadOlder();
  }, [messages, anchor, loadOlder]);

  if (thread.isPending) return <Loading label="Loading messages" />;
  if (thread.isError && !thread.data) {
    return <ErrorMessage error={thread.error} retry={() => void thread.refetch()} />;
  }
  if (messages.length === 0) return <Empty>No messages in this conversation.</Empty>;

  let previous: ChatMessage | null = null;
  return (
    <div
      className="messages"
      ref={scroller}
      onScroll={(e) => {
        const el = e.currentTarget;
        height.current = el.scrollHeight;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        if (e.currentTarget.scrollTop < LOAD_OLDER_MARGIN) loadOlder();
      }}
      tabIndex={0}
      role="log"
      aria-label="Messages"
      aria-busy={isFetchingNextPage}
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
      <ol className="message-list">
        {messages.map((m) => {
          const newDay = !previous || dayKey(previous.sent_at) !== dayKey(m.sent_at);
          const showSender =
            group &&
            m.direction === "inbound" &&
            m.type !== "system" &&
            (newDay ||
              !previous ||
              previous.direction !== "inbound" ||
              previous.type === "system" ||
              (previous.sender_identifier ?? previous.sender_name) !==
                (m.sender_identifier ?? m.sender_name));
          previous = m;
          return (
            <Fragment key={m.id}>
              {newDay && (
                <li className="day-separator" role="separator">
                  <span>{formatDay(m.sent_at)}</span>
                </li>
              )}
              <MessageBubble
                message={m}
                senderLabel={showSender ? m.sender_name || m.sender_identifier || "Unknown" : null}
                replyTo={m.reply_to_id ? (byId.get(m.reply_to_id) ?? null) : null}
                highlighted={anchor?.id === m.id}
              />
            </Fragment>
          );
        })}
      </ol>
    </div>
  );
}
