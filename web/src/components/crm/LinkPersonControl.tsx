// Link a conversation to one of the user's people, or unlink it (the person_id link column).
import { useState } from "react";
import { Link } from "react-router-dom";
import { useLinkConversation } from "../../hooks/use-chat-conversations";
import { usePeople } from "../../hooks/use-people";
import { describeError } from "../../lib/errors";
import type { ConversationListItem } from "../../types/messaging";

export function LinkPersonControl({
  conversation,
  personHref,
}: {
  conversation: ConversationListItem;
  personHref: (personId: string) => string;
}) {
  const link = useLinkConversation(conversation.id);
  const people = usePeople();
  const [choice, setChoice] = useState("");

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
        {link.isError && <span role="alert" className="error">{describeError(link.error)}</span>}
      </div>
    );
  }
  return (
    <form
      className="link-control"
      onSubmit={(e) => {
        e.preventDefault();
        if (choice) link.mutate(choice);
      }}
    >
      <label>
        Link to person{" "}
        <select value={choice} onChange={(e) => setChoice(e.target.value)} disabled={!people.data}>
          <option value="">{people.isPending ? "Loading people…" : "Choose a person"}</option>
          {people.data?.map((p) => (
            <option key={p.id} value={p.id}>
              {p.full_name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={!choice || link.isPending}>
        {link.isPending ? "Linking…" : "Link"}
      </button>
      {people.isError && <span role="alert" className="error">{describeError(people.error)}</span>}
      {link.isError && <span role="alert" className="error">{describeError(link.error)}</span>}
    </form>
  );
}
