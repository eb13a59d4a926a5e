// The name the business's own WhatsApp app gives this conversation's number (its contacts,
// synced by smb_app_state_sync): shown where the user links the conversation to a person,
// with a button to create the person under that name. A suggestion only: nothing is linked
// or merged until the user picks.
import { useCreatePersonFromConversation } from "../../hooks/use-chat-conversations";
import { useContactNameSuggestions } from "../../hooks/use-connections";
import { describeError } from "../../lib/errors";
import type { ConversationListItem } from "../../types/messaging";

export function ContactNameSuggestion({ conversation }: { conversation: ConversationListItem }) {
  const direct = conversation.conversation_type === "direct";
  const names = useContactNameSuggestions(direct ? conversation.participant_identifier : null);
  const create = useCreatePersonFromConversation(conversation);
  const first = names.data?.[0];
  if (!first) return null;
  return (
    <div className="contact-name-suggestion" data-testid="contact-name-suggestion">
      In the business’s WhatsApp app this number is <strong>{first.full_name}</strong>{" "}
      <button type="button" onClick={() => create.mutate(first.full_name)} disabled={create.isPending}>
        {create.isPending ? "Creating…" : `Create person “${first.full_name}”`}
      </button>
      {create.isError && (
        <span role="alert" className="error">
          {describeError(create.error)}
        </span>
      )}
    </div>
  );
}
