import { defineConfig } from "@playwright/test";
import { PREVIEW_PORT, readStackEnv } from "./e2e/stack-env";

// Debian's chromium (installed by `make setup`): Playwright never downloads a browser here.
const CHROMIUM = process.env.CRM_CHROMIUM ?? "/usr/bin/chromium";

// The native stack serves the screens at WEB_URL. A `supabase start` stack does not (its
// .env has no WEB_URL): then Playwright starts `vite preview` of web/dist (`make web-build`),
// which forwards the API and mints the local sign-in's tokens (vite.config.ts), and stops it
// after the run.
const stack = readStackEnv();

export default defineConfig({
  testDir: "./e2e",
  outputDir: "test-results/runs",
  globalSetup: "./e2e/global-setup.ts",
  timeout: 90_000,
  expect: { timeout: 10_000 },
  // one browser at a time: the machine (2 cores) also runs the stack
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  reporter: [["list"]],
  webServer:
    stack.webServer === "vite preview"
      ? {
          command: `node_modules/.bin/vite preview --host 127.0.0.1 --port ${PREVIEW_PORT} --strictPort`,
          url: stack.WEB_URL,
          env: { VITE_LOCAL_STACK: "1" },
          // a server already on that port is not ours: fail rather than test it
          reuseExistingServer: false,
          timeout: 60_000,
          stdout: "ignore",
          stderr: "pipe",
        }
      : undefined,
  use: {
    baseURL: stack.WEB_URL,
    viewport: { width: 1440, height: 900 },
    locale: "en-GB",
    timezoneId: "Europe/Madrid",
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
