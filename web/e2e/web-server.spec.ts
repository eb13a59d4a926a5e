// Whatever serves the screens (the native stack's nginx at WEB_URL, or `vite preview` for
// a `supabase start` stack): the app with its SPA fallback, the API on the app's origin,
// and the local sign-in's tokens: the seed users only, short-lived, no secret beside them.
import { createHmac, timingSafeEqual } from "node:crypto";
import { expect, test } from "@playwright/test";
import { ALICE, BOB } from "./fixtures";
import { readStackEnv } from "./stack-env";

interface LocalSession {
  api_url: string;
  anon_key: string;
  users: { id: string; email: string; access_token: string; expires_at: number }[];
}

/** The claims of an HS256 token whose signature holds under `secret`. */
function verifiedClaims(token: string, secret: string): Record<string, unknown> {
  const [header = "", claims = "", signature = ""] = token.split(".");
  expect(JSON.parse(Buffer.from(header, "base64url").toString())).toMatchObject({ alg: "HS256" });
  const expected = createHmac("sha256", secret).update(`${header}.${claims}`).digest();
  const given = Buffer.from(signature, "base64url");
  expect(given.length === expected.length && timingSafeEqual(given, expected)).toBe(true);
  return JSON.parse(Buffer.from(claims, "base64url").toString()) as Record<string, unknown>;
}

test("the screens' server: the app with an SPA fallback, the API on its origin", async ({ request }) => {
  const env = readStackEnv();
  console.log(`screens served by ${env.webServer} at ${env.WEB_URL}`);
  const index = await request.get("/");
  expect(index.status()).toBe(200);
  const html = await index.text();
  expect(html).toContain('<div id="root">');
  const deep = await request.get("/inbox/some-conversation?msg=x", { headers: { Accept: "text/html" } });
  expect(deep.status()).toBe(200);
  expect(await deep.text()).toBe(html);
  // PostgREST through the stack's gateway: anon may not read people
  const people = await request.get("/rest/v1/people?select=id", { headers: { apikey: env.ANON_KEY } });
  expect(people.status()).toBe(401);
  expect(await people.json()).toMatchObject({ code: "42501" });
  // the edge function through the gateway: its own JSON answer to an unknown route
  const fn = await request.get("/functions/v1/messaging-ingest/no-such-route");
  expect(fn.status()).toBe(404);
  expect(await fn.json()).toHaveProperty("error");
});

test("the local sign-in's session: seed users' short-lived tokens, no secret", async ({ request }) => {
  const env = readStackEnv();
  const response = await request.get("/local-dev/session.json");
  expect(response.status()).toBe(200);
  expect(response.headers()["cache-control"]).toBe("no-store");
  const text = await response.text();
  expect(text).not.toContain(env.JWT_SECRET);
  expect(text).not.toContain(env.SERVICE_ROLE_KEY);
  const body = JSON.parse(text) as LocalSession;
  expect(body.api_url).toBe(env.API_URL);
  expect(body.anon_key).toBe(env.ANON_KEY);
  expect(body.users.map((u) => [u.email, u.id])).toEqual([
    [ALICE.email, ALICE.id],
    [BOB.email, BOB.id],
  ]);
  const now = Date.now() / 1000;
  for (const user of body.users) {
    const claims = verifiedClaims(user.access_token, env.JWT_SECRET);
    expect(claims).toMatchObject({ sub: user.id, role: "authenticated", aud: "authenticated", email: user.email });
    expect(claims.exp).toBe(user.expires_at);
    expect(user.expires_at).toBeGreaterThan(now + 3600);
    expect(user.expires_at).toBeLessThanOrEqual(now + 12 * 3600 + 5);
  }
  // the API takes bob's token as bob: he reads his own people only (the seed's, not the
  // 1,103 the global setup gave him)
  const bob = body.users.find((u) => u.id === BOB.id)!;
  const people = await request.get("/rest/v1/people?select=full_name&full_name=not.like.Person*", {
    headers: { apikey: env.ANON_KEY, Authorization: `Bearer ${bob.access_token}` },
  });
  expect(people.status()).toBe(200);
  expect(await people.json()).toEqual([{ full_name: "Tom Jones" }]);
});
