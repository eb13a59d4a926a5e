// "Merge with another conversation of this customer", from the contact panel: pick the other
// conversation (suggested duplicates first), see what moves (a dry run: messages, span,
// duplicates), confirm; the merge record below keeps an Undo.
import { useEffect, useId, useState } from "react";
import { useMerge, useMergeCandidates, useMergePreview, type ConversationMergeAnswer } from "../../hooks/use-merges";
import { describeError } from "../../lib/errors";
import { formatDateTime } from "../../lib/format";
import type { ConversationListItem } from "../../types/messaging";
import { DuplicateSuggestions } from "./DuplicateSuggestions";
import { MergeRecords } from "./MergeRecords";
import { platformLabel } from "./PlatformIcon";

function span(from: string | null, to: string | null): string {
  return from ? `${formatDateTime(from)} – ${formatDateTime(to)}` : "no messages";
}

export function MergeConversationsDialog({ conversation: c }: { conversation: ConversationListItem }) {
  const [open, setOpen] = useState(false);
  const [otherId, setOtherId] = useState<string | null>(null);
  const titleId = useId();
  const merge = useMerge<ConversationMergeAnswer>("conversations");
  if (c.conversation_type !== "direct") return null;

  function review(id: string) {
    setOtherId(id);
    setOpen(true);
    merge.reset();
  }

  return (
    <div className="merge">
      <DuplicateSuggestions kind="conversations" subjectId={c.id} onReview={(id) => review(id)} />
      {!open && (
        <button
          type="button"
          onClick={() => {
            setOtherId(null);
            setOpen(true);
            merge.reset();
          }}
        >
          Merge with another conversation of this customer
        </button>
      )}
      {open && (
        <div role="dialog" aria-labelledby={titleId} className="merge-dialog">
          <h4 id={titleId}>Merge another {platformLabel(c.platform)} conversation into this one</h4>
          {!otherId ? (
            <CandidatePicker conversation={c} onPick={setOtherId} />
          ) : (
            <Preview
              keepId={c.id}
              otherId={otherId}
              merging={merge.isPending}
              onMerge={() => merge.mutate({ keepId: c.id, otherId }, { onSuccess: () => setOpen(false) })}
              onBack={() => setOtherId(null)}
            />
          )}
          {merge.isError && (
            <p role="alert" className="error">
              {describeError(merge.error)}
            </p>
          )}
          <button type="button" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </div>
      )}
      {merge.data && !open && (
        <p role="status">
          Merged: {merge.data.moved} messages moved in, {merge.data.duplicates} already here; {merge.data.message_count}{" "}
          messages in all.
        </p>
      )}
      <MergeRecords subjectId={c.id} />
    </div>
  );
}

function CandidatePicker({
  conversation: c,
  onPick,
}: {
  conversation: ConversationListItem;
  onPick: (id: string) => void;
}) {
  const [text, setText] = useState("");
  const [debounced, setDebounced] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(text), 250);
    return () => clearTimeout(timer);
  }, [text]);
  const candidates = useMergeCandidates(c, debounced);
  const rows = candidates.data ?? [];
  return (
    <div>
      <label>
        Find the other conversation{" "}
        <input type="search" value={text} placeholder="Name or number…" onChange={(e) => setText(e.target.value)} />
      </label>
      {candidates.isError && (
        <p role="alert" className="error">
          {describeError(candidates.error)}
        </p>
      )}
      {candidates.isSuccess && rows.length === 0 && (
        <p className="muted">No other {platformLabel(c.platform)} conversation matches.</p>
      )}
      <ul aria-label="Conversations to merge">
        {rows.map((r) => (
          <li key={r.id}>
            <button type="button" onClick={() => onPick(r.id)} data-conversation-id={r.id}>
              {r.participant_name || r.participant_identifier || r.external_conversation_id}
            </button>{" "}
            <span className="muted">
              {r.participant_identifier ?? r.external_conversation_id} · {r.message_count} messages
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Preview({
  keepId,
  otherId,
  merging,
  onMerge,
  onBack,
}: {
  keepId: string;
  otherId: string;
  merging: boolean;
  onMerge: () => void;
  onBack: () => void;
}) {
  const preview = useMergePreview<ConversationMergeAnswer>("conversations", keepId, otherId);
  if (preview.isPending) return <p className="muted">Working out what moves…</p>;
  if (preview.isError) {
    return (
      <>
        <p role="alert" className="error">
          {describeError(preview.error)}
        </p>
        <button type="button" onClick={onBack}>
          Choose another
        </button>
      </>
    );
  }
  const p = preview.data;
  return (
    <div className="merge-preview" role="region" aria-label="What moves">
      <p>
        <strong>{p.moved}</strong> messages move in from <strong>{p.other_key}</strong> (
        {span(p.first_moved_at, p.last_moved_at)}); <strong>{p.duplicates}</strong> already here (kept once). This
        conversation will hold <strong>{p.message_count}</strong> messages; the other one is removed. Undo puts both
        back as they were.
      </p>
      <button type="button" onClick={onMerge} disabled={merging}>
        {merging ? "Merging…" : `Merge ${p.moved} messages`}
      </button>{" "}
      <button type="button" onClick={onBack}>
        Choose another
      </button>
    </div>
  );
}
