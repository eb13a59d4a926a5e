// Where a conversation's history comes from: one bar per source over the conversation's
// span, the gaps no source covers marked, and the same in words (the text equivalent of
// the timeline, which screen readers read instead of it). Data: useCoverage.
import type { CSSProperties } from "react";
import { useCoverage, type CoverageSource } from "../../hooks/use-coverage";
import { formatDateTime } from "../../lib/format";
import { ErrorMessage, Loading } from "../ui/States";

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

function day(iso: string | null): string {
  return iso ? dayFormat.format(new Date(iso)) : "";
}

const KIND_LABEL: Record<string, string> = {
  export: "Export file",
  msgstore: "Phone backup (msgstore.db)",
  webhook: "Live webhook",
  history: "History backfill",
  app: "App (ingest_messages)",
  unknown: "Unknown source",
};

const KIND_COLOR: Record<string, string> = {
  export: "#2563eb",
  msgstore: "#7c3aed",
  webhook: "#16a34a",
  history: "#d97706",
  app: "#0891b2",
  unknown: "#6b7280",
};

function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** "Export file “chat.txt”", "History backfill, phase 1", "Live webhook". */
export function sourceLabel(s: CoverageSource): string {
  const kind = KIND_LABEL[s.kind] ?? s.kind;
  if (s.name) return `${kind} “${s.name}”`;
  if (s.phase) return `${kind}, phase ${s.phase}`;
  return kind;
}

/** The timeline's row label: "Export WhatsApp Chat with Ana.txt", "Live webhook". */
function shortLabel(s: CoverageSource): string {
  if (s.kind === "export" && s.name) return s.name;
  return sourceLabel(s);
}

/** "live since 2 May 2026", "1 Mar 2026 – 31 Mar 2026". */
export function sourceSpan(s: CoverageSource): string {
  if (s.covers_until === null) return `live since ${day(s.covers_from)}`;
  const from = day(s.covers_from);
  const to = day(s.covers_until);
  return from === to ? from : `${from} – ${to}`;
}

/** "6 new · 1 duplicate skipped · 5 matched with another source". */
export function sourceCounts(s: CoverageSource): string {
  const parts = [`${s.inserted.toLocaleString()} new`, `${plural(s.duplicates, "duplicate")} skipped`];
  if (s.updated > 0) parts.push(`${plural(s.updated, "stored message")} updated`);
  if (s.matched > 0) parts.push(`${s.matched.toLocaleString()} matched with another source`);
  if (s.kind === "unknown") parts.push("stored before sources were recorded");
  return parts.join(" · ");
}

const styles: Record<string, CSSProperties> = {
  timeline: { position: "relative", margin: "10px 0 4px", padding: "4px 0" },
  row: { position: "relative", height: 32, margin: "4px 0" },
  rowLabel: {
    fontSize: 11,
    lineHeight: "14px",
    whiteSpace: "nowrap",
    overflow: "hidden",
    textOverflow: "ellipsis",
    position: "relative",
    zIndex: 1,
    display: "inline-block",
    maxWidth: "100%",
    background: "rgba(255, 255, 255, 0.85)",
    paddingRight: 4,
  },
  track: { position: "absolute", left: 0, right: 0, top: 20, height: 6, background: "#eef0f3", borderRadius: 3 },
  bar: { position: "absolute", top: 16, height: 14, borderRadius: 3, minWidth: 4 },
  gap: {
    position: "absolute",
    top: 0,
    bottom: 0,
    background: "repeating-linear-gradient(135deg, #fde2e2 0 4px, #fff 4px 8px)",
    borderLeft: "1px dashed #dc2626",
    borderRight: "1px dashed #dc2626",
  },
  axis: { display: "flex", justifyContent: "space-between", fontSize: 11, color: "var(--muted)" },
  list: { listStyle: "none", padding: 0, margin: "8px 0", fontSize: 13, display: "grid", gap: 8 },
  swatch: { display: "inline-block", width: 10, height: 10, borderRadius: 2, marginRight: 6 },
  muted: { color: "var(--muted)" },
  gapText: { color: "#b91c1c" },
};

export function CoveragePanel({ conversationId, updatedAt }: { conversationId: string; updatedAt: string | null }) {
  const coverage = useCoverage(conversationId, updatedAt);
  if (coverage.isPending) return <Loading label="Reading where the history comes from" />;
  if (coverage.isError) return <ErrorMessage error={coverage.error} retry={() => void coverage.refetch()} />;
  const c = coverage.data;
  if (!c.first_message_at || !c.last_message_at || c.sources.length === 0) {
    return <p style={styles.muted}>No messages yet: no source to show.</p>;
  }
  const start = Date.parse(c.first_message_at);
  const end = Math.max(Date.parse(c.last_message_at), start + 1);
  const pct = (iso: string) => Math.min(100, Math.max(0, ((Date.parse(iso) - start) / (end - start)) * 100));
  const gaps = c.gaps;
  return (
    <section className="coverage" aria-labelledby="coverage-title" data-testid="coverage">
      <h4 id="coverage-title" style={{ margin: "12px 0 4px", fontSize: 14 }}>
        Where this history comes from
      </h4>
      <p data-testid="coverage-summary" style={{ margin: 0, fontSize: 13 }}>
        {plural(c.message_count, "message")} from {day(c.first_message_at)} to {day(c.last_message_at)}, from{" "}
        {plural(c.sources.length, "source")}. {plural(c.matched, "copy", "copies")} matched between sources.{" "}
        {gaps.length === 0 ? "No gaps: every span has a source." : `${plural(gaps.length, "gap")} no source covers.`}
      </p>
      {/* the picture; the list below says the same in words */}
      <div style={styles.timeline} aria-hidden="true" data-testid="coverage-timeline">
        {gaps.map((g) => (
          <div
            key={`gap-${g.from}`}
            className="coverage-gap"
            style={{ ...styles.gap, left: `${pct(g.from)}%`, width: `${pct(g.to) - pct(g.from)}%` }}
            title={`Gap: ${formatDateTime(g.from)} – ${formatDateTime(g.to)}`}
          />
        ))}
        {c.sources.map((s) => {
          const left = pct(s.covers_from);
          const right = s.covers_until === null ? 100 : pct(s.covers_until);
          return (
            <div key={`${s.kind}-${s.name ?? ""}-${s.phase ?? ""}`} style={styles.row} className="coverage-row">
              <div style={styles.rowLabel}>
                {shortLabel(s)} · {sourceSpan(s)}
              </div>
              <div style={styles.track} />
              <div
                className={`coverage-bar coverage-${s.kind}`}
                style={{
                  ...styles.bar,
                  left: `${left}%`,
                  width: `${Math.max(right - left, 0)}%`,
                  background: KIND_COLOR[s.kind] ?? "#6b7280",
                }}
                title={`${sourceLabel(s)}: ${sourceSpan(s)}`}
              />
            </div>
          );
        })}
        <div style={styles.axis}>
          <span>{day(c.first_message_at)}</span>
          <span>{day(c.last_message_at)}</span>
        </div>
      </div>
      <ul style={styles.list} aria-label="Sources">
        {c.sources.map((s) => (
          <li key={`${s.kind}-${s.name ?? ""}-${s.phase ?? ""}`} data-testid="coverage-source" data-kind={s.kind}>
            <span aria-hidden="true" style={{ ...styles.swatch, background: KIND_COLOR[s.kind] ?? "#6b7280" }} />
            <strong style={{ overflowWrap: "anywhere" }}>{sourceLabel(s)}</strong>: {sourceSpan(s)}
            <div style={styles.muted}>{sourceCounts(s)}</div>
          </li>
        ))}
        {gaps.map((g) => (
          <li key={`gap-${g.from}`} data-testid="coverage-gap" style={styles.gapText}>
            <strong>Gap</strong>: {formatDateTime(g.from)} – {formatDateTime(g.to)}. No source covers this span:
            messages may be missing.
          </li>
        ))}
      </ul>
    </section>
  );
}
