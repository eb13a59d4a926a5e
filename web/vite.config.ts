import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// VITE_LOCAL_STACK=1 (set by `make stack`) compiles in the local sign-in, which picks a
// seed user from the stack's /local-dev/session.json. Any other build leaves it out:
// __LOCAL_STACK__ is a literal false there, so the bundler drops that code entirely.
const localStack = process.env.VITE_LOCAL_STACK === "1";

export default defineConfig({
  plugins: [react()],
  define: { __LOCAL_STACK__: JSON.stringify(localStack) },
  build: { sourcemap: false, chunkSizeWarningLimit: 800 },
});
