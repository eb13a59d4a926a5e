// /local-dev/session.json for `vite preview` / `vite` (dev servers only), for a stack that
// does not serve the CRM screens itself (a `supabase start` one, whose .env has no WEB_URL).
// The same body the native stack's nginx serves (devstack/gateway.py): the seed
// users with short-lived access tokens minted here with the stack's JWT secret, the API
// URL and the anon key. The secret stays in this Node process. This module is imported by
// vite.config.ts only: no part of it reaches a bundle.
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { Plugin } from "vite";
import type { StackEnv } from "./stack-env";

export const SESSION_PATH = "/local-dev/session.json";
/** As devstack: LOCAL_SESSION_TTL and the seed users' e-mail domain. */
export const LOCAL_SESSION_TTL = 12 * 3600;
const LOCAL_USER_DOMAIN = "@crm.example";

type SessionEnv = Pick<StackEnv, "API_URL" | "ANON_KEY" | "JWT_SECRET" | "DB_URL">;

const base64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

/** An HS256 access token as GoTrue issues it (the claims of devstack/tokens.py user_token). */
export function userToken(secret: string, userId: string, email: string, ttlSeconds: number): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = base64url(
    JSON.stringify({
      iss: "supabase-demo",
      aud: "authenticated",
      sub: userId,
      role: "authenticated",
      iat: now,
      exp: now + ttlSeconds,
      aal: "aal1",
      session_id: null,
      is_anonymous: false,
      email,
    }),
  );
  const signature = createHmac("sha256", secret).update(`${header}.${claims}`).digest("base64url");
  return `${header}.${claims}.${signature}`;
}

/** The seed users (supabase/seed.sql) from auth.users, read with psql as stack.py does. */
async function seedUsers(dbUrl: string): Promise<{ id: string; email: string }[]> {
  const sql = `select id, email from auth.users where email like '%${LOCAL_USER_DOMAIN}' order by email`;
  const { stdout } = await promisify(execFile)("psql", [dbUrl, "-X", "-At", "-F", "\t", "-c", sql], {
    timeout: 15_000,
  });
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id = "", email = ""] = line.split("\t");
      return { id, email };
    });
}

export async function localSessionBody(env: SessionEnv): Promise<string> {
  const expiresAt = Math.floor(Date.now() / 1000) + LOCAL_SESSION_TTL;
  const users = (await seedUsers(env.DB_URL)).map((u) => ({
    ...u,
    access_token: userToken(env.JWT_SECRET, u.id, u.email, LOCAL_SESSION_TTL),
    expires_at: expiresAt,
  }));
  return JSON.stringify({ api_url: env.API_URL, anon_key: env.ANON_KEY, users }, null, 1) + "\n";
}

function isLoopback(req: IncomingMessage): boolean {
  const addr = req.socket.remoteAddress ?? "";
  return addr === "::1" || addr.startsWith("127.") || addr.startsWith("::ffff:127.");
}

/**
 * Serves SESSION_PATH on the preview and dev servers, to loopback clients only. `vite
 * preview` also checks that web/dist is the local-stack build (`make web-build`), the one
 * whose sign-in reads this file.
 */
export function localSessionPlugin(env: SessionEnv, distDir: string): Plugin {
  const handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    if (req.url?.split("?")[0] !== SESSION_PATH) return next();
    res.setHeader("Cache-Control", "no-store");
    if (!isLoopback(req) || (req.method !== "GET" && req.method !== "HEAD")) {
      res.statusCode = 403;
      return res.end();
    }
    localSessionBody(env).then(
      (body) => {
        res.setHeader("Content-Type", "application/json");
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (error: unknown) => {
        // the detail (psql's words) on the server's console; it may hold the database URL
        console.error(`${SESSION_PATH}: reading the seed users failed:`, error);
        res.statusCode = 503;
        res.setHeader("Content-Type", "text/plain");
        res.end("the seed users could not be read from the database (see the server's log)\n");
      },
    );
  };
  return {
    name: "crm-local-session",
    configureServer(server) {
      server.middlewares.use(handler);
    },
    configurePreviewServer(server) {
      if (!existsSync(resolve(distDir, ".local-build"))) {
        throw new Error(`${distDir} is not the local-stack build: run make web-build`);
      }
      server.middlewares.use(handler);
    },
  };
}
