// "Merge with another person", from the person page: pick the person who is the same
// customer (suggested duplicates first), see what moves (identifiers, conversations,
// messages and their span), confirm; the merge record keeps an Undo. The other person's
// row stays in the CRM, marked merged.
import { useId, useState } from "react";
import { useMerge, useMergePreview, type PersonMergeAnswer } from "../../hooks/use-merges";
import { describeError } from "../../lib/errors";
import { formatDateTime } from "../../lib/format";
import { DuplicateSuggestions } from "./DuplicateSuggestions";
import { MergeRecords } from "./MergeRecords";
import { PersonPicker } from "./PersonPicker";

export function MergePeopleDialog({ person }: { person: { id: string; full_name: string } }) {
  const [open, setOpen] = useState(false);
  const [other, setOther] = useState<{ id: string; name: string } | null>(null);
  const titleId = useId();
  const merge = useMerge<PersonMergeAnswer>("people");

  return (
    <div className="merge">
      <DuplicateSuggestions
        kind="people"
        subjectId={person.id}
        onReview={(id, s) => {
          setOther({ id, name: s.label ?? "the suggested person" });
          setOpen(true);
          merge.reset();
        }}
      />
      {!open && (
        <button
          type="button"
          onClick={() => {
            setOther(null);
            setOpen(true);
            merge.reset();
          }}
        >
          Merge with another person
        </button>
      )}
      {open && (
        <div role="dialog" aria-labelledby={titleId} className="merge-dialog">
          <h4 id={titleId}>Merge another person into {person.full_name}</h4>
          {!other ? (
            <PersonPicker
              label="The other person"
              onPick={(p) => {
                if (p.id !== person.id) setOther({ id: p.id, name: p.full_name });
              }}
            />
          ) : (
            <PeoplePreview
              keepId={person.id}
              other={other}
              merging={merge.isPending}
              onMerge={() =>
                merge.mutate({ keepId: person.id, otherId: other.id }, { onSuccess: () => setOpen(false) })
              }
              onBack={() => setOther(null)}
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
          Merged: {merge.data.identifiers} identifiers and {merge.data.conversations} conversations moved to{" "}
          {person.full_name}.
        </p>
      )}
      <MergeRecords subjectId={person.id} />
    </div>
  );
}

function PeoplePreview({
  keepId,
  other,
  merging,
  onMerge,
  onBack,
}: {
  keepId: string;
  other: { id: string; name: string };
  merging: boolean;
  onMerge: () => void;
  onBack: () => void;
}) {
  const preview = useMergePreview<PersonMergeAnswer>("people", keepId, other.id);
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
        From <strong>{other.name}</strong>: <strong>{p.identifiers}</strong> identifiers and{" "}
        <strong>{p.conversations}</strong> conversations (<strong>{p.messages ?? 0}</strong> messages
        {p.first_message_at
          ? `, ${formatDateTime(p.first_message_at)} – ${formatDateTime(p.last_message_at ?? null)}`
          : ""}
        ) move here. {other.name} stays in the CRM, marked merged. Undo moves them back.
      </p>
      <button type="button" onClick={onMerge} disabled={merging}>
        {merging ? "Merging…" : `Merge ${other.name} into this person`}
      </button>{" "}
      <button type="button" onClick={onBack}>
        Choose another
      </button>
    </div>
  );
}
