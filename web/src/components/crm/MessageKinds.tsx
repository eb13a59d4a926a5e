// The parts of a message bubble that show what a kind means (docs/kinds.md, "screens"):
// a poll with its votes, an order with its total, what was chosen, the ad a conversation
// came from, a place with a map link, shared contacts, link cards, the small labels
// (forwarded, topic). Presentation only: each reads its metadata through lib/kinds.ts,
// which answers null for a shape it cannot read, and then nothing is drawn.
import {
  formatMoney,
  type ContactCard,
  type Interactive,
  type LinkCard,
  type Order,
  type Place,
  type Poll,
  type Referral,
} from "../../lib/kinds";

export function PollView({ poll }: { poll: Poll }) {
  const max = Math.max(1, ...poll.options.map((o) => o.votes ?? 0));
  return (
    <div className="kind-card poll" role="group" aria-label="Poll">
      <div className="kind-title">{poll.question ?? "Poll"}</div>
      <ul className="poll-options">
        {poll.options.map((o, i) => (
          <li key={i} className="poll-option" data-testid="poll-option">
            <span className="poll-text">{o.text}</span>
            {o.votes !== null && (
              <span className="poll-votes" aria-label={`${o.votes} ${o.votes === 1 ? "vote" : "votes"}`}>
                {o.votes}
              </span>
            )}
            {o.votes !== null && (
              <span className="poll-bar" aria-hidden="true">
                <span style={{ width: `${Math.round(((o.votes ?? 0) / max) * 100)}%` }} />
              </span>
            )}
            {o.voters.length > 0 && <span className="poll-voters muted">{o.voters.join(", ")}</span>}
          </li>
        ))}
      </ul>
      <div className="kind-note muted">
        {[
          poll.total !== null ? `${poll.total} ${poll.total === 1 ? "vote" : "votes"}` : null,
          poll.multiple ? "several answers allowed" : null,
          poll.closed ? "closed" : null,
        ]
          .filter(Boolean)
          .join(" · ") || "Poll"}
      </div>
    </div>
  );
}

export function OrderView({ order }: { order: Order }) {
  return (
    <div className="kind-card order" role="group" aria-label="Order">
      <div className="kind-title">
        Order
        {order.items.length > 0 && ` · ${order.items.length} ${order.items.length === 1 ? "item" : "items"}`}
      </div>
      {order.items.length > 0 ? (
        <table className="order-items">
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Qty</th>
              <th scope="col">Price</th>
            </tr>
          </thead>
          <tbody>
            {order.items.map((i, n) => (
              <tr key={n}>
                <td className="file-name">{i.id}</td>
                <td>{i.quantity ?? "?"}</td>
                <td>{i.price !== null ? formatMoney(i.price, i.currency) : "?"}</td>
              </tr>
            ))}
          </tbody>
          {order.total && (
            <tfoot>
              <tr>
                <th scope="row" colSpan={2}>
                  Total
                </th>
                <td data-testid="order-total">{formatMoney(order.total.amount, order.total.currency)}</td>
              </tr>
            </tfoot>
          )}
        </table>
      ) : (
        <p className="muted">No items could be read.</p>
      )}
      {order.catalogId && <div className="kind-note muted">Catalog {order.catalogId}</div>}
    </div>
  );
}

export function InteractiveView({ choice }: { choice: Interactive }) {
  return (
    <div className="kind-card interactive" role="group" aria-label="Reply chosen">
      <div className="kind-title" title={choice.id ? `id: ${choice.id}` : undefined}>
        <span className="muted">Chose: </span>
        <strong>{choice.label}</strong>
      </div>
      {choice.description && <div className="kind-note muted">{choice.description}</div>}
      {choice.answers.length > 0 && (
        <dl className="form-answers">
          {choice.answers.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
}

export function PlaceView({ place, fallback }: { place: Place; fallback: string | null }) {
  const title = place.name ?? (place.address ? null : fallback);
  return (
    <div className="kind-card place" role="group" aria-label="Location">
      <div className="kind-title">{title ?? place.address ?? "Location"}</div>
      {title && place.address && <div className="kind-note">{place.address}</div>}
      <div className="kind-links">
        {place.mapUrl && (
          <a href={place.mapUrl} target="_blank" rel="noopener noreferrer" data-testid="map-link">
            Open in a map
          </a>
        )}
        {place.url && (
          <a href={place.url} target="_blank" rel="noopener noreferrer" title={place.url}>
            The place's page
          </a>
        )}
        {place.latitude !== null && place.longitude !== null && (
          <span className="muted">
            {place.latitude}, {place.longitude}
          </span>
        )}
      </div>
    </div>
  );
}

export function ContactsView({ contacts }: { contacts: ContactCard[] }) {
  return (
    <ul className="kind-card contacts" aria-label="Shared contacts">
      {contacts.map((c, i) => (
        <li key={i}>
          <strong>{c.name ?? c.phones[0]}</strong>
          {c.organization && <span className="muted"> · {c.organization}</span>}
          {[...c.phones, ...c.emails].map((p) => (
            <div key={p} className="kind-note">
              {p}
            </div>
          ))}
        </li>
      ))}
    </ul>
  );
}

export function LinkCards({ cards }: { cards: LinkCard[] }) {
  return (
    <>
      {cards.map((l, i) => (
        <div key={i} className="kind-card link-card">
          <a href={l.url} target="_blank" rel="noopener noreferrer" title={l.url}>
            {l.title ?? l.url}
          </a>
          {l.description && <div className="kind-note muted">{l.description}</div>}
        </div>
      ))}
    </>
  );
}

/** The small labels above a message's body: forwarded, topic, and the like. */
export function KindLabels({ labels }: { labels: { key: string; text: string; title?: string }[] }) {
  if (labels.length === 0) return null;
  return (
    <div className="kind-labels">
      {labels.map((l) => (
        <span key={l.key} className={`kind-label kind-label-${l.key}`} title={l.title}>
          {l.text}
        </span>
      ))}
    </div>
  );
}

/** The ad a conversation came from (a click-to-WhatsApp ad's referral), on its message. */
export function ReferralView({ referral: r }: { referral: Referral }) {
  const headline = r.headline ?? r.url ?? "an ad";
  return (
    <div
      className="kind-card referral"
      role="group"
      aria-label="Came from an ad"
      title={r.clickId ? `Click id: ${r.clickId}` : undefined}
    >
      <div className="kind-note muted">Came from an ad{r.source ? ` (${r.source})` : ""}</div>
      <div className="kind-title">
        {r.url ? (
          <a href={r.url} target="_blank" rel="noopener noreferrer" data-testid="referral-link">
            {headline}
          </a>
        ) : (
          headline
        )}
      </div>
      {r.body && <div className="kind-note">{r.body}</div>}
    </div>
  );
}
