import react from "@vitejs/plugin-react";
import { resolve } from "node:path";
import { defineConfig, searchForWorkspaceRoot, type PluginOption, type ProxyOptions } from "vite";
import { localSessionPlugin } from "./e2e/local-session.ts";
import { readStackEnv } from "./e2e/stack-env.ts";

// VITE_LOCAL_STACK=1 (set by `make stack`) compiles in the local sign-in, which picks a
// seed user from the stack's /local-dev/session.json. Any other build leaves it out:
// __LOCAL_STACK__ is a literal false there, so the bundler drops that code entirely.
const localStack = process.env.VITE_LOCAL_STACK === "1";
const DIST = resolve(import.meta.dirname, "dist");
// `@shared/...` (tsconfig.json's paths): the generated database.ts and contract.json the
// screens and the edge function share, written once by `make web-types`
const SHARED = resolve(import.meta.dirname, "../supabase/functions/_shared");

// `vite preview` (and `vite`) with VITE_LOCAL_STACK=1 stand in for the native stack's web
// server where none runs (a `supabase start` stack: no WEB_URL in .env; Playwright starts
// the preview then): /rest/v1 and /functions/v1 forwarded to the stack's API_URL, and
// /local-dev/session.json minted from its JWT secret for the seed users. That is server
// code of this config, never part of a build.
function localStackServer(): { plugins: PluginOption[]; proxy: Record<string, ProxyOptions> } {
  const env = readStackEnv();
  const api: ProxyOptions = { target: env.API_URL, changeOrigin: false, xfwd: true };
  return {
    plugins: [localSessionPlugin(env, DIST)],
    proxy: { "/rest/v1/": api, "/functions/v1/": api },
  };
}

export default defineConfig(({ command }) => {
  const server = command === "serve" && localStack ? localStackServer() : null;
  return {
    plugins: [react(), ...(server?.plugins ?? [])],
    resolve: { alias: { "@shared": SHARED } },
    define: { __LOCAL_STACK__: JSON.stringify(localStack) },
    build: { sourcemap: false, chunkSizeWarningLimit: 800 },
    // the dev server reads files outside web/ only where it is told to: `@shared`'s too
    server: {
      fs: { allow: [searchForWorkspaceRoot(process.cwd()), SHARED] },
      ...(server && { host: "127.0.0.1", proxy: server.proxy }),
    },
    ...(server && { preview: { host: "127.0.0.1", proxy: server.proxy } }),
  };
});
