// Local-only sign-in for the native stack, which has no Auth server. The stack
// (`crm-messaging stack up`) mints short-lived access tokens for the seed users and
// nginx serves them at /local-dev/session.json on the local stack only. The JWT
// secret never reaches the browser. supabase-js takes the chosen user's token through
// its `accessToken` option. Compiled in only when __LOCAL_STACK__ is true.
import { createClient } from "@supabase/supabase-js";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo, useState, type ReactNode } from "react";
import { ErrorMessage, Loading } from "../components/ui/States";
import { fetchWithTimeout } from "../lib/errors";
import type { Database } from "../types/messaging";
import { AuthContext, type AuthValue } from "./context";
import { useRememberPlace, useReturnAfterSignIn } from "./return-to";

interface LocalUser {
  id: string;
  email: string;
  access_token: string;
  expires_at: number;
}

interface LocalSession {
  api_url: string;
  anon_key: string;
  users: LocalUser[];
}

const SESSION_URL = "/local-dev/session.json";
const STORAGE_KEY = "crm-local-user";

async function fetchLocalSession(): Promise<LocalSession> {
  const response = await fetch(SESSION_URL, { cache: "no-store" });
  if (!response.ok) {
    throw new Error(
      `The local sign-in needs the stack's ${SESSION_URL} (HTTP ${response.status}): run \`make stack\`.`,
    );
  }
  return (await response.json()) as LocalSession;
}

/** The chosen user's token, re-read from the stack when it is about to expire. */
async function tokenFor(userId: string, known: LocalUser): Promise<string> {
  const now = Date.now() / 1000;
  if (known.expires_at - now > 60) return known.access_token;
  const fresh = (await fetchLocalSession()).users.find((u) => u.id === userId);
  if (!fresh || fresh.expires_at - now <= 60) {
    throw new Error("The local sign-in token expired: run `make stack` to mint fresh ones.");
  }
  known.access_token = fresh.access_token;
  known.expires_at = fresh.expires_at;
  return fresh.access_token;
}

export function LocalAuthGate({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const session = useQuery({
    queryKey: ["local-dev-session"],
    queryFn: fetchLocalSession,
    staleTime: Infinity,
    gcTime: Infinity,
  });
  const [chosen, setChosen] = useState<string | null>(() => sessionStorage.getItem(STORAGE_KEY));

  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setChosen(null);
    queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== "local-dev-session" });
  }, [queryClient]);

  const value = useMemo<AuthValue | null>(() => {
    const data = session.data;
    const user = data?.users.find((u) => u.email === chosen);
    if (!data || !user) return null;
    const known = { ...user };
    const client = createClient<Database>(window.location.origin, data.anon_key, {
      accessToken: () => tokenFor(user.id, known),
      global: { fetch: fetchWithTimeout },
    });
    return { client, user: { id: user.id, email: user.email }, apiUrl: data.api_url, signOut };
  }, [session.data, chosen, signOut]);
  useReturnAfterSignIn(value !== null);

  if (session.isPending) return <Loading label="Loading the local sign-in" />;
  if (session.isError) {
    return (
      <main className="signin">
        <ErrorMessage error={session.error} retry={() => void session.refetch()} />
      </main>
    );
  }
  if (!value) {
    return (
      <main className="signin">
        <RememberPlace />
        <section aria-labelledby="signin-title">
          <h1 id="signin-title">Sign in (local stack)</h1>
          <p className="muted">
            The local stack has no Auth server: pick one of the seed users. Production builds sign in with Supabase Auth
            instead and contain none of this.
          </p>
          <ul className="user-picker">
            {session.data.users.map((u) => (
              <li key={u.id}>
                <button
                  type="button"
                  onClick={() => {
                    sessionStorage.setItem(STORAGE_KEY, u.email);
                    setChosen(u.email);
                  }}
                >
                  Sign in as {u.email}
                </button>
              </li>
            ))}
          </ul>
          {session.data.users.length === 0 && <p role="alert">No seed users in the database: run `make reset`.</p>}
        </section>
      </main>
    );
  }
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** The sign-in screen shows at the address asked for; remember it for after sign-in. */
function RememberPlace() {
  useRememberPlace();
  return null;
}
