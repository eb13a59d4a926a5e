// The person picker of a conversation: it opens with the people whose identifiers match the
// conversation's contact on top (suggest_people), then recent ones, then by name; typing
// narrows them on the server (never the whole people table). A combobox over a listbox:
// the arrow keys move through the options, Enter picks, Escape closes, a click picks.
import { useEffect, useId, useState } from "react";
import { usePeopleSuggestions, type PickerPerson, type SuggestionReason } from "../../hooks/use-people";
import { describeError } from "../../lib/errors";

const REASON_LABEL: Record<SuggestionReason, string | null> = {
  identifier: "matches this contact",
  recent: "recent",
  name: null,
};

export function PersonPicker({
  label,
  conversationId,
  onPick,
  disabled = false,
}: {
  label: string;
  /** The conversation whose contact's matches come first; none when merging people. */
  conversationId?: string | null;
  onPick: (person: PickerPerson) => void;
  disabled?: boolean;
}) {
  const [text, setText] = useState("");
  const [debounced, setDebounced] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listId = useId();
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(text), 250);
    return () => clearTimeout(timer);
  }, [text]);
  const people = usePeopleSuggestions(conversationId ?? null, debounced);
  const rows = people.data?.rows ?? [];
  const total = people.data?.total ?? 0;
  // a new answer starts again at its first option
  useEffect(() => setActive(0), [people.data]);
  const current = open && rows.length > 0 ? rows[Math.min(active, rows.length - 1)] : undefined;
  const optionId = (id: string) => `${listId}-option-${id}`;

  // opening starts at the first option (the best suggestion)
  const openList = () => {
    if (!open) setActive(0);
    setOpen(true);
  };
  const pick = (person: PickerPerson) => {
    onPick(person);
    setOpen(false);
  };

  return (
    <div
      className="picker"
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOpen(false);
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
          aria-activedescendant={current ? optionId(current.id) : undefined}
          placeholder="Search people…"
          value={text}
          disabled={disabled}
          onFocus={openList}
          onClick={openList}
          onChange={(e) => {
            setText(e.target.value);
            openList();
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              if (!open) {
                openList();
                return;
              }
              const step = e.key === "ArrowDown" ? 1 : -1;
              setActive((a) => (rows.length ? (Math.min(a, rows.length - 1) + step + rows.length) % rows.length : 0));
            } else if (e.key === "Home" && open && rows.length) {
              e.preventDefault();
              setActive(0);
            } else if (e.key === "End" && open && rows.length) {
              e.preventDefault();
              setActive(rows.length - 1);
            } else if (e.key === "Enter" && current && debounced === text) {
              e.preventDefault();
              pick(current);
            } else if (e.key === "Escape" && open) {
              // the search field's own Escape would also clear the text: close only
              e.preventDefault();
              e.stopPropagation();
              setOpen(false);
            }
          }}
        />
      </label>
      {open && (
        <div className="picker-results">
          {people.isError ? (
            <p role="alert" className="error">
              {describeError(people.error)}
            </p>
          ) : people.isPending ? (
            <p className="muted">Searching…</p>
          ) : rows.length === 0 ? (
            <p className="muted">{debounced ? `No person matches “${debounced}”.` : "No people yet."}</p>
          ) : null}
          <ul role="listbox" id={listId} aria-label="People" hidden={rows.length === 0 || people.isError}>
            {rows.map((p) => (
              <li
                key={p.id}
                id={optionId(p.id)}
                role="option"
                aria-selected={current?.id === p.id}
                className={current?.id === p.id ? "active" : undefined}
                // keep the focus in the field: a click picks without blurring it first
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => pick(p)}
              >
                <span className="picker-name">{p.full_name}</span>
                {REASON_LABEL[p.reason] && (
                  <span className={`picker-reason ${p.reason}`}>{REASON_LABEL[p.reason]}</span>
                )}
                {p.phone || p.email ? <span className="muted picker-detail">{p.phone ?? p.email}</span> : null}
              </li>
            ))}
          </ul>
          {rows.length > 0 && !people.isError && (
            <p className="muted picker-count" data-testid="picker-count">
              {total > 1000
                ? `${rows.length} of more than 1,000 people: type ${debounced ? "more of " : ""}the name to narrow them`
                : total > rows.length && debounced
                  ? `${rows.length} of ${total} people: type more of the name to narrow them`
                  : total > rows.length
                    ? `${rows.length} of ${total} people: type a name to find the others`
                    : `${total} ${total === 1 ? "person" : "people"}`}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
