// What the browser downloads holds no secret: neither the service key nor the JWT
// secret, nor the private schema's name; and a production build has no local sign-in.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, test } from "@playwright/test";
import { readStackEnv } from "./stack-env";

const WEB = resolve(import.meta.dirname, "..");

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function bundleText(dir: string): string {
  const files = filesUnder(dir).filter((f) => /\.(js|css|html|json|map)$/.test(f));
  expect(files.length).toBeGreaterThan(1);
  return files.map((f) => readFileSync(f, "utf8")).join("\n");
}

test("the served bundle holds no service key, JWT secret or private schema", async ({ request }) => {
  const env = readStackEnv();
  const text = bundleText(join(WEB, "dist"));
  expect(text).toContain("get_conversation_messages"); // it is the app's bundle
  expect(text).not.toContain(env.SERVICE_ROLE_KEY);
  expect(text).not.toContain(env.JWT_SECRET);
  expect(text).not.toContain("messaging_private");
  // and what nginx serves is that bundle
  const html = await (await request.get("/")).text();
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(script).toBeTruthy();
  const served = await (await request.get(script!)).text();
  expect(served).not.toContain(env.SERVICE_ROLE_KEY);
  expect(served).not.toContain(env.JWT_SECRET);
});

test("a production build has no local sign-in and signs in with Supabase Auth", async ({ page }) => {
  const env = readStackEnv();
  const out = mkdtempSync(join(tmpdir(), "crm-web-prod-"));
  try {
    execFileSync(join(WEB, "node_modules/.bin/vite"), ["build", "--outDir", out, "--logLevel", "error"], {
      cwd: WEB,
      env: {
        ...process.env,
        VITE_LOCAL_STACK: "",
        VITE_SUPABASE_URL: env.API_URL,
        VITE_SUPABASE_ANON_KEY: env.ANON_KEY,
      },
    });
    const text = bundleText(out);
    expect(text).toContain("signInWithPassword");
    expect(text).not.toContain("local-dev/session.json");
    expect(text).not.toContain("Sign in (local stack)");
    expect(text).not.toContain(env.SERVICE_ROLE_KEY);
    expect(text).not.toContain(env.JWT_SECRET);

    // The build in the browser, its files handed over by Playwright (no extra server):
    // a password sign-in through supabase-js. The local stack has no Auth server, so the
    // attempt must fail, and say so on screen.
    await page.route("http://crm.test/**", (route) => {
      const path = new URL(route.request().url()).pathname;
      return route.fulfill({ path: path.startsWith("/assets/") ? join(out, path) : join(out, "index.html") });
    });
    await page.goto("http://crm.test/inbox");
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    await expect(page.getByRole("button", { name: /Sign in as/ })).toHaveCount(0);
    await page.getByLabel("Email").fill("alice@crm.example");
    await page.getByLabel("Password").fill("not-a-real-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).not.toBeEmpty();
    console.log("prod sign-in:", await page.getByRole("alert").textContent());
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
