// Sign-in with Supabase Auth (the production path): supabase-js keeps the session,
// refreshes it and attaches the user's access token to every request.
import { createClient, type Session } from "@supabase/supabase-js";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { describeError, fetchWithTimeout } from "../lib/errors";
import type { Database } from "../types/messaging";
import { AuthContext, type AuthValue } from "./context";
import { useRememberPlace, useReturnAfterSignIn } from "./return-to";

export function SupabaseAuthGate({ children }: { children: ReactNode }) {
  const url = import.meta.env.VITE_SUPABASE_URL;
  const anonKey = import.meta.env.VITE_SUPABASE_ANON_KEY;
  const client = useMemo(
    () => (url && anonKey ? createClient<Database>(url, anonKey, { global: { fetch: fetchWithTimeout } }) : null),
    [url, anonKey],
  );
  const queryClient = useQueryClient();
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  useEffect(() => {
    if (!client) return;
    void client.auth.getSession().then(({ data }) => setSession(data.session));
    const { data } = client.auth.onAuthStateChange((_event, next) => {
      setSession(next);
      if (!next) queryClient.clear();
    });
    return () => data.subscription.unsubscribe();
  }, [client, queryClient]);

  const value = useMemo<AuthValue | null>(
    () =>
      client && session
        ? {
            client,
            user: { id: session.user.id, email: session.user.email ?? null },
            apiUrl: url ?? "",
            signOut: () => void client.auth.signOut(),
          }
        : null,
    [client, session, url],
  );
  useReturnAfterSignIn(value !== null);

  if (!client) {
    return (
      <main className="signin">
        <p role="alert">This build has no Supabase project: set VITE_SUPABASE_URL and VITE_SUPABASE_ANON_KEY.</p>
      </main>
    );
  }
  if (session === undefined)
    return (
      <main className="signin" aria-busy="true">
        Loading…
      </main>
    );
  if (!value) return <PasswordSignIn client={client} />;
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

function PasswordSignIn({ client }: { client: NonNullable<AuthValue["client"]> }) {
  useRememberPlace();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const { error: failure } = await client.auth.signInWithPassword({ email, password });
    setBusy(false);
    if (failure) setError(describeError(failure));
  }

  return (
    <main className="signin">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in</h1>
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Password
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
