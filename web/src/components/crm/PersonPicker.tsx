// A searchable person picker: the user types part of a name, the server answers with the
// first matches (never the whole people table), and a choice is one click or Enter.
import { useEffect, useId, useState } from "react";
import { usePeopleSearch } from "../../hooks/use-people";
import { describeError } from "../../lib/errors";

export function PersonPicker({
  label,
  onPick,
  disabled = false,
}: {
  label: string;
  onPick: (person: { id: string; full_name: string }) => void;
  disabled?: boolean;
}) {
  const [text, setText] = useState("");
  const [debounced, setDebounced] = useState("");
  const [open, setOpen] = useState(false);
  const listId = useId();
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(text), 250);
    return () => clearTimeout(timer);
  }, [text]);
  const people = usePeopleSearch(debounced);
  const rows = people.data?.rows ?? [];
  const total = people.data?.total ?? 0;

  return (
    <div
      className="picker"
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOpen(false);
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape") setOpen(false);
      }}
    >
      <label>
        {label}{" "}
        <input
          type="search"
          role="combobox"
          aria-expanded={open}
          aria-controls={listId}
          aria-autocomplete="list"
          placeholder="Search people…"
          value={text}
          disabled={disabled}
          onFocus={() => setOpen(true)}
          onChange={(e) => {
            setText(e.target.value);
            setOpen(true);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && rows[0] && debounced === text) {
              e.preventDefault();
              onPick(rows[0]);
              setOpen(false);
            }
          }}
        />
      </label>
      {open && (
        <div className="picker-results" id={listId}>
          {people.isError ? (
            <p role="alert" className="error">
              {describeError(people.error)}
            </p>
          ) : people.isPending ? (
            <p className="muted">Searching…</p>
          ) : rows.length === 0 ? (
            <p className="muted">No person matches “{debounced}”.</p>
          ) : (
            <>
              <ul aria-label="People">
                {rows.map((p) => (
                  <li key={p.id}>
                    <button
                      type="button"
                      onClick={() => {
                        onPick(p);
                        setOpen(false);
                      }}
                    >
                      {p.full_name}
                      {p.phone || p.email ? <span className="muted"> · {p.phone ?? p.email}</span> : null}
                    </button>
                  </li>
                ))}
              </ul>
              <p className="muted picker-count" data-testid="picker-count">
                {total > rows.length
                  ? `${rows.length} of ${total} people: type more of the name to narrow them`
                  : `${total} ${total === 1 ? "person" : "people"}`}
              </p>
            </>
          )}
        </div>
      )}
    </div>
  );
}
