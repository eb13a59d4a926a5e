// The handler drives whatever adapter the route names: a made-up platform with a stub
// adapter goes through the same steps as the real ones (verify -> 401, the GET handshake,
// map, the replay guard, the platform's answer), with no change to handler.ts.
import handlerSource from "./handler.ts" with { type: "text" };
import { acceptsGet, type Adapter } from "./adapter.ts";
import { ADAPTERS } from "./adapters.ts";
import { text } from "./answers.ts";
import { createHandler } from "./handler.ts";
import type { Connection, Store } from "./store.ts";
import { assert, assertEquals } from "./test_helpers.ts";
import { type Delivery, type Platform, ShapeError } from "./types.ts";
import { Constants } from "../_shared/database.ts";

const BASE = "http://127.0.0.1/messaging-ingest";
const LINE = "66666666-6666-4666-8666-666666666666";
const TG = "77777777-7777-4777-8777-777777777777";

// "line" is no value of the messaging_platform enum: the types forbid it, hence the casts
const connections: Record<string, Connection> = {
  [LINE]: {
    id: LINE,
    user_id: "u",
    platform: "line" as Platform,
    account_identifier: "acct",
    status: "active",
    secrets: { token: "line-secret" },
  },
  [TG]: {
    id: TG,
    user_id: "u",
    platform: "telegram",
    account_identifier: "bot",
    status: "active",
    secrets: { secret_token: "tg-secret" },
  },
};

function stubPlatform(opts: { handshake?: boolean } = {}) {
  const calls: string[] = [];
  const adapter: Adapter = {
    authorize: (req, url, c) => {
      calls.push("authorize");
      return req.headers.get("x-line-signature") === c.secrets.token || url.searchParams.get("sig") === c.secrets.token
        ? null
        : "x-line-signature: missing or wrong";
    },
    // a stand-in for a signature over the body: the body "forged" fails it
    verify: (_req, raw) => {
      calls.push("verify");
      return new TextDecoder().decode(raw) !== "forged";
    },
    map: (raw, c) => {
      calls.push("map");
      const body = new TextDecoder().decode(raw);
      if (body === "not mine") throw new ShapeError("body: not a line event");
      return {
        messages: [{
          platform: "line" as Platform,
          external_conversation_id: "peer",
          id: `m-${body}`,
          direction: "inbound",
          type: "text",
          content: body,
          sent_at: "2026-01-02T03:04:05Z",
          sender_identifier: c.account_identifier,
        }],
        updates: [],
      };
    },
    handshake: opts.handshake === false
      ? null
      : { signed: true, answer: (url) => text(200, `hello ${url.searchParams.get("challenge")}`) },
    answer: (status, body) => text(status, `line ${status} ${body.ok === true ? "ok" : String(body.error)}`),
    replayGuard: (url, raw) => ({ nonce: url.searchParams.get("n") ?? "", digest: `${raw.length} bytes` }),
  };
  const delivered: Delivery[] = [];
  const failures: string[] = [];
  const store: Store = {
    connection: (id) => Promise.resolve(connections[id] ?? null),
    deliver: (_c, d) => {
      delivered.push(d);
      return Promise.resolve({ inserted: d.messages.length, accepted: d.messages.length, refused: [] });
    },
    refresh: (id) => Promise.resolve(connections[id] ?? null),
    recordFailure: (_id, e) => {
      failures.push(e);
      return Promise.resolve();
    },
    recordRefusal: (_id, _reason, e) => {
      failures.push(e);
      return Promise.resolve();
    },
    ingestAsCaller: () => Promise.resolve({ status: 200, body: {} }),
  };
  const adapters = { ...ADAPTERS, line: adapter } as Record<Platform, Adapter>;
  return { handler: createHandler({ store, adapters }), store, calls, delivered, failures };
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  new Request(`${BASE}${path}`, { method: "POST", body, headers });

Deno.test("a stub adapter: a failed authorize is 401 before the body is read; nothing stored, the refusal counted", async () => {
  const p = stubPlatform();
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(64 * 1024));
    },
  });
  const res = await p.handler(
    new Request(`${BASE}/line/${LINE}`, { method: "POST", body, headers: { "x-line-signature": "wrong" } }),
  );
  assertEquals([res.status, await res.json()], [401, { error: "x-line-signature: missing or wrong" }]);
  // checked against the cached connection, then against the one read again (a rotation)
  assertEquals([p.calls, p.delivered.length, p.failures], [["authorize", "authorize"], 0, [
    "401 x-line-signature: missing or wrong",
  ]]);
  assert(pulled <= 1, `the body was read: ${pulled} chunks`);
});

Deno.test("a stub adapter: a failed verify of the body is 401 before it is mapped", async () => {
  const p = stubPlatform();
  const res = await p.handler(post(`/line/${LINE}`, "forged", { "x-line-signature": "line-secret" }));
  assertEquals([res.status, await res.json()], [401, { error: "missing or wrong signature" }]);
  assertEquals([p.calls, p.delivered.length, p.failures], [["authorize", "verify", "verify"], 0, [
    "401 missing or wrong signature",
  ]]);
});

Deno.test("a stub adapter: verified, mapped, replay-guarded, stored, answered in the platform's form", async () => {
  const p = stubPlatform();
  const res = await p.handler(post(`/line/${LINE}?n=nonce-1`, "hi", { "x-line-signature": "line-secret" }));
  assertEquals([res.status, await res.text()], [200, "line 200 ok"]);
  assertEquals(p.calls, ["authorize", "verify", "map"]);
  assertEquals(p.delivered[0].messages.map((m) => [m.id, m.content]), [["m-hi", "hi"]]);
  assertEquals(p.delivered[0].replayGuard, { nonce: "nonce-1", digest: "2 bytes" });
});

Deno.test("a stub adapter: a ShapeError of its mapping is 400, recorded on the connection", async () => {
  const p = stubPlatform();
  const res = await p.handler(post(`/line/${LINE}`, "not mine", { "x-line-signature": "line-secret" }));
  assertEquals([res.status, await res.json()], [400, { error: "body: not a line event" }]);
  assertEquals([p.delivered.length, p.failures], [0, ["400 body: not a line event"]]);
});

Deno.test("a stub adapter: its signed GET handshake; without a handshake GET is 405", async () => {
  const p = stubPlatform();
  const ok = await p.handler(new Request(`${BASE}/line/${LINE}?sig=line-secret&challenge=42`));
  assertEquals([ok.status, await ok.text()], [200, "hello 42"]);
  const bad = await p.handler(new Request(`${BASE}/line/${LINE}?sig=no&challenge=42`));
  assertEquals(bad.status, 401);
  const postOnly = stubPlatform({ handshake: false });
  assertEquals((await postOnly.handler(new Request(`${BASE}/line/${LINE}?sig=line-secret`))).status, 405);
  assertEquals(postOnly.calls, [], "a method the adapter does not take is refused before anything else");
  const put = await p.handler(new Request(`${BASE}/line/${LINE}`, { method: "PUT", body: "x" }));
  assertEquals(put.status, 405);
});

Deno.test("routes are the adapters' keys: the real ones still answer, a connection of another platform is 404", async () => {
  const p = stubPlatform();
  const tg = await p.handler(
    post(`/telegram/${TG}`, JSON.stringify({ update_id: 1 }), { "x-telegram-bot-api-secret-token": "tg-secret" }),
  );
  assertEquals(tg.status, 200);
  assertEquals((await p.handler(post(`/line/${TG}`, "hi", { "x-line-signature": "tg-secret" }))).status, 404);
  assertEquals((await p.handler(post(`/telegram/${LINE}`, "{}"))).status, 404);
  // without the stub, "line" is no route
  const real = createHandler({ store: p.store });
  assertEquals((await real(post(`/line/${LINE}`, "hi", { "x-line-signature": "line-secret" }))).status, 404);
  for (const name of ["__proto__", "constructor", "toString"]) {
    assertEquals((await p.handler(post(`/${name}/${LINE}`, "hi"))).status, 404, name);
  }
});

Deno.test("every platform of the database's enum has an adapter, and handler.ts names none of them", () => {
  const platforms = [...Constants.public.Enums.messaging_platform].sort();
  assertEquals(Object.keys(ADAPTERS).sort(), platforms);
  for (const p of platforms) {
    assert(!new RegExp(`\\b${p}\\b`, "i").test(handlerSource), `handler.ts names ${p}`);
  }
  // GET is a route exactly where the platform has a handshake
  assertEquals(
    platforms.filter((p) => acceptsGet(ADAPTERS[p as Platform])),
    ["wechat", "whatsapp"],
  );
});
