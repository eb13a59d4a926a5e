// Copying a webhook URL or a secret: the clipboard API where the page may use it, else the
// value selected in a field and the browser's copy command, else the value selected for the
// user to copy with their keys. "Copied" (or what to do instead) is announced.
import { useEffect, useRef, useState } from "react";

type CopyState = "idle" | "copied" | "manual";

/** Copies `text`: true when it reached the clipboard. */
export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // refused (permissions, no focus): try the older way below
    }
  }
  const field = document.createElement("textarea");
  field.value = text;
  field.setAttribute("readonly", "");
  field.style.position = "fixed";
  field.style.opacity = "0";
  document.body.appendChild(field);
  field.select();
  let done: boolean;
  try {
    done = document.execCommand("copy");
  } catch {
    done = false;
  }
  field.remove();
  return done;
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<CopyState>("idle");
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return (
    <span className="copy">
      <button
        type="button"
        className="copy-button"
        aria-label={`Copy ${label}`}
        onClick={() =>
          void copyText(text).then((ok) => {
            setState(ok ? "copied" : "manual");
            window.clearTimeout(timer.current);
            if (ok) timer.current = window.setTimeout(() => setState("idle"), 4000);
          })
        }
      >
        {state === "copied" ? "Copied" : "Copy"}
      </button>
      {/* the button itself says "Copied"; the words are for screen readers, and the fallback's advice for all */}
      <span className={state === "manual" ? "copy-status" : "visually-hidden"} role="status" aria-live="polite">
        {state === "copied" ? `${label} copied` : state === "manual" ? "Select the text and press Ctrl+C (⌘C)" : ""}
      </span>
    </span>
  );
}

/** A value shown whole (wrapping anywhere, never cut), with its copy button. */
export function CopyableValue({ value, label, testId }: { value: string; label: string; testId?: string }) {
  return (
    <span className="copyable">
      <code className="copyable-value" data-testid={testId}>
        {value}
      </code>
      <CopyButton text={value} label={label} />
    </span>
  );
}
