// The store's duplicate suggestions that concern one conversation or person: shown where
// they apply, each a button that opens the merge preview. Nothing is merged from here.
import { useDuplicateSuggestions, type DuplicateSuggestion, type MergeKind } from "../../hooks/use-merges";

const REASONS: Record<string, string> = {
  same_participant: "same contact on this platform",
  same_identifier: "same phone, username or email",
  same_name_and_number: "same name and number on two platforms",
};

export function DuplicateSuggestions({
  kind,
  subjectId,
  onReview,
}: {
  kind: MergeKind;
  subjectId: string;
  onReview: (otherId: string, suggestion: DuplicateSuggestion) => void;
}) {
  const suggestions = useDuplicateSuggestions();
  const mine = (suggestions.data ?? []).filter(
    (s) => s.kind === kind && (s.keep_id === subjectId || s.other_id === subjectId),
  );
  if (mine.length === 0) return null;
  return (
    <div className="duplicate-suggestions" role="region" aria-label="Possible duplicates">
      <p className="muted">Possible duplicate{mine.length > 1 ? "s" : ""} (nothing is merged until you confirm):</p>
      <ul>
        {mine.map((s) => {
          const otherId = s.keep_id === subjectId ? s.other_id : s.keep_id;
          return (
            <li key={`${s.keep_id}-${s.other_id}-${s.reason}`}>
              <button type="button" onClick={() => onReview(otherId, s)}>
                Review merge with {s.label ?? otherId}
              </button>{" "}
              <span className="muted">({REASONS[s.reason] ?? s.reason})</span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
