// The contact of a conversation beside the thread: who it is on the platform, the CRM
// person it is linked to, or a person made from it in one step.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useCreatePersonFromConversation } from "../../hooks/use-chat-conversations";
import { describeError } from "../../lib/errors";
import { formatDateTime } from "../../lib/format";
import type { ConversationListItem } from "../../types/messaging";
import { CoveragePanel } from "./CoveragePanel";
import { MergeConversationsDialog } from "./MergeConversationsDialog";
import { platformLabel } from "./PlatformIcon";

export function ContactPanel({
  conversation: c,
  personHref,
  onClose,
}: {
  conversation: ConversationListItem;
  personHref: (personId: string) => string;
  onClose: () => void;
}) {
  const create = useCreatePersonFromConversation(c);
  const [name, setName] = useState(c.participant_name || c.participant_identifier || "");
  const [coverage, setCoverage] = useState(false);
  return (
    <aside className="contact-panel" id="contact-panel" aria-label="Contact">
      <div className="panel-head">
        <h3>Contact</h3>
        <button type="button" onClick={onClose} aria-label="Close the contact panel">
          ✕
        </button>
      </div>
      <dl>
        <dt>Name on {platformLabel(c.platform)}</dt>
        <dd>{c.participant_name || "—"}</dd>
        <dt>Identifier</dt>
        <dd>{c.participant_identifier || c.external_conversation_id}</dd>
        <dt>Type</dt>
        <dd>{c.conversation_type === "group" ? "Group" : "Direct"}</dd>
        <dt>Messages</dt>
        <dd>
          {c.message_count}
          {c.first_message_at && (
            <span className="muted">
              {" "}
              · {formatDateTime(c.first_message_at)} – {formatDateTime(c.last_message_at)}
            </span>
          )}
        </dd>
        <dt>Person</dt>
        <dd>
          {c.person ? (
            <Link to={personHref(c.person.id)}>{c.person.full_name}</Link>
          ) : (
            <span className="unlinked">Not linked</span>
          )}
        </dd>
      </dl>
      <button
        type="button"
        aria-expanded={coverage}
        aria-controls="coverage-panel"
        onClick={() => setCoverage((open) => !open)}
      >
        {coverage ? "Hide where the history comes from" : "Where the history comes from"}
      </button>
      {coverage && (
        <div id="coverage-panel">
          <CoveragePanel conversationId={c.id} updatedAt={c.updated_at} />
        </div>
      )}
      {!c.person && (
        <form
          className="create-person"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate(name);
          }}
        >
          <label>
            Full name <input value={name} onChange={(e) => setName(e.target.value)} required />
          </label>
          <button type="submit" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create person from conversation"}
          </button>
          {create.isError && (
            <p role="alert" className="error">
              {describeError(create.error)}
            </p>
          )}
        </form>
      )}
      <MergeConversationsDialog conversation={c} />
    </aside>
  );
}
