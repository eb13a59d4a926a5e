import { useCallback } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import { ConversationList } from "../components/crm/ConversationList";
import { ConversationThread, NoSuchConversation } from "../components/crm/ConversationThread";
import { Empty } from "../components/ui/States";
import { SkipLink } from "../components/ui/SkipLink";
import { parseSearchState, withSearchState } from "../hooks/use-message-search";
import { isUuid } from "../lib/errors";
import { JUMP_START, connectionHref, personHref, threadHref, threadJumpHref } from "../lib/routes";
import type { ThreadAnchor } from "../types/messaging";

// Wide screens show the list and the thread side by side; a phone shows one at a time
// (the list at /inbox, the thread at /inbox/:id with a way back), styles.css decides.
export function InboxPage() {
  const { conversationId } = useParams();
  const [params] = useSearchParams();
  const msg = params.get("msg");
  const at = params.get("at");
  const anchor: ThreadAnchor | null = msg && at && !Number.isNaN(Date.parse(at)) ? { id: msg, sent_at: at } : null;
  // a conversation or hit opened from the list keeps the search and its filters in the URL
  const search = params.toString();
  const inboxHref = useCallback(
    (id: string, a?: ThreadAnchor) => withSearchState(threadHref(id, a), parseSearchState(new URLSearchParams(search))),
    [search],
  );
  // ?jump=start (the first message) or ?jump=<time>: the thread opens there in one read
  const jumpParam = params.get("jump");
  const jump =
    jumpParam === JUMP_START
      ? { at: null }
      : jumpParam && !Number.isNaN(Date.parse(jumpParam))
        ? { at: new Date(jumpParam).toISOString() }
        : null;

  return (
    <div className={`inbox${conversationId ? " has-thread" : ""}`}>
      {conversationId && <SkipLink target="thread">Skip to the conversation</SkipLink>}
      <ConversationList selectedId={conversationId} selectedMessageId={anchor?.id} threadHref={inboxHref} />
      <div className="thread-pane">
        {conversationId && !isUuid(conversationId) ? (
          // no request: a value that is not a uuid names no conversation
          <NoSuchConversation />
        ) : conversationId ? (
          <ConversationThread
            key={`${conversationId}/${msg ?? ""}/${at ?? ""}/${jumpParam ?? ""}`}
            conversationId={conversationId}
            anchor={anchor}
            jump={jump}
            threadHref={inboxHref}
            personHref={personHref}
            jumpHref={threadJumpHref}
            connectionHref={connectionHref}
          />
        ) : (
          <Empty>Choose a conversation to read it.</Empty>
        )}
      </div>
    </div>
  );
}
