// The merge record of a conversation or person: what moved, when, and Undo while it stands.
import { describeError } from "../../lib/errors";
import { formatDateTime } from "../../lib/format";
import { useMergeRecords, useUndoMerge, type MergeRecord } from "../../hooks/use-merges";

function moved(r: MergeRecord, subjectId: string): string {
  if (r.kind === "conversations") {
    const span = r.first_moved_at
      ? `, ${formatDateTime(r.first_moved_at)} – ${formatDateTime(r.last_moved_at ?? null)}`
      : "";
    return `${r.moved ?? 0} messages moved from ${r.other_label ?? r.other_id}${span}, ${r.duplicates ?? 0} already here`;
  }
  const what = `${r.identifiers ?? 0} identifiers and ${r.conversations ?? 0} conversations`;
  // the merged-away person's own page says where they went
  if (subjectId === r.other_id) return `Merged into ${r.keep_label ?? r.keep_id}: ${what} moved there`;
  return `${what} moved from ${r.other_label ?? r.other_id}`;
}

export function MergeRecords({ subjectId }: { subjectId: string }) {
  const records = useMergeRecords(subjectId);
  const undo = useUndoMerge();
  const rows = records.data ?? [];
  if (rows.length === 0 && !undo.data && !undo.isError) return null;
  return (
    <div className="merge-records" role="region" aria-label="Merges">
      <h4>Merges</h4>
      <ul>
        {rows.map((r) => (
          <li key={r.id} data-merge-id={r.id}>
            <span>
              {moved(r, subjectId)} · merged {formatDateTime(r.merged_at)}
              {r.undone_at ? ` · undone ${formatDateTime(r.undone_at)}` : ""}
            </span>{" "}
            {!r.undone_at && (
              <button type="button" onClick={() => undo.mutate(r.id)} disabled={undo.isPending}>
                {undo.isPending && undo.variables === r.id ? "Undoing…" : "Undo merge"}
              </button>
            )}
          </li>
        ))}
      </ul>
      {undo.data && (
        <p role="status">
          Merge undone
          {undo.data.kind === "conversations"
            ? `: ${undo.data.restored ?? 0} messages are back in their conversation${
                undo.data.kept_in_keep?.length
                  ? `; ${undo.data.kept_in_keep.length} that arrived after the merge stay here`
                  : ""
              }.`
            : `: ${undo.data.identifiers ?? 0} identifiers and ${undo.data.conversations ?? 0} conversations are back.`}
        </p>
      )}
      {undo.isError && (
        <p role="alert" className="error">
          {describeError(undo.error)}
        </p>
      )}
    </div>
  );
}
