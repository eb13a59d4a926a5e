// The inbox: conversations newest first, filters by platform and "not linked", and a
// search box over search_messages whose hits open the thread at the matching message.
import { useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { useConversationList, useSearchMessages } from "../../hooks/use-chat-conversations";
import { formatDateTime, relativeTime } from "../../lib/format";
import {
  PLATFORMS,
  PLATFORM_LABELS,
  conversationTitle,
  isPlatform,
  type ConversationListItem,
  type InboxFilters,
  type SearchHit,
  type ThreadAnchor,
} from "../../types/messaging";
import { Empty, ErrorMessage, Loading } from "../ui/States";
import { PlatformIcon } from "./PlatformIcon";
import { Snippet } from "./Snippet";

export interface ConversationListProps {
  /** The open conversation, highlighted in the list. */
  selectedId?: string | undefined;
  /** Where a conversation (optionally at a message) opens. */
  threadHref: (conversationId: string, anchor?: ThreadAnchor) => string;
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function ConversationList({ selectedId, threadHref }: ConversationListProps) {
  const [filters, setFilters] = useState<InboxFilters>({ platform: null, unlinkedOnly: false });
  const [search, setSearch] = useState("");
  const query = useDebounced(search.trim(), 300);

  return (
    <section className="conversation-list" aria-label="Conversations" data-scroll-root>
      <div className="list-tools">
        <label className="search-box">
          <span className="visually-hidden">Search messages</span>
          <input
            type="search"
            placeholder="Search messages…"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
        <div className="filters">
          <label>
            Platform{" "}
            <select
              value={filters.platform ?? ""}
              onChange={(e) => {
                const v = e.target.value;
                setFilters((f) => ({ ...f, platform: isPlatform(v) ? v : null }));
              }}
            >
              <option value="">All platforms</option>
              {PLATFORMS.map((p) => (
                <option key={p} value={p}>
                  {PLATFORM_LABELS[p]}
                </option>
              ))}
            </select>
          </label>
          <label>
            <input
              type="checkbox"
              checked={filters.unlinkedOnly}
              onChange={(e) => setFilters((f) => ({ ...f, unlinkedOnly: e.target.checked }))}
            />{" "}
            Not linked to a person
          </label>
        </div>
      </div>
      {query ? (
        <SearchResults query={query} platform={filters.platform} threadHref={threadHref} />
      ) : (
        <Conversations filters={filters} selectedId={selectedId} threadHref={threadHref} />
      )}
    </section>
  );
}

function Conversations({
  filters,
  selectedId,
  threadHref,
}: {
  filters: InboxFilters;
  selectedId?: string | undefined;
  threadHref: ConversationListProps["threadHref"];
}) {
  const list = useConversationList(filters);
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list;

  // the next page loads as the end of the list scrolls into view
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNextPage) return;
    // ahead of time: the next page is asked for while the end is still 800 px away
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
      },
      { root: el.closest("[data-scroll-root]"), rootMargin: "0px 0px 800px 0px" },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  if (list.isPending) return <Loading label="Loading conversations" />;
  if (list.isError && !list.data) {
    return <ErrorMessage error={list.error} retry={() => void list.refetch()} />;
  }
  const rows = list.data.pages.flat();
  if (rows.length === 0) {
    return (
      <Empty>
        {filters.platform || filters.unlinkedOnly
          ? "No conversations match these filters."
          : "No conversations yet. Import a chat export or connect an account."}
      </Empty>
    );
  }
  return (
    <>
      {list.isError && <ErrorMessage error={list.error} retry={() => void list.refetch()} />}
      <ul className="conversations" aria-label="Inbox">
        {rows.map((c) => (
          <ConversationRow key={c.id} c={c} selected={c.id === selectedId} href={threadHref(c.id)} />
        ))}
      </ul>
      <div ref={sentinel} className="list-end">
        {hasNextPage ? (
          <button type="button" onClick={() => void fetchNextPage()} disabled={isFetchingNextPage}>
            {isFetchingNextPage ? "Loading more…" : "Load more conversations"}
          </button>
        ) : (
          <span className="muted">{rows.length} conversations</span>
        )}
      </div>
    </>
  );
}

function ConversationRow({
  c,
  selected,
  href,
}: {
  c: ConversationListItem;
  selected: boolean;
  href: string;
}) {
  const title = conversationTitle(c);
  return (
    <li>
      <Link
        to={href}
        className={`conversation-row${selected ? " selected" : ""}`}
        aria-current={selected ? "true" : undefined}
        data-conversation-id={c.id}
      >
        <PlatformIcon platform={c.platform} />
        <span className="row-main">
          <span className="row-top">
            <span className="row-title">{title}</span>
            <time dateTime={c.last_message_at ?? undefined} title={formatDateTime(c.last_message_at)}>
              {relativeTime(c.last_message_at)}
            </time>
          </span>
          <span className="row-meta">
            {c.person ? (
              <span className="linked-person">{c.person.full_name}</span>
            ) : (
              <span className="unlinked">Not linked</span>
            )}
            {c.participant_identifier && c.participant_identifier !== title && (
              <span className="identifier">{c.participant_identifier}</span>
            )}
            <span className="count" aria-label={`${c.message_count} messages`}>
              {c.message_count}
            </span>
          </span>
          <span className="preview">{c.last_message_preview ?? ""}</span>
        </span>
      </Link>
    </li>
  );
}

function SearchResults({
  query,
  platform,
  threadHref,
}: {
  query: string;
  platform: string | null;
  threadHref: ConversationListProps["threadHref"];
}) {
  const search = useSearchMessages(query, platform);
  if (search.isPending) return <Loading label="Searching" />;
  if (search.isError) return <ErrorMessage error={search.error} retry={() => void search.refetch()} />;
  const hits = search.data;
  if (hits.length === 0) return <Empty>No messages match “{query}”.</Empty>;
  return (
    <ul className="search-results" aria-label="Search results">
      {hits.map((hit) => (
        <SearchRow key={`${hit.conversation_id}/${hit.message.id}`} hit={hit} threadHref={threadHref} />
      ))}
    </ul>
  );
}

function SearchRow({ hit, threadHref }: { hit: SearchHit; threadHref: ConversationListProps["threadHref"] }) {
  const m = hit.message;
  const who = m.direction === "outbound" ? "You" : m.sender_name || hit.participant_name || "";
  return (
    <li>
      <Link
        to={threadHref(hit.conversation_id, { id: m.id, sent_at: m.sent_at })}
        className="conversation-row search-hit"
        data-message-id={m.id}
      >
        <PlatformIcon platform={hit.platform} />
        <span className="row-main">
          <span className="row-top">
            <span className="row-title">{hit.participant_name || "Conversation"}</span>
            <time dateTime={m.sent_at}>{formatDateTime(m.sent_at)}</time>
          </span>
          <span className="preview">
            {who && <span className="who">{who}: </span>}
            {hit.snippet ? <Snippet text={hit.snippet} /> : `[${m.type}]`}
          </span>
        </span>
      </Link>
    </li>
  );
}
