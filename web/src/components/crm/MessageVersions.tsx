// The "edited" mark of a message: a button when the store kept earlier versions, which
// opens them (oldest first, each with its time) under the message; a plain mark otherwise.
import { useId, useState } from "react";
import { formatDateTime } from "../../lib/format";
import type { MessageVersions } from "../../lib/versions";

export function EditedMark({
  history,
  current,
  currentLabel = "now",
}: {
  history: MessageVersions;
  /** The text the message holds now (or kept when deleted), listed last. */
  current: string | null;
  currentLabel?: string;
}) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const { versions, dropped } = history;
  if (versions.length === 0) return <span className="edited">edited</span>;
  const count = versions.length + dropped;
  return (
    <>
      <button
        type="button"
        className="edited edited-toggle"
        aria-expanded={open}
        aria-controls={id}
        title={open ? "Hide the earlier versions" : "Show the earlier versions"}
        onClick={() => setOpen((o) => !o)}
      >
        edited
        <span className="visually-hidden">
          , {count} earlier {count === 1 ? "version" : "versions"}
        </span>
      </button>
      {open && (
        <div className="versions" id={id} role="region" aria-label="Earlier versions">
          <p className="versions-head">Earlier versions, oldest first</p>
          {dropped > 0 && (
            <p className="muted versions-dropped">
              {dropped} older {dropped === 1 ? "version is" : "versions are"} not kept (the newest 20 are)
            </p>
          )}
          <ol>
            {versions.map((v, i) => (
              <li key={`${v.at}-${i}`}>
                <time dateTime={v.at}>{formatDateTime(v.at)}</time>
                {v.content ? (
                  <span className="version-text">{v.content}</span>
                ) : (
                  <span className="muted">(no text)</span>
                )}
              </li>
            ))}
            {current !== null && (
              <li className="version-now">
                <span className="muted">{currentLabel}</span>
                <span className="version-text">{current}</span>
              </li>
            )}
          </ol>
        </div>
      )}
    </>
  );
}
