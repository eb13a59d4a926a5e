// The app route's caller check (caller.ts): tokens are judged from the header alone. The
// check by request is given a stand-in for PostgREST (its answers to a token are all it
// reads); tests/test_webhooks.py runs the real one through the gateway.
import { bearerToken, callerCheck } from "./caller.ts";
import { hs256, toBytes } from "./crypto.ts";
import { assert, assertEquals } from "./test_helpers.ts";

const SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const NOW = 1_800_000_000_000;

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function jwt(claims: Record<string, unknown>, secret = SECRET, alg = "HS256"): string {
  const head = b64url(toBytes(JSON.stringify({ alg, typ: "JWT" })));
  const body = b64url(toBytes(JSON.stringify(claims)));
  return `${head}.${body}.${b64url(hs256(secret, `${head}.${body}`))}`;
}

const user = { role: "authenticated", sub: "u1", exp: NOW / 1000 + 3600 };

function stubApi(valid: Set<string>) {
  const asked: string[] = [];
  const fetch = (_url: string | URL | Request, init?: RequestInit) => {
    const token = bearerToken(new Headers(init?.headers).get("authorization")) ?? "";
    asked.push(token);
    return Promise.resolve(new Response("[]", { status: valid.has(token) ? 200 : 401 }));
  };
  return { fetch: fetch as typeof globalThis.fetch, asked };
}

Deno.test("with the JWT secret: a user's or the service key's token passes, without a request", async () => {
  const api = stubApi(new Set());
  const check = callerCheck({
    url: "http://api",
    anonKey: "anon",
    jwtSecret: SECRET,
    fetch: api.fetch,
    now: () => NOW,
  });
  assertEquals(await check(`Bearer ${jwt(user)}`), null);
  assertEquals(await check(`bearer ${jwt({ role: "service_role" })}`), null, "a key without exp");
  assertEquals(api.asked.length, 0);
});

Deno.test("with the JWT secret: forged, expired, anon and malformed tokens are refused, each saying why", async () => {
  const api = stubApi(new Set());
  const check = callerCheck({
    url: "http://api",
    anonKey: "anon",
    jwtSecret: SECRET,
    fetch: api.fetch,
    now: () => NOW,
  });
  assertEquals(
    await check(`Bearer ${jwt(user, "another-secret")}`),
    "the bearer token's signature is not this project's",
  );
  assertEquals(await check(`Bearer ${jwt({ ...user, exp: NOW / 1000 - 1 })}`), "the bearer token has expired");
  assert((await check(`Bearer ${jwt({ role: "anon" })}`))?.includes("role may not write messages"));
  assert((await check(`Bearer ${jwt({ sub: "u1" })}`))?.includes("role may not write messages"));
  assertEquals(await check("Bearer x"), "the bearer token is not a JWT");
  assertEquals(await check("Bearer a.b.c"), "the bearer token is not a JWT");
  assertEquals(await check(`Bearer ${"a".repeat(9000)}`), "the bearer token is too long");
  assertEquals(await check("Basic dXNlcjpwYXNz"), "Authorization: Bearer <user token or service key> required");
  assertEquals(api.asked.length, 0, "none of them cost a request");
});

Deno.test("without the secret: PostgREST judges the signature once per token, the answer is kept", async () => {
  const good = jwt(user, "hosted-secret");
  const forged = jwt(user, "forger");
  const api = stubApi(new Set([good]));
  const check = callerCheck({ url: "http://api", anonKey: "anon", fetch: api.fetch, now: () => NOW });
  const answers = await Promise.all([check(`Bearer ${good}`), check(`Bearer ${good}`), check(`Bearer ${forged}`)]);
  assertEquals(answers, [null, null, "the bearer token was refused by the API"]);
  assertEquals(await check(`Bearer ${good}`), null);
  assertEquals(await check(`Bearer ${forged}`), "the bearer token was refused by the API");
  assertEquals(api.asked.sort(), [forged, good].sort(), "one request per token, however many calls");
  // claims are read before any request: an expired or anon token is refused locally
  assertEquals(
    await check(`Bearer ${jwt({ ...user, exp: NOW / 1000 - 5 }, "hosted-secret")}`),
    "the bearer token has expired",
  );
  assertEquals(await check("Bearer not-a-token"), "the bearer token is not a JWT");
  assertEquals(api.asked.length, 2);
});

Deno.test("without the secret: an asymmetric (ES256) token goes to PostgREST too; an unreachable API throws", async () => {
  const es = jwt(user, "k", "ES256");
  const api = stubApi(new Set([es]));
  const check = callerCheck({
    url: "http://api",
    anonKey: "anon",
    jwtSecret: SECRET,
    fetch: api.fetch,
    now: () => NOW,
  });
  assertEquals(await check(`Bearer ${es}`), null);
  const down = callerCheck({
    url: "http://api",
    anonKey: "anon",
    fetch: () => Promise.reject(new TypeError("connection refused")),
    now: () => NOW,
  });
  let threw = false;
  try {
    await down(`Bearer ${jwt(user, "hosted-secret")}`);
  } catch (e) {
    threw = (e as { retryable?: boolean }).retryable === true;
  }
  assert(threw, "a retryable StoreError (503)");
});
