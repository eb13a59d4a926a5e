import { useParams, useSearchParams } from "react-router-dom";
import { ConversationList } from "../components/crm/ConversationList";
import { ConversationThread } from "../components/crm/ConversationThread";
import { Empty } from "../components/ui/States";
import { personHref, threadHref } from "../lib/routes";
import type { ThreadAnchor } from "../types/messaging";

export function InboxPage() {
  const { conversationId } = useParams();
  const [params] = useSearchParams();
  const msg = params.get("msg");
  const at = params.get("at");
  const anchor: ThreadAnchor | null = msg && at ? { id: msg, sent_at: at } : null;

  return (
    <div className="inbox">
      <ConversationList selectedId={conversationId} threadHref={threadHref} />
      <div className="thread-pane">
        {conversationId ? (
          <ConversationThread
            key={`${conversationId}/${msg ?? ""}/${at ?? ""}`}
            conversationId={conversationId}
            anchor={anchor}
            threadHref={threadHref}
            personHref={personHref}
          />
        ) : (
          <Empty>Choose a conversation to read it.</Empty>
        )}
      </div>
    </div>
  );
}
