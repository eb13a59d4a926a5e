// The inbox's filters: platform and "not linked to a person" (the list and the search),
// and while searching "linked to a person", the date range, direction and person too. Every value lives in the URL
// (useSearchState), so reload, back / forward and a shared link keep them.
import { useId, useState } from "react";
import { usePeopleSearch, usePerson } from "../../hooks/use-people";
import type { SearchState } from "../../hooks/use-message-search";
import { PLATFORMS, PLATFORM_LABELS, isPlatform } from "../../types/messaging";

export interface SearchFiltersProps {
  state: SearchState;
  onChange: (patch: Partial<SearchState>) => void;
  /** While a query is typed: the filters only the search takes are shown too. */
  searching: boolean;
}

export function SearchFilters({ state, onChange, searching }: SearchFiltersProps) {
  const active =
    Boolean(state.platform || state.linked) ||
    (searching && Boolean(state.from || state.to || state.direction || state.person));
  return (
    <div className="filters" role="group" aria-label="Filters">
      <label>
        Platform{" "}
        <select
          value={state.platform ?? ""}
          onChange={(e) => {
            const v = e.target.value;
            onChange({ platform: isPlatform(v) ? v : null });
          }}
        >
          <option value="">All platforms</option>
          {PLATFORMS.map((p) => (
            <option key={p} value={p}>
              {PLATFORM_LABELS[p]}
            </option>
          ))}
        </select>
      </label>
      <label>
        <input
          type="checkbox"
          checked={state.linked === "unlinked"}
          onChange={(e) => onChange({ linked: e.target.checked ? "unlinked" : null })}
        />{" "}
        Not linked to a person
      </label>
      {(searching || state.linked === "linked") && (
        <label>
          <input
            type="checkbox"
            checked={state.linked === "linked"}
            onChange={(e) => onChange({ linked: e.target.checked ? "linked" : null })}
          />{" "}
          Linked to a person
        </label>
      )}
      {searching && (
        <>
          <label>
            From{" "}
            <input
              type="date"
              value={state.from ?? ""}
              max={state.to ?? undefined}
              onChange={(e) => onChange({ from: e.target.value || null })}
            />
          </label>
          <label>
            To{" "}
            <input
              type="date"
              value={state.to ?? ""}
              min={state.from ?? undefined}
              onChange={(e) => onChange({ to: e.target.value || null })}
            />
          </label>
          <label>
            Direction{" "}
            <select
              value={state.direction ?? ""}
              onChange={(e) => {
                const v = e.target.value;
                onChange({ direction: v === "inbound" || v === "outbound" ? v : null });
              }}
            >
              <option value="">Sent and received</option>
              <option value="inbound">Received</option>
              <option value="outbound">Sent by me</option>
            </select>
          </label>
          <PersonFilter personId={state.person} onChange={(person) => onChange({ person })} />
        </>
      )}
      {active && (
        <button
          type="button"
          className="link-button"
          onClick={() =>
            onChange({ platform: null, linked: null, from: null, to: null, direction: null, person: null })
          }
        >
          Clear filters
        </button>
      )}
    </div>
  );
}

/** One person (their conversations and messages only): a name to type, then a choice. */
function PersonFilter({ personId, onChange }: { personId: string | null; onChange: (id: string | null) => void }) {
  return personId ? (
    <PersonChip personId={personId} onClear={() => onChange(null)} />
  ) : (
    <PersonChoice onChoose={onChange} />
  );
}

function PersonChip({ personId, onClear }: { personId: string; onClear: () => void }) {
  const person = usePerson(personId);
  const name = person.data?.full_name ?? (person.isPending ? "…" : "Unknown person");
  return (
    <span className="filter-chip">
      Person: <strong>{name}</strong>{" "}
      <button type="button" aria-label={`Remove the person filter (${name})`} onClick={onClear}>
        ×
      </button>
    </span>
  );
}

function PersonChoice({ onChoose }: { onChoose: (id: string) => void }) {
  const [text, setText] = useState("");
  const listId = useId();
  const people = usePeopleSearch(text);
  const options = text.trim() ? (people.data?.rows ?? []).slice(0, 8) : [];
  return (
    <span className="person-filter">
      <label>
        Person{" "}
        <input
          type="search"
          placeholder="Any person"
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-controls={options.length ? listId : undefined}
        />
      </label>
      {options.length > 0 && (
        <ul id={listId} className="person-filter-options" aria-label="People">
          {options.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                onClick={() => {
                  setText("");
                  onChoose(p.id);
                }}
              >
                {p.full_name}
              </button>
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}
