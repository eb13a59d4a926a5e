// Adding a connection and showing its webhook URL and secrets, once: the database
// generated them and will never give them out again.
import { CopyableValue } from "./ConnectionCopy";
import { useState } from "react";
import { useAuth } from "../../auth/context";
import { useCreateConnection, webhookUrl, type IssuedSecrets } from "../../hooks/use-connections";
import { describeError } from "../../lib/errors";
import { PLATFORMS, PLATFORM_LABELS, isPlatform, issuedSecret, type Platform } from "../../types/messaging";

const SECRET_LABELS: Record<string, string> = {
  verify_token: "Verify token (hub.verify_token)",
  secret_token: "Secret token (setWebhook secret_token)",
  token: "Token",
};

const ACCOUNT_HINTS: Record<Platform, string> = {
  whatsapp: "Business phone number, like +34612345678",
  telegram: "Bot username, like acme_bot",
  signal: "The account's phone number",
  wechat: "Official Account id, like gh_1234567890ab",
};

export function AddConnectionForm() {
  const create = useCreateConnection();
  const [platform, setPlatform] = useState<Platform>("telegram");
  const [account, setAccount] = useState("");
  const [name, setName] = useState("");
  const [appSecret, setAppSecret] = useState("");
  const [issued, setIssued] = useState<IssuedSecrets | null>(null);
  const pasted = issuedSecret(platform);

  return (
    <section className="card add-connection" aria-labelledby="add-connection-title">
      <h2 id="add-connection-title">Add a connection</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(
            { platform, account, name, appSecret },
            {
              onSuccess: (data) => {
                setIssued(data as IssuedSecrets);
                setAccount("");
                setName("");
                setAppSecret("");
              },
            },
          );
        }}
      >
        <label>
          Platform
          <select value={platform} onChange={(e) => isPlatform(e.target.value) && setPlatform(e.target.value)}>
            {PLATFORMS.map((p) => (
              <option key={p} value={p}>
                {PLATFORM_LABELS[p]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Account
          <input
            value={account}
            onChange={(e) => setAccount(e.target.value)}
            placeholder={ACCOUNT_HINTS[platform]}
            required
          />
        </label>
        <label>
          Display name <span className="muted">(optional)</span>
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        {pasted && (
          <label>
            {pasted.label}
            <input
              type="password"
              autoComplete="off"
              value={appSecret}
              onChange={(e) => setAppSecret(e.target.value)}
              required
            />
          </label>
        )}
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? "Adding…" : "Add connection"}
        </button>
      </form>
      {create.isError && (
        <p role="alert" className="error">
          {describeError(create.error)}
        </p>
      )}
      {issued && <IssuedSecretsNotice issued={issued} onDone={() => setIssued(null)} />}
    </section>
  );
}

/** The webhook URL and the new secrets, shown this one time (after a rotation: what became of the old ones). */
export function IssuedSecretsNotice({
  issued,
  rotated = false,
  onDone,
}: {
  issued: IssuedSecrets;
  rotated?: boolean;
  onDone: () => void;
}) {
  const { apiUrl } = useAuth();
  return (
    <div className="issued" role="status" aria-label="New webhook secrets">
      <p>
        <strong>Register this with {PLATFORM_LABELS[issued.platform]} now.</strong> The secrets are shown only this
        once; rotate them to get new ones.
      </p>
      {rotated && (
        <p className="rotation-note">
          The new secrets work at once. The old ones stop at once, with no grace period: until{" "}
          {PLATFORM_LABELS[issued.platform]} has the new ones, its deliveries are refused (401) and counted under “bad
          signature or token”.
        </p>
      )}
      <dl>
        <dt>Webhook URL</dt>
        <dd>
          <CopyableValue
            value={webhookUrl(apiUrl, issued.platform, issued.id)}
            label="the webhook URL"
            testId="issued-webhook-url"
          />
        </dd>
        {Object.entries(issued.secrets).map(([key, value]) => (
          <div key={key}>
            <dt>{SECRET_LABELS[key] ?? key}</dt>
            <dd>
              <CopyableValue
                value={value}
                label={`the ${(SECRET_LABELS[key] ?? key).replace(/ \(.*\)$/, "").toLowerCase()}`}
                testId={`issued-${key}`}
              />
            </dd>
          </div>
        ))}
      </dl>
      <button type="button" onClick={onDone}>
        I have saved them
      </button>
    </div>
  );
}
