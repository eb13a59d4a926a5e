// The user's messaging accounts: platform, status (and what a pause dropped), last sync,
// refusals by reason, the last error (current or past), webhook URL, and their management
// (add, rotate secrets after a confirmation, pause/resume with a confirmation, delete), copy
// buttons for the URL and secrets, the conversations each one brought in. A connection an
// import made (no webhook secrets) says "import only" and has no webhook status.
// `?connection=<id>` picks one out: scrolled to, its conversations listed.
import { Fragment, useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { ConnectionActions } from "../components/crm/ConnectionActions";
import { ConnectionConversations } from "../components/crm/ConnectionConversations";
import { CopyButton } from "../components/crm/ConnectionCopy";
import { ConnectionLastError, ConnectionRefusals, ConnectionStatus } from "../components/crm/ConnectionHealth";
import { ConnectionPlatformState } from "../components/crm/ConnectionState";
import { AddConnectionForm, IssuedSecretsNotice } from "../components/crm/ConnectionSetup";
import { MessageSettings } from "../components/crm/MessageSettings";
import { PlatformIcon, platformLabel } from "../components/crm/PlatformIcon";
import { Empty, ErrorMessage, Loading } from "../components/ui/States";
import { useAuth } from "../auth/context";
import {
  useConnectionConversationCounts,
  useConnectionWebhooks,
  useConnections,
  webhookUrl,
  type IssuedSecrets,
} from "../hooks/use-connections";
import { formatDateTime, relativeTime } from "../lib/format";
import { threadHref } from "../lib/routes";

const COLUMNS = 8;

export function MessagingConnections() {
  const { apiUrl } = useAuth();
  const connections = useConnections();
  const webhooks = useConnectionWebhooks();
  const counts = useConnectionConversationCounts();
  const [params] = useSearchParams();
  const picked = params.get("connection");
  const [issued, setIssued] = useState<IssuedSecrets | null>(null);
  const [open, setOpen] = useState<Set<string>>(() => new Set(picked ? [picked] : []));
  const loaded = connections.isSuccess;

  // a link from a conversation: that connection's row in view, its conversations listed
  useEffect(() => {
    if (!picked || !loaded) return;
    setOpen((o) => new Set(o).add(picked));
    document.querySelector(`tr[data-connection-id="${CSS.escape(picked)}"]`)?.scrollIntoView({ block: "center" });
  }, [picked, loaded]);

  const toggle = (id: string) =>
    setOpen((o) => {
      const next = new Set(o);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  return (
    <section className="page" aria-labelledby="connections-title">
      <h1 id="connections-title">Messaging connections</h1>
      <p className="muted">
        Each account's webhook URL is where its platform delivers live messages (the messaging-ingest edge function).
        Imports record the exporting account here too.
      </p>
      <AddConnectionForm />
      {connections.isPending ? (
        <Loading label="Loading connections" />
      ) : connections.isError ? (
        <ErrorMessage error={connections.error} retry={() => void connections.refetch()} />
      ) : connections.data.length === 0 ? (
        <Empty>No messaging accounts yet.</Empty>
      ) : (
        <table className="table connections">
          <thead>
            <tr>
              <th scope="col">Platform</th>
              <th scope="col">Account</th>
              <th scope="col">Status</th>
              <th scope="col">Last sync</th>
              <th scope="col">Refused</th>
              <th scope="col">Last error</th>
              <th scope="col">Webhook URL</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {connections.data.map((c) => {
              const hasSecrets = webhooks.data?.get(c.id) ?? false;
              // made by an import: no secrets, so no webhook; known once the webhooks read answered.
              // What deliveries to it did anyway (refused, paused) still shows.
              const importOnly = webhooks.isSuccess && !hasSecrets;
              const count = counts.data?.get(c.id);
              const account = c.display_name || c.account_identifier;
              const listed = open.has(c.id);
              return (
                <Fragment key={c.id}>
                  <tr data-connection-id={c.id} className={picked === c.id ? "picked" : undefined}>
                    <td data-label="Platform">
                      <PlatformIcon platform={c.platform} /> {platformLabel(c.platform)}
                    </td>
                    <td data-label="Account">
                      {c.display_name && c.display_name !== c.account_identifier ? (
                        <>
                          {c.display_name} <span className="muted">{c.account_identifier}</span>
                        </>
                      ) : (
                        c.account_identifier
                      )}
                      <div className="connection-count">
                        {count ? (
                          <button
                            type="button"
                            className="link-button"
                            aria-expanded={listed}
                            aria-controls={`conversations-${c.id}`}
                            onClick={() => toggle(c.id)}
                          >
                            {count.conversation_count.toLocaleString()}{" "}
                            {count.conversation_count === 1 ? "conversation" : "conversations"} ·{" "}
                            {count.message_count.toLocaleString()} {count.message_count === 1 ? "message" : "messages"}
                          </button>
                        ) : (
                          <span className="muted">{counts.isPending ? "…" : "no conversations yet"}</span>
                        )}
                      </div>
                    </td>
                    <td data-label="Status">
                      {importOnly && c.status === "active" ? (
                        <span className="badge status-import-only" title="Made by an import: no webhook delivers to it">
                          import only
                        </span>
                      ) : (
                        <ConnectionStatus connection={c} />
                      )}
                      <ConnectionPlatformState connection={c} />
                    </td>
                    <td data-label="Last sync">
                      {c.last_synced_at ? (
                        <time dateTime={c.last_synced_at} title={formatDateTime(c.last_synced_at)}>
                          {relativeTime(c.last_synced_at)}
                        </time>
                      ) : (
                        "never"
                      )}
                    </td>
                    <td
                      data-label="Refused"
                      className={c.refused_count > 0 ? "error" : "muted"}
                      aria-label="Refused deliveries"
                    >
                      {importOnly && c.refused_count === 0 ? (
                        <span className="muted">—</span>
                      ) : (
                        <ConnectionRefusals connection={c} />
                      )}
                    </td>
                    <td data-label="Last error" aria-label="Last error">
                      {importOnly && !c.last_error ? (
                        <span className="muted">—</span>
                      ) : (
                        <ConnectionLastError connection={c} />
                      )}
                    </td>
                    <td data-label="Webhook URL">
                      {webhooks.isPending ? (
                        <span className="muted">…</span>
                      ) : hasSecrets ? (
                        <span className="webhook-url-cell">
                          <code className="webhook-url">{webhookUrl(apiUrl, c.platform, c.id)}</code>
                          <CopyButton text={webhookUrl(apiUrl, c.platform, c.id)} label="the webhook URL" />
                        </span>
                      ) : (
                        <span className="muted no-webhook">Import only: no webhook secrets yet</span>
                      )}
                    </td>
                    <td data-label="Actions">
                      <ConnectionActions connection={c} hasSecrets={hasSecrets} onIssued={setIssued} />
                    </td>
                  </tr>
                  {issued?.id === c.id && (
                    <tr className="issued-row" data-issued-for={c.id}>
                      <td colSpan={COLUMNS}>
                        <IssuedSecretsNotice issued={issued} rotated onDone={() => setIssued(null)} />
                      </td>
                    </tr>
                  )}
                  {listed && count && (
                    <tr className="conversations-row" id={`conversations-${c.id}`}>
                      <td colSpan={COLUMNS}>
                        <ConnectionConversations
                          connectionId={c.id}
                          account={account}
                          total={count.conversation_count}
                          threadHref={threadHref}
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      <MessageSettings />
    </section>
  );
}
