/// <reference types="vite/client" />

/** True only in a build for the local stack (`make stack`): enables the local sign-in. */
declare const __LOCAL_STACK__: boolean;

interface ImportMetaEnv {
  /** The project's API URL, e.g. https://<ref>.supabase.co (production builds). */
  readonly VITE_SUPABASE_URL?: string;
  /** The project's anon key (public by design; RLS guards the data). */
  readonly VITE_SUPABASE_ANON_KEY?: string;
  /**
   * "1": the deployment runs a Realtime server (the live inbox subscribes to it), "0": it
   * does not (the inbox polls). Unset: a hosted build assumes Realtime, a local-stack build not.
   */
  readonly VITE_SUPABASE_REALTIME?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
