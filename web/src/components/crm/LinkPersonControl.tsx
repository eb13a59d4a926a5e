// Link a conversation to one of the user's people (which records the contact's identifier on
// the person, linking the person's other conversations of it too), or unlink it.
import { Link } from "react-router-dom";
import { useLinkConversation } from "../../hooks/use-chat-conversations";
import { describeError } from "../../lib/errors";
import type { ConversationListItem } from "../../types/messaging";
import { ContactNameSuggestion } from "./ContactNameSuggestion";
import { PersonPicker } from "./PersonPicker";

export function LinkPersonControl({
  conversation,
  personHref,
}: {
  conversation: ConversationListItem;
  personHref: (personId: string) => string;
}) {
  const link = useLinkConversation(conversation.id);

  if (conversation.person) {
    return (
      <div className="link-control">
        Linked to{" "}
        <Link to={personHref(conversation.person.id)} className="linked-person">
          {conversation.person.full_name}
        </Link>
        <button type="button" onClick={() => link.mutate(null)} disabled={link.isPending}>
          {link.isPending ? "Unlinking…" : "Unlink"}
        </button>
        {link.isError && (
          <span role="alert" className="error">
            {describeError(link.error)}
          </span>
        )}
      </div>
    );
  }
  return (
    <div className="link-control">
      <PersonPicker
        label="Link to person"
        conversationId={conversation.id}
        onPick={(p) => link.mutate(p.id)}
        disabled={link.isPending}
      />
      <ContactNameSuggestion conversation={conversation} />
      {link.isPending && <span className="muted">Linking…</span>}
      {link.isError && (
        <span role="alert" className="error">
          {describeError(link.error)}
        </span>
      )}
    </div>
  );
}
