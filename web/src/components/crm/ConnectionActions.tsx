// A connection's actions: set up or rotate its webhook secrets, pause (after a confirmation
// that says what happens to deliveries meanwhile) or resume, delete.
import { useState } from "react";
import {
  useDeleteConnection,
  useRotateConnection,
  useSetConnectionStatus,
  type IssuedSecrets,
} from "../../hooks/use-connections";
import { describeError } from "../../lib/errors";
import { isPlatform, issuedSecret, type MessagingConnection } from "../../types/messaging";
import { IssuedSecretsNotice } from "./ConnectionSetup";

export function ConnectionActions({
  connection: c,
  hasSecrets,
}: {
  connection: Pick<MessagingConnection, "id" | "platform" | "account_identifier" | "status">;
  hasSecrets: boolean;
}) {
  const rotate = useRotateConnection();
  const status = useSetConnectionStatus();
  const remove = useDeleteConnection();
  const [issued, setIssued] = useState<IssuedSecrets | null>(null);
  const [appSecret, setAppSecret] = useState("");
  const [confirmPause, setConfirmPause] = useState(false);
  const pasted = isPlatform(c.platform) ? issuedSecret(c.platform) : undefined;
  const needsAppSecret = pasted !== undefined && !hasSecrets;
  const error = rotate.error ?? status.error ?? remove.error;
  const paused = c.status === "paused";

  return (
    <div className="connection-actions">
      {needsAppSecret && (
        <label>
          <span className="visually-hidden">
            {pasted?.label} of {c.account_identifier}
          </span>
          <input
            type="password"
            autoComplete="off"
            placeholder={pasted?.label}
            value={appSecret}
            onChange={(e) => setAppSecret(e.target.value)}
          />
        </label>
      )}
      <button
        type="button"
        disabled={rotate.isPending || (needsAppSecret && !appSecret)}
        onClick={() =>
          rotate.mutate(
            { id: c.id, ...(appSecret ? { appSecret } : {}) },
            { onSuccess: (data) => (setIssued(data as IssuedSecrets), setAppSecret("")) },
          )
        }
      >
        {hasSecrets ? "Rotate secrets" : "Set up webhook"}
      </button>
      <button
        type="button"
        disabled={status.isPending || confirmPause}
        title={paused ? "Store new deliveries again" : "Deliveries are dropped while paused"}
        onClick={() => (paused ? status.mutate({ id: c.id, status: "active" }) : setConfirmPause(true))}
      >
        {paused ? "Resume" : "Pause"}
      </button>
      <button
        type="button"
        className="danger"
        disabled={remove.isPending}
        onClick={() => {
          if (window.confirm(`Delete the ${c.platform} connection ${c.account_identifier}? Its conversations stay.`)) {
            remove.mutate(c.id);
          }
        }}
      >
        Delete
      </button>
      {error && (
        <p role="alert" className="error">
          {describeError(error)}
        </p>
      )}
      {confirmPause && (
        <div className="confirm-pause" role="alertdialog" aria-label="Pause this connection?">
          <p>
            <strong>
              Pause {c.platform} {c.account_identifier}?
            </strong>{" "}
            While paused, deliveries are answered as received (200), so the platform does not send them again, and they
            are <strong>dropped</strong>: not stored, now or after you resume. Each dropped delivery is counted here.
            Resume to store new deliveries again.
          </p>
          <button
            type="button"
            className="danger"
            onClick={() => status.mutate({ id: c.id, status: "paused" }, { onSettled: () => setConfirmPause(false) })}
          >
            Pause and drop deliveries
          </button>
          <button type="button" onClick={() => setConfirmPause(false)}>
            Keep it active
          </button>
        </div>
      )}
      {issued && <IssuedSecretsNotice issued={issued} rotated onDone={() => setIssued(null)} />}
    </div>
  );
}
