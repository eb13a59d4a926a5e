// The running stack's settings, from the repository's .env (written by `make stack`):
// the same names `supabase status -o env` prints, plus WEB_URL.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface StackEnv {
  API_URL: string;
  ANON_KEY: string;
  SERVICE_ROLE_KEY: string;
  JWT_SECRET: string;
  WEB_URL: string;
}

export function readStackEnv(): StackEnv {
  const path = process.env.CRM_ENV_FILE ?? resolve(REPO_ROOT, ".env");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`${path} not found: start the stack first (make stack)`);
  }
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) values[m[1]] = m[2];
  }
  const pick = (...names: string[]) => names.map((n) => process.env[n] ?? values[n]).find(Boolean) ?? "";
  const env: StackEnv = {
    API_URL: pick("API_URL", "SUPABASE_URL"),
    ANON_KEY: pick("ANON_KEY", "SUPABASE_ANON_KEY"),
    SERVICE_ROLE_KEY: pick("SERVICE_ROLE_KEY", "SUPABASE_SERVICE_ROLE_KEY"),
    JWT_SECRET: pick("JWT_SECRET", "SUPABASE_JWT_SECRET"),
    WEB_URL: pick("WEB_URL"),
  };
  const missing = Object.entries(env).filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) throw new Error(`${path} lacks ${missing.join(", ")}: run make stack`);
  return env;
}
