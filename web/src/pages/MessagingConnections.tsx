// The user's messaging accounts: platform, status (and what a pause dropped), last sync,
// refusals by reason, the last error (current or past), webhook URL, and their management
// (add, rotate secrets, pause/resume with a confirmation, delete).
import { ConnectionActions } from "../components/crm/ConnectionActions";
import { ConnectionLastError, ConnectionRefusals, ConnectionStatus } from "../components/crm/ConnectionHealth";
import { AddConnectionForm } from "../components/crm/ConnectionSetup";
import { PlatformIcon, platformLabel } from "../components/crm/PlatformIcon";
import { Empty, ErrorMessage, Loading } from "../components/ui/States";
import { useAuth } from "../auth/context";
import { useConnectionWebhooks, useConnections, webhookUrl } from "../hooks/use-connections";
import { formatDateTime, relativeTime } from "../lib/format";

export function MessagingConnections() {
  const { apiUrl } = useAuth();
  const connections = useConnections();
  const webhooks = useConnectionWebhooks();
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
              return (
                <tr key={c.id} data-connection-id={c.id}>
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
                  </td>
                  <td data-label="Status">
                    <ConnectionStatus connection={c} />
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
                    <ConnectionRefusals connection={c} />
                  </td>
                  <td data-label="Last error" aria-label="Last error">
                    <ConnectionLastError connection={c} />
                  </td>
                  <td data-label="Webhook URL">
                    {webhooks.isPending ? (
                      <span className="muted">…</span>
                    ) : hasSecrets ? (
                      <code className="webhook-url">{webhookUrl(apiUrl, c.platform, c.id)}</code>
                    ) : (
                      <span className="muted no-webhook">Import only: no webhook secrets yet</span>
                    )}
                  </td>
                  <td data-label="Actions">
                    <ConnectionActions connection={c} hasSecrets={hasSecrets} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
