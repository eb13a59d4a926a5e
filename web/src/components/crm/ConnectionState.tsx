// What the platform told the store about the connection itself (docs/kinds.md): WhatsApp's
// history backfill (its three phases, or the business declining to share), Telegram's
// business connection (connected, can reply) and the kinds this version does not know yet
// (kept as "not shown here" lines, or for update types nothing, and counted here). The
// columns are messaging_connections' history_backfill, business_connection, unknown_kinds.
import { formatDateTime, relativeTime } from "../../lib/format";
import type { MessagingConnection } from "../../types/messaging";

type State = Pick<MessagingConnection, "history_backfill" | "business_connection" | "unknown_kinds">;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

function When({ at }: { at: string | null }) {
  return at ? (
    <time dateTime={at} title={formatDateTime(at)}>
      {relativeTime(at)}
    </time>
  ) : null;
}

/** The backfill in words: "phase 2 of 3, 60%", "complete", or "declined by the business". */
export function historyWords(value: unknown): { text: string; declined: boolean; at: string | null } | null {
  const h = obj(value);
  if (!h) return null;
  const error = obj(h.error);
  if (error) {
    const why = str(error.title) ?? str(error.details);
    return { text: `declined by the business${why ? ` (${why})` : ""}`, declined: true, at: str(error.at) };
  }
  const phases = obj(h.phases) ?? {};
  const seen = Object.keys(phases)
    .map(Number)
    .filter((p) => Number.isInteger(p) && p >= 0 && p <= 2)
    .sort((a, b) => b - a);
  const phase = seen[0];
  if (phase === undefined) return null;
  const last = obj(phases[String(phase)]) ?? {};
  const progress = num(last.progress);
  if (phase === 2 && progress !== null && progress >= 100)
    return { text: "complete", declined: false, at: str(last.at) };
  return {
    text: `phase ${phase + 1} of 3${progress !== null ? `, ${Math.round(progress)}%` : ""}`,
    declined: false,
    at: str(last.at),
  };
}

/** The business connection in words, or null when the platform sent none. */
export function businessWords(value: unknown): { text: string; enabled: boolean; at: string | null } | null {
  const b = obj(value);
  if (!b || typeof b.enabled !== "boolean") return null;
  const text = !b.enabled
    ? "disconnected by the business"
    : b.can_reply === true
      ? "connected, can reply"
      : "connected, read only (cannot reply)";
  return { text, enabled: b.enabled, at: str(b.at) };
}

/** The unknown kinds, most seen first: [kind in words, count, last seen]. */
export function unknownKinds(value: unknown): [string, number, string | null][] {
  const u = obj(value) ?? {};
  return Object.entries(u)
    .map(([kind, v]): [string, number, string | null] => {
      const e = obj(v) ?? {};
      return [kind.startsWith("field:") ? `${kind.slice(6)} (webhook field)` : kind, num(e.count) ?? 0, str(e.last_at)];
    })
    .filter((e) => e[1] > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function ConnectionPlatformState({ connection: c }: { connection: State }) {
  const history = historyWords(c.history_backfill);
  const business = businessWords(c.business_connection);
  const unknown = unknownKinds(c.unknown_kinds);
  if (!history && !business && unknown.length === 0) return null;
  return (
    <div className="connection-state">
      {history ? (
        <div
          className={history.declined ? "history-backfill error" : "history-backfill"}
          data-testid="history-backfill"
          title="The chats of the WhatsApp Business app from before it was connected, sent by WhatsApp in three phases; they are added as already read"
        >
          History: {history.text}
          {history.at ? (
            <span className="muted">
              {" "}
              · <When at={history.at} />
            </span>
          ) : null}
        </div>
      ) : null}
      {business ? (
        <div
          className={business.enabled ? "business-connection" : "business-connection error"}
          data-testid="business-connection"
          title="Whether the Telegram Business account has this bot connected, and whether it lets the bot reply"
        >
          Business account: {business.text}
          {business.at ? (
            <span className="muted">
              {" "}
              · <When at={business.at} />
            </span>
          ) : null}
        </div>
      ) : null}
      {unknown.length > 0 ? (
        <details className="unknown-kinds" data-testid="unknown-kinds">
          <summary>
            {(() => {
              const n = unknown.reduce((sum, e) => sum + e[1], 0);
              return `${n} ${n === 1 ? "item" : "items"} of a kind this version does not know yet`;
            })()}
          </summary>
          <p className="muted">
            Kept as “not shown here” lines in the thread (updates of those kinds are not stored); nothing else was lost,
            and none of them is an error.
          </p>
          <ul aria-label="Unknown kinds">
            {unknown.map(([kind, n, at]) => (
              <li key={kind}>
                {kind}: {n}
                {at ? (
                  <span className="muted">
                    , last <When at={at} />
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
