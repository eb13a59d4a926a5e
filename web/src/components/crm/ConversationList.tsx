// The inbox: conversations newest first (unread ones marked), filters by platform and
// "not linked", and a search box that finds conversations by contact name or number and
// messages by their words; a message hit opens the thread at the matching message.
// Keys: j / k open the next / previous conversation, / goes to the search box.
import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import {
  NAME_SEARCH_LIMIT,
  SEARCH_MAX_HITS,
  SEARCH_PAGE_SIZE,
  isUnread,
  unreadCount,
  useConversationList,
  useSearchConversations,
  useSearchMessages,
} from "../../hooks/use-chat-conversations";
import { useMarkUnread } from "../../hooks/use-conversation-changes";
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
  /** The list without an open conversation ("Mark as unread" closes the open one). */
  listHref?: string;
}

/** Link state of a row: the thread takes the keyboard focus once it has loaded. */
export const FOCUS_THREAD = { focusThread: true } as const;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** True when a name is only the identifier's phone number written another way. */
function sameNumber(name: string, identifier: string | null): boolean {
  const digits = name.replace(/\D/g, "");
  return Boolean(identifier) && digits.length > 6 && digits === identifier!.replace(/\D/g, "");
}

/** True when a key press belongs to a text field (shortcuts stay out of its way). */
function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

export function ConversationList({ selectedId, threadHref, listHref = "/inbox" }: ConversationListProps) {
  const [filters, setFilters] = useState<InboxFilters>({ platform: null, unlinkedOnly: false });
  const [search, setSearch] = useState("");
  const query = useDebounced(search.trim(), 300);
  const searchBox = useRef<HTMLInputElement>(null);
  const listRoot = useRef<HTMLElement>(null);
  const navigate = useNavigate();

  // j / k: the next / previous conversation of the list opens; / focuses the search box
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (e.key === "/") {
        e.preventDefault();
        searchBox.current?.focus();
        return;
      }
      if (e.key !== "j" && e.key !== "k") return;
      const rows = Array.from(listRoot.current?.querySelectorAll<HTMLAnchorElement>("a[data-conversation-id]") ?? []);
      if (rows.length === 0) return;
      e.preventDefault();
      const at = rows.findIndex((r) => r.dataset.conversationId === selectedId);
      const next = rows[at < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, at + (e.key === "j" ? 1 : -1)))];
      if (!next?.dataset.conversationId) return;
      void navigate(threadHref(next.dataset.conversationId));
      next.focus();
      next.scrollIntoView({ block: "nearest" });
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [navigate, selectedId, threadHref]);

  return (
    <section className="conversation-list" aria-label="Conversations" data-scroll-root ref={listRoot}>
      <div className="list-tools">
        <label className="search-box">
          <span className="visually-hidden">Search messages</span>
          <input
            ref={searchBox}
            type="search"
            placeholder="Search names and messages…"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                setSearch("");
                e.currentTarget.blur();
              }
            }}
            aria-keyshortcuts="/"
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
        <p className="shortcuts muted" aria-label="Keyboard shortcuts">
          <kbd>j</kbd>/<kbd>k</kbd> next/previous · <kbd>/</kbd> search · <kbd>Enter</kbd> read
        </p>
      </div>
      {query ? (
        <SearchResults query={query} platform={filters.platform} threadHref={threadHref} selectedId={selectedId} />
      ) : (
        <Conversations filters={filters} selectedId={selectedId} threadHref={threadHref} listHref={listHref} />
      )}
    </section>
  );
}

function Conversations({
  filters,
  selectedId,
  threadHref,
  listHref,
}: {
  filters: InboxFilters;
  selectedId?: string | undefined;
  threadHref: ConversationListProps["threadHref"];
  listHref: string;
}) {
  const list = useConversationList(filters);
  const markUnread = useMarkUnread();
  const navigate = useNavigate();
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
      {markUnread.isError && <ErrorMessage error={markUnread.error} />}
      <ul className="conversations" aria-label="Inbox">
        {rows.map((c) => (
          <ConversationRow
            key={c.id}
            c={c}
            selected={c.id === selectedId}
            href={threadHref(c.id)}
            onMarkUnread={() =>
              markUnread.mutate(c.id, {
                // the open thread marks what it shows read: close it, as a mail client does
                onSuccess: () => {
                  if (c.id === selectedId) void navigate(listHref);
                },
              })
            }
          />
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
  onMarkUnread,
}: {
  c: ConversationListItem;
  selected: boolean;
  href: string;
  /** Offered on a read row of the inbox (not in search results). */
  onMarkUnread?: () => void;
}) {
  const title = conversationTitle(c);
  const unread = isUnread(c) && !selected;
  const count = unread ? unreadCount(c) : 0;
  return (
    <li className={onMarkUnread ? "has-row-action" : undefined}>
      <Link
        to={href}
        state={FOCUS_THREAD}
        className={`conversation-row${selected ? " selected" : ""}${unread ? " unread" : ""}`}
        aria-current={selected ? "true" : undefined}
        data-conversation-id={c.id}
        data-unread={unread ? "true" : undefined}
      >
        <PlatformIcon platform={c.platform} />
        <span className="row-main">
          <span className="row-top">
            <span className="row-title">
              {unread && <span className="unread-dot" aria-label="Unread" role="img" />}
              {title}
            </span>
            {count > 0 && (
              <span className="unread-count" aria-label={`${count} unread`} data-testid="unread-count">
                {count > 99 ? "99+" : count}
              </span>
            )}
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
            {c.participant_name &&
              c.participant_name !== title &&
              !sameNumber(c.participant_name, c.participant_identifier) && (
                <span className="identifier">{c.participant_name}</span>
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
      {onMarkUnread && !unread && c.last_message_at && (
        <button
          type="button"
          className="row-action"
          onClick={onMarkUnread}
          aria-label={`Mark ${title} as unread`}
          title="Mark as unread"
        >
          Mark unread
        </button>
      )}
    </li>
  );
}

function SearchResults({
  query,
  platform,
  threadHref,
  selectedId,
}: {
  query: string;
  platform: string | null;
  threadHref: ConversationListProps["threadHref"];
  selectedId?: string | undefined;
}) {
  const [limit, setLimit] = useState(SEARCH_PAGE_SIZE);
  useEffect(() => setLimit(SEARCH_PAGE_SIZE), [query, platform]);
  const names = useSearchConversations(query);
  const search = useSearchMessages(query, platform, limit);
  const nameRows = (names.data?.rows ?? []).filter((c) => !platform || c.platform === platform);

  return (
    <>
      {names.isError && <ErrorMessage error={names.error} retry={() => void names.refetch()} />}
      {nameRows.length > 0 && (
        <>
          <h2 className="list-heading">
            Conversations{" "}
            <span className="muted">
              ({nameRows.length}
              {names.data?.more ? `, first ${NAME_SEARCH_LIMIT}` : ""})
            </span>
          </h2>
          <ul className="conversations" aria-label="Matching conversations">
            {nameRows.map((c) => (
              <ConversationRow key={c.id} c={c} selected={c.id === selectedId} href={threadHref(c.id)} />
            ))}
          </ul>
        </>
      )}
      {search.isPending ? (
        <Loading label="Searching" />
      ) : search.isError && !search.data ? (
        <ErrorMessage error={search.error} retry={() => void search.refetch()} />
      ) : search.data.hits.length === 0 ? (
        nameRows.length === 0 && !names.isPending ? (
          <Empty>No conversations or messages match “{query}”.</Empty>
        ) : (
          <Empty>No messages match “{query}”.</Empty>
        )
      ) : (
        <>
          <h2 className="list-heading" data-testid="message-hit-count">
            Messages{" "}
            <span className="muted">
              ({search.data.complete ? search.data.hits.length : `first ${search.data.hits.length}`})
            </span>
          </h2>
          <ul className="search-results" aria-label="Search results">
            {search.data.hits.map((hit) => (
              <SearchRow key={`${hit.conversation_id}/${hit.message.id}`} hit={hit} threadHref={threadHref} />
            ))}
          </ul>
          <div className="list-end">
            {search.data.complete ? (
              <span className="muted">
                {search.data.hits.length} {search.data.hits.length === 1 ? "message" : "messages"} match
              </span>
            ) : limit >= SEARCH_MAX_HITS ? (
              <span className="muted">The first {SEARCH_MAX_HITS} matches: add words to narrow the search.</span>
            ) : (
              <button
                type="button"
                onClick={() => setLimit((n) => Math.min(SEARCH_MAX_HITS, n + SEARCH_PAGE_SIZE))}
                disabled={search.isFetching}
              >
                {search.isFetching ? "Searching…" : "Show more results"}
              </button>
            )}
          </div>
        </>
      )}
    </>
  );
}

function SearchRow({ hit, threadHref }: { hit: SearchHit; threadHref: ConversationListProps["threadHref"] }) {
  const m = hit.message;
  const who = m.direction === "outbound" ? "You" : m.sender_name || hit.participant_name || "";
  return (
    <li>
      <Link
        to={threadHref(hit.conversation_id, { id: m.id, sent_at: m.sent_at })}
        state={FOCUS_THREAD}
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
