// A connection's actions: set up or rotate its webhook secrets (a rotation after a
// confirmation: the old secrets stop at once), pause (after a confirmation that says what
// happens to deliveries meanwhile) or resume, delete. New secrets go to `onIssued`, which
// shows them on their own (the connections page: a full-width row under the connection).
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
  onIssued,
}: {
  connection: Pick<MessagingConnection, "id" | "platform" | "account_identifier" | "status">;
  hasSecrets: boolean;
  /** Where new secrets are shown; without it, below the buttons. */
  onIssued?: (issued: IssuedSecrets) => void;
}) {
  const rotate = useRotateConnection();
  const status = useSetConnectionStatus();
  const remove = useDeleteConnection();
  const [issued, setIssued] = useState<IssuedSecrets | null>(null);
  const [appSecret, setAppSecret] = useState("");
  const [confirmPause, setConfirmPause] = useState(false);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const pasted = isPlatform(c.platform) ? issuedSecret(c.platform) : undefined;
  const needsAppSecret = pasted !== undefined && !hasSecrets;
  const error = rotate.error ?? status.error ?? remove.error;
  const paused = c.status === "paused";

  function issue() {
    rotate.mutate(
      { id: c.id, ...(appSecret ? { appSecret } : {}) },
      {
        onSuccess: (data) => {
          const secrets = data as IssuedSecrets;
          if (onIssued) onIssued(secrets);
          else setIssued(secrets);
          setAppSecret("");
        },
        onSettled: () => setConfirmRotate(false),
      },
    );
  }

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
        disabled={rotate.isPending || confirmRotate || (needsAppSecret && !appSecret)}
        onClick={() => (hasSecrets ? setConfirmRotate(true) : issue())}
      >
        {hasSecrets ? "Rotate secrets" : "Set up webhook"}
      </button>
      {/* an import-only connection has no deliveries to pause */}
      {(hasSecrets || paused) && (
        <button
          type="button"
          disabled={status.isPending || confirmPause}
          title={paused ? "Store new deliveries again" : "Deliveries are dropped while paused"}
          onClick={() => (paused ? status.mutate({ id: c.id, status: "active" }) : setConfirmPause(true))}
        >
          {paused ? "Resume" : "Pause"}
        </button>
      )}
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
      {confirmRotate && (
        <div className="confirm-pause" role="alertdialog" aria-label="Rotate the secrets?">
          <p>
            <strong>
              Rotate the secrets of {c.platform} {c.account_identifier}?
            </strong>{" "}
            The new secrets work at once and the old ones <strong>stop at once</strong>: until the platform has the new
            ones, its deliveries are refused (401). The new secrets are shown once.
          </p>
          <button type="button" className="danger" disabled={rotate.isPending} onClick={issue}>
            {rotate.isPending ? "Rotating…" : "Rotate now"}
          </button>
          <button type="button" onClick={() => setConfirmRotate(false)}>
            Keep the current secrets
          </button>
        </div>
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
