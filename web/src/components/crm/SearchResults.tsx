// The inbox's search results: the conversations whose contact matches (the exact name
// first, then names starting with the query, then the rest; pages of 20 with "Show more
// conversations"), then the messages whose words match, hits in the text before hits
// only through the sender's name. The open conversation and the open hit are marked
// (aria-current); a media hit says its kind and file name.
import { useEffect, useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import {
  SEARCH_MAX_HITS,
  SEARCH_PAGE_SIZE,
  useSearchConversations,
  useSearchMessages,
  type ConversationHit,
  type MessageHit,
  type SearchState,
} from "../../hooks/use-message-search";
import { formatDateTime } from "../../lib/format";
import { mediaLabel } from "../../lib/snippet";
import type { ThreadAnchor } from "../../types/messaging";
import { Empty, ErrorMessage, Loading } from "../ui/States";
import { PlatformIcon } from "./PlatformIcon";
import { Snippet } from "./Snippet";

/** Link state of a hit: the thread takes the keyboard focus once it has loaded. */
const FOCUS_THREAD = { focusThread: true } as const;

export interface SearchResultsProps {
  /** The query (already debounced) and every filter. */
  state: SearchState;
  threadHref: (conversationId: string, anchor?: ThreadAnchor) => string;
  /** The open conversation, and the open message hit in it (the thread's `msg`). */
  selectedId?: string | undefined;
  selectedMessageId?: string | null | undefined;
  /** One matching conversation as the inbox shows its rows. */
  renderConversation: (c: ConversationHit, selected: boolean) => ReactNode;
}

export function SearchResults({
  state,
  threadHref,
  selectedId,
  selectedMessageId,
  renderConversation,
}: SearchResultsProps) {
  const [limit, setLimit] = useState(SEARCH_PAGE_SIZE);
  const q = state.q.trim();
  const filters = [state.platform, state.linked, state.from, state.to, state.direction, state.person].join("|");
  useEffect(() => setLimit(SEARCH_PAGE_SIZE), [q, filters]);
  const contacts = useSearchConversations(state);
  const search = useSearchMessages(state, limit);
  const rows = contacts.data?.pages.flatMap((p) => p.rows) ?? [];
  const hits = search.data?.hits ?? [];
  const textHits = hits.filter((h) => h.matched_in !== "sender_name");
  const nameHits = hits.filter((h) => h.matched_in === "sender_name");
  const filtered = Boolean(state.platform || state.linked || state.from || state.to || state.direction || state.person);

  return (
    <div className="search-results-pane" aria-busy={contacts.isFetching || search.isFetching}>
      {contacts.isError && <ErrorMessage error={contacts.error} retry={() => void contacts.refetch()} />}
      {rows.length > 0 && (
        <>
          <h2 className="list-heading" data-testid="conversation-hit-count">
            Conversations <span className="muted">({contacts.hasNextPage ? `first ${rows.length}` : rows.length})</span>
          </h2>
          <ul className="conversations" aria-label="Matching conversations">
            {rows.map((c) => renderConversation(c, c.id === selectedId && !selectedMessageId))}
          </ul>
          {contacts.hasNextPage && (
            <div className="list-end">
              <button
                type="button"
                onClick={() => void contacts.fetchNextPage()}
                disabled={contacts.isFetchingNextPage}
              >
                {contacts.isFetchingNextPage ? "Loading more…" : "Show more conversations"}
              </button>
            </div>
          )}
        </>
      )}
      {search.isPending ? (
        <Loading label="Searching" />
      ) : search.isError && !search.data ? (
        <ErrorMessage error={search.error} retry={() => void search.refetch()} />
      ) : hits.length === 0 ? (
        <Empty>
          {rows.length === 0 && !contacts.isPending
            ? `No conversations or messages match “${q}”${filtered ? " with these filters" : ""}.`
            : `No messages match “${q}”${filtered ? " with these filters" : ""}.`}
        </Empty>
      ) : (
        <>
          <h2 className="list-heading" data-testid="message-hit-count">
            Messages <span className="muted">({search.data.complete ? hits.length : `first ${hits.length}`})</span>
          </h2>
          {textHits.length > 0 && (
            <ul className="search-results" aria-label="Search results">
              {textHits.map((hit) => (
                <SearchRow
                  key={`${hit.conversation_id}/${hit.message.id}`}
                  hit={hit}
                  href={threadHref(hit.conversation_id, { id: hit.message.id, sent_at: hit.message.sent_at })}
                  current={hit.conversation_id === selectedId && hit.message.id === selectedMessageId}
                />
              ))}
            </ul>
          )}
          {nameHits.length > 0 && (
            <>
              <h3 className="list-subheading">Only the sender’s name matches</h3>
              <ul className="search-results sender-name-hits" aria-label="Matches of the sender's name">
                {nameHits.map((hit) => (
                  <SearchRow
                    key={`${hit.conversation_id}/${hit.message.id}`}
                    hit={hit}
                    href={threadHref(hit.conversation_id, { id: hit.message.id, sent_at: hit.message.sent_at })}
                    current={hit.conversation_id === selectedId && hit.message.id === selectedMessageId}
                  />
                ))}
              </ul>
            </>
          )}
          <div className="list-end">
            {search.data.complete ? (
              <span className="muted">
                {hits.length} {hits.length === 1 ? "message" : "messages"} match
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
    </div>
  );
}

function SearchRow({ hit, href, current }: { hit: MessageHit; href: string; current: boolean }) {
  const m = hit.message;
  const who = m.direction === "outbound" ? "You" : m.sender_name || hit.participant_name || "";
  const media = mediaLabel(m);
  return (
    <li>
      <Link
        to={href}
        state={FOCUS_THREAD}
        className={`conversation-row search-hit${current ? " selected" : ""}`}
        aria-current={current ? "true" : undefined}
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
            {media && <span className="media-kind">{media}</span>}
            {media && hit.snippet ? " — " : null}
            {hit.snippet ? <Snippet text={hit.snippet} /> : media ? null : <span className="muted">(no text)</span>}
          </span>
        </span>
      </Link>
    </li>
  );
}
