// The conversations that came in on one connection (newest first), each a link to its thread.
import { Link } from "react-router-dom";
import { CONNECTION_CONVERSATIONS_LIMIT, useConnectionConversations } from "../../hooks/use-connections";
import { formatDateTime, relativeTime } from "../../lib/format";
import { conversationTitle } from "../../types/messaging";
import { Empty, ErrorMessage, Loading } from "../ui/States";

export function ConnectionConversations({
  connectionId,
  account,
  total,
  threadHref,
}: {
  connectionId: string;
  account: string;
  total: number;
  threadHref: (conversationId: string) => string;
}) {
  const conversations = useConnectionConversations(connectionId, true);
  if (conversations.isPending) return <Loading label="Loading the conversations" />;
  if (conversations.isError) {
    return <ErrorMessage error={conversations.error} retry={() => void conversations.refetch()} />;
  }
  if (conversations.data.length === 0) return <Empty>No conversations came in on this connection.</Empty>;
  return (
    <div className="connection-conversations">
      <ul aria-label={`Conversations of ${account}`}>
        {conversations.data.map((c) => (
          <li key={c.id}>
            <Link to={threadHref(c.id)}>{conversationTitle(c)}</Link>{" "}
            <span className="muted">
              {c.message_count.toLocaleString()} {c.message_count === 1 ? "message" : "messages"}
              {c.last_message_at && (
                <>
                  {" · "}
                  <time dateTime={c.last_message_at} title={formatDateTime(c.last_message_at)}>
                    {relativeTime(c.last_message_at)}
                  </time>
                </>
              )}
            </span>
          </li>
        ))}
      </ul>
      {total > conversations.data.length && (
        <p className="muted">
          The newest {CONNECTION_CONVERSATIONS_LIMIT} of {total.toLocaleString()}: the inbox has them all.
        </p>
      )}
    </div>
  );
}
