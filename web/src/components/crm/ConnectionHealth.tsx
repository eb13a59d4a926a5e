// What a connection's deliveries did: its status and what a pause dropped, its refusals by
// reason with the last one's time, and its last error with when it happened and whether a
// later delivery made it past. The columns are messaging_connections' (docs/contract.md).
import { formatDateTime, relativeTime } from "../../lib/format";
import { storesDeliveries, type MessagingConnection } from "../../types/messaging";

type Health = Pick<
  MessagingConnection,
  | "status"
  | "refused_count"
  | "refused_by_reason"
  | "last_refused_at"
  | "last_refused_reason"
  | "last_error"
  | "last_error_at"
  | "last_error_resolved_at"
  | "paused_dropped_count"
  | "last_dropped_at"
>;

/** Words for the reasons the function and the store count (refused_by_reason's keys). */
const REASONS: Record<string, string> = {
  bad_signature: "bad signature or token",
  wrong_verify_token: "wrong verify token",
  replayed: "replayed request",
  bad_body: "not the platform's format",
  refused: "refused whole by the store",
  account_mismatch: "another account's",
  invalid_shape: "unreadable item",
  invalid_message: "invalid message",
  invalid_update: "invalid status or reaction",
};

export function reasonLabel(reason: string): string {
  return REASONS[reason] ?? reason.replace(/_/g, " ");
}

function When({ at }: { at: string | null }) {
  return at ? (
    <time dateTime={at} title={formatDateTime(at)}>
      {relativeTime(at)}
    </time>
  ) : null;
}

/** The reasons, largest first. */
function byReason(counts: unknown): [string, number][] {
  if (!counts || typeof counts !== "object" || Array.isArray(counts)) return [];
  return Object.entries(counts as Record<string, unknown>)
    .filter((e): e is [string, number] => typeof e[1] === "number" && e[1] > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function ConnectionStatus({ connection: c }: { connection: Health }) {
  return (
    <>
      <span className={`badge status-${c.status}`}>{c.status}</span>
      {!storesDeliveries(c.status) ? (
        <div className="muted">deliveries are answered and dropped, not stored</div>
      ) : null}
      {c.paused_dropped_count > 0 ? (
        <div className="dropped" aria-label="Dropped while paused">
          {c.paused_dropped_count} {c.paused_dropped_count === 1 ? "delivery" : "deliveries"} dropped while paused
          {c.last_dropped_at ? (
            <>
              , last <When at={c.last_dropped_at} />
            </>
          ) : null}
        </div>
      ) : null}
    </>
  );
}

export function ConnectionRefusals({ connection: c }: { connection: Health }) {
  if (c.refused_count <= 0) return <span className="muted">none</span>;
  const reasons = byReason(c.refused_by_reason);
  return (
    <>
      <div className="refused-total">
        {c.refused_count}
        {c.last_refused_at ? (
          <>
            , last <When at={c.last_refused_at} />
          </>
        ) : null}
        {c.last_refused_reason ? <> ({reasonLabel(c.last_refused_reason)})</> : null}
      </div>
      {reasons.length > 0 ? (
        <ul className="refused-reasons" aria-label="Refusals by reason">
          {reasons.map(([reason, n]) => (
            <li key={reason} data-reason={reason}>
              {reasonLabel(reason)}: {n}
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

export function ConnectionLastError({ connection: c }: { connection: Health }) {
  if (!c.last_error) return <span className="muted">none</span>;
  const past = c.last_error_resolved_at !== null;
  return (
    <div className={past ? "last-error past" : "last-error current"} data-state={past ? "past" : "current"}>
      <span className={past ? "badge error-past" : "badge error-current"}>{past ? "past" : "current"}</span>{" "}
      <span className="last-error-text">{c.last_error}</span>
      <div className="muted">
        {c.last_error_at ? (
          <>
            happened <When at={c.last_error_at} />
          </>
        ) : (
          "time not recorded"
        )}
        {past ? (
          <>
            ; deliveries stored since <When at={c.last_error_resolved_at} />
          </>
        ) : null}
      </div>
    </div>
  );
}
