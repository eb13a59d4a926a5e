// The delete setting: whether a message deleted on the platform keeps its text (and its
// earlier versions) for the CRM user, shown struck through and marked deleted, or loses it
// (the default). Choosing "erase" after "keep" erases what was kept, so it asks first.
import { useState } from "react";
import { useMessagingSettings, useSetMessagingSettings } from "../../hooks/use-messaging-settings";
import { describeError } from "../../lib/errors";
import { formatDateTime } from "../../lib/format";
import { ErrorMessage, Loading } from "../ui/States";

export function MessageSettings() {
  const settings = useMessagingSettings();
  const save = useSetMessagingSettings();
  const stored = settings.data?.keep_deleted_text ?? false;
  // the choice on screen (null: as stored)
  const [choice, setKeep] = useState<boolean | null>(null);
  const keep = choice ?? stored;
  const changed = settings.isSuccess && keep !== stored;
  const erases = changed && stored && !keep;

  return (
    <section className="card message-settings" aria-labelledby="message-settings-title">
      <h2 id="message-settings-title">Deleted messages</h2>
      <p className="muted">
        When a customer (or you, on your phone) deletes a message on WhatsApp, Telegram or Signal, the thread keeps a
        "deleted" marker in its place. Choose whether the CRM also keeps what the message said. It applies to every
        conversation of your account.
      </p>
      {settings.isPending ? (
        <Loading label="Loading settings" />
      ) : settings.isError ? (
        <ErrorMessage error={settings.error} retry={() => void settings.refetch()} />
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (changed) save.mutate(keep, { onSuccess: () => setKeep(null) });
          }}
        >
          <fieldset>
            <legend className="visually-hidden">The text of deleted messages</legend>
            <label>
              <input type="radio" name="deleted-text" checked={!keep} onChange={() => setKeep(false)} />
              <span>
                <strong>Erase the text</strong> (default): only the marker stays, the text and its earlier versions are
                gone for good.
              </span>
            </label>
            <label>
              <input type="radio" name="deleted-text" checked={keep} onChange={() => setKeep(true)} />
              <span>
                <strong>Keep the text</strong>, struck through and labelled deleted, with its earlier versions. Only you
                see it; the customer deleted it on their side.
              </span>
            </label>
          </fieldset>
          {erases && (
            <p className="settings-warning" role="note">
              Saving erases the text every deleted message kept until now. This cannot be undone.
            </p>
          )}
          <div className="settings-actions">
            <button type="submit" disabled={!changed || save.isPending}>
              {save.isPending ? "Saving…" : erases ? "Save and erase kept texts" : "Save"}
            </button>
            {settings.data.updated_at && !changed && (
              <span className="muted">Last changed {formatDateTime(settings.data.updated_at)}</span>
            )}
            {save.isSuccess && !changed && <span role="status">Saved.</span>}
          </div>
          {save.isError && (
            <p className="error" role="alert">
              {describeError(save.error)}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
