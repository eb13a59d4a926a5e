// A person's data: "Export data" (downloads export_person's JSON document) and "Erase this
// person" (asks for the person's name first). Presentation only: the calls come in as
// props (useExportPerson, useErasePerson in hooks/use-person-timeline.ts).
import { useId, useState } from "react";
import { describeError } from "../../lib/errors";
import "./person-timeline.css";

export interface PersonDataActionsProps {
  personName: string;
  /** Reads the export; the component downloads it. */
  onExport: () => Promise<unknown>;
  exporting: boolean;
  exportError: unknown;
  onErase: () => void;
  erasing: boolean;
  eraseError: unknown;
}

/** A file name for the export: person-<name>-<yyyy-mm-dd>.json. */
export function exportFileName(personName: string, now: Date = new Date()): string {
  const slug =
    personName
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "person";
  return `person-${slug}-${now.toISOString().slice(0, 10)}.json`;
}

function download(name: string, data: unknown) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function PersonDataActions(props: PersonDataActionsProps) {
  const { personName } = props;
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState("");
  const inputId = useId();
  const matches = typed.trim() === personName.trim();

  return (
    <section className="person-data" aria-labelledby="person-data-title">
      <h2 id="person-data-title">This person&rsquo;s data</h2>
      <p className="muted">A copy of everything stored about them (GDPR art. 15), or its erasure (art. 17).</p>
      <div className="person-data-buttons">
        <button
          type="button"
          disabled={props.exporting}
          onClick={() => {
            void props.onExport().then(
              (doc) => download(exportFileName(personName), doc),
              () => undefined,
            );
          }}
        >
          {props.exporting ? "Exporting…" : "Export data"}
        </button>
        {!confirming && (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Erase this person…
          </button>
        )}
      </div>
      {props.exportError != null && (
        <p role="alert" className="error">
          Export failed: {describeError(props.exportError)}
        </p>
      )}
      {confirming && (
        <form
          className="erase-confirm"
          onSubmit={(e) => {
            e.preventDefault();
            if (matches) props.onErase();
          }}
        >
          <p>
            This removes {personName}, their identifiers and every message of their conversations, on every platform,
            for good. Only hashes of the message ids are kept, so an import of the same messages does not bring them
            back; new messages from them still arrive.
          </p>
          <label htmlFor={inputId}>Type “{personName}” to confirm</label>
          <input id={inputId} value={typed} autoComplete="off" onChange={(e) => setTyped(e.target.value)} />
          <div className="person-data-buttons">
            <button type="submit" className="danger" disabled={!matches || props.erasing}>
              {props.erasing ? "Erasing…" : "Erase for good"}
            </button>
            <button
              type="button"
              onClick={() => {
                setConfirming(false);
                setTyped("");
              }}
            >
              Cancel
            </button>
          </div>
          {props.eraseError != null && (
            <p role="alert" className="error">
              Erase failed: {describeError(props.eraseError)}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
