import type { SupabaseClient } from "@supabase/supabase-js";
import { createContext, useContext } from "react";
import type { Database } from "../types/messaging";

export interface SignedInUser {
  id: string;
  email: string | null;
}

/** What the screens need from the sign-in: a client under the user's RLS, and who they are. */
export interface AuthValue {
  client: SupabaseClient<Database>;
  user: SignedInUser;
  /** The project's API URL as the outside world calls it (webhook URLs are built on it). */
  apiUrl: string;
  signOut: () => void;
}

export const AuthContext = createContext<AuthValue | null>(null);

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside a sign-in gate");
  return value;
}

export function useSupabase(): SupabaseClient<Database> {
  return useAuth().client;
}
