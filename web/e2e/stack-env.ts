// The running stack's settings, from the repository's .env (written by `make stack`, or
// by `supabase status -o env > .env` for a `supabase start` stack): the names
// `supabase status -o env` prints, plus WEB_URL, which only the native stack writes.
// Without WEB_URL nothing serves the CRM screens yet: Playwright's webServer then starts
// `vite preview` on web/dist at PREVIEW_URL (see playwright.config.ts, vite.config.ts).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `vite preview` of web/dist for a stack that does not serve the screens: 54341 + offset. */
export const PREVIEW_PORT = 54341 + Number(process.env.CRM_STACK_PORT_OFFSET ?? "0");
export const PREVIEW_URL = `http://127.0.0.1:${PREVIEW_PORT}`;

export interface StackEnv {
  API_URL: string;
  ANON_KEY: string;
  SERVICE_ROLE_KEY: string;
  JWT_SECRET: string;
  DB_URL: string;
  /** Where the CRM screens are: the stack's WEB_URL, else PREVIEW_URL. */
  WEB_URL: string;
  /** Who serves them: the native stack's nginx, or `vite preview` started by Playwright. */
  webServer: "stack" | "vite preview";
}

export function envFilePath(): string {
  return process.env.CRM_ENV_FILE ?? resolve(REPO_ROOT, ".env");
}

/** The .env's variables (values unquoted, as `supabase status -o env` quotes them), or null. */
export function readEnvFile(path = envFilePath()): Record<string, string> | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line.trim());
    if (!m?.[1] || m[2] === undefined) continue;
    const raw = m[2];
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    values[m[1]] = quoted?.[2] !== undefined ? quoted[2] : raw.replace(/\s+#.*$/, "");
  }
  return values;
}

/** The stack's settings: the process environment first, then the .env file. */
export function readStackEnv(): StackEnv {
  const path = envFilePath();
  const values = readEnvFile(path);
  if (values === null) throw new Error(`${path} not found: start the stack first (make stack)`);
  const pick = (...names: string[]) => names.map((n) => process.env[n] || values[n]).find(Boolean) ?? "";
  const required = {
    API_URL: pick("API_URL", "SUPABASE_URL").replace(/\/+$/, ""),
    ANON_KEY: pick("ANON_KEY", "SUPABASE_ANON_KEY"),
    SERVICE_ROLE_KEY: pick("SERVICE_ROLE_KEY", "SUPABASE_SERVICE_ROLE_KEY"),
    JWT_SECRET: pick("JWT_SECRET", "SUPABASE_JWT_SECRET"),
    DB_URL: pick("DB_URL", "SUPABASE_DB_URL"),
  };
  const missing = Object.entries(required)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) throw new Error(`${path} lacks ${missing.join(", ")}: run make stack`);
  const web = pick("WEB_URL").replace(/\/+$/, "");
  return web
    ? { ...required, WEB_URL: web, webServer: "stack" }
    : { ...required, WEB_URL: PREVIEW_URL, webServer: "vite preview" };
}
