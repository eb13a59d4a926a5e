// The store's own logic: the caches and how PostgREST's answers become final or retryable.
// supabase-js runs for real; its fetch is replaced by a stand-in for PostgREST that counts
// the requests (how many lookups reach the database is what is tested, and a real
// PostgREST cannot say). tests/test_webhooks.py runs the store against the real stack.
import { isRetryable, StoreError, supabaseStore } from "./store.ts";
import { assert, assertEquals } from "./test_helpers.ts";

const ID = "55555555-5555-4555-8555-555555555555";

function postgrest(answer: (rpc: string) => { status: number; body: unknown }) {
  const calls: string[] = [];
  const fetch = (input: Request | URL | string, _init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const rpc = url.pathname.replace(/^.*\/rpc\//, "");
    calls.push(rpc);
    const { status, body } = answer(rpc);
    return Promise.resolve(
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }),
    );
  };
  return { calls, fetch: fetch as typeof globalThis.fetch };
}

const opts = { url: "http://127.0.0.1:1", anonKey: "anon", serviceKey: "service" };

Deno.test("an id that names no connection is asked once, then answered from memory until it expires", async () => {
  const pg = postgrest(() => ({ status: 200, body: null }));
  const store = supabaseStore({ ...opts, fetch: pg.fetch, unknownCacheSeconds: 0.2 });
  for (let i = 0; i < 20; i++) assertEquals(await store.connection(ID), null);
  assertEquals(pg.calls, ["webhook_connection"]);
  await new Promise((r) => setTimeout(r, 250));
  assertEquals(await store.connection(ID), null);
  assertEquals(pg.calls.length, 2, "asked again once the entry expired");
});

Deno.test("a known connection is cached; a paused answer drops it so its status is read again", async () => {
  const conn = { id: ID, user_id: "u", platform: "whatsapp", account_identifier: "+1", status: "active", secrets: {} };
  const pg = postgrest((rpc) =>
    rpc === "webhook_connection"
      ? { status: 200, body: conn }
      : { status: 200, body: { rejected: { kind: "paused", reason: "paused" } } }
  );
  const store = supabaseStore({ ...opts, fetch: pg.fetch });
  await store.connection(ID);
  await store.connection(ID);
  assertEquals(pg.calls, ["webhook_connection"]);
  await store.deliver(conn as never, { messages: [], updates: [] });
  await store.connection(ID);
  assertEquals(pg.calls, ["webhook_connection", "ingest_webhook_delivery", "webhook_connection"]);
});

Deno.test("PostgREST's refusals are final, its connection failures and lock/timeout errors retryable", async () => {
  const cases: [number, Record<string, unknown>, boolean, string | undefined][] = [
    [400, { code: "PGRST102", message: "Empty or invalid json" }, false, undefined],
    [400, { code: "22023", message: "x", hint: "connection_unknown" }, false, "connection_unknown"],
    [400, { code: "22P05", message: "unsupported Unicode escape sequence" }, false, undefined],
    [413, { code: "54001", message: "stack depth limit exceeded" }, false, undefined],
    [500, { code: "55P03", message: "lock timeout" }, true, undefined],
    [500, { code: "57014", message: "canceling statement due to statement timeout" }, true, undefined],
    [503, { code: "PGRST001", message: "Database client error" }, true, undefined],
  ];
  for (const [status, body, retryable, kind] of cases) {
    const store = supabaseStore({ ...opts, fetch: postgrest(() => ({ status, body })).fetch });
    try {
      await store.deliver({ id: ID } as never, { messages: [], updates: [] });
      throw new Error("no error");
    } catch (e) {
      assert(e instanceof StoreError, String(e));
      assertEquals([e.code, e.retryable, e.kind], [body.code, retryable, kind], String(body.code));
    }
  }
  assert(isRetryable(undefined), "no code at all: the request did not get through");
});

Deno.test("deliveries of one connection that arrive while its call runs go together in the next call", async () => {
  const conn = { id: ID, user_id: "u", platform: "whatsapp", account_identifier: "+1", status: "active", secrets: {} };
  const bodies: { rpc: string; payload: Record<string, unknown> }[] = [];
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const fetch = async (input: Request | URL | string, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const rpc = new URL(req.url).pathname.replace(/^.*\/rpc\//, "");
    const payload = (await req.json()).payload;
    bodies.push({ rpc, payload });
    if (bodies.length === 1) await held; // the first call is still running
    const answer = rpc === "ingest_webhook_delivery" ? { inserted: 1, accepted: 1, refused: [] } : {
      results: payload.deliveries.map((d: { messages: { id: string }[] }) =>
        d.messages[0].id === "bad"
          ? { error: { code: "22023", message: "messages[0].sent_at: not a time", hint: "invalid_message" } }
          : { inserted: 1, accepted: 1, refused: [], id: d.messages[0].id }
      ),
    };
    return new Response(JSON.stringify(answer), { status: 200, headers: { "content-type": "application/json" } });
  };
  const store = supabaseStore({ ...opts, fetch: fetch as typeof globalThis.fetch });
  const one = (id: string) => ({ messages: [{ id } as never], updates: [] });
  const first = store.deliver(conn as never, one("m1"));
  await new Promise((r) => setTimeout(r, 10));
  const later = ["m2", "bad", "m3"].map((id) => store.deliver(conn as never, one(id)).then((r) => r, (e) => e));
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(bodies.length, 1, "nothing more is sent while the first call runs");
  release();
  assertEquals((await first).inserted, 1);
  const [m2, bad, m3] = await Promise.all(later);
  assertEquals(bodies.map((b) => b.rpc), ["ingest_webhook_delivery", "ingest_webhook_deliveries"]);
  assertEquals((bodies[1].payload.deliveries as unknown[]).length, 3);
  assertEquals([m2.id, m3.id], ["m2", "m3"], "each delivery gets its own result");
  assert(bad instanceof StoreError && !bad.retryable && bad.kind === "invalid_message", String(bad));
  // idle again: the next delivery goes alone, at once
  await store.deliver(conn as never, one("m4"));
  assertEquals(bodies.map((b) => b.rpc).at(-1), "ingest_webhook_delivery");
});

/** A stand-in for PostgREST that keeps each call's RPC and arguments. */
function recording(answer: (rpc: string, args: Record<string, unknown>) => unknown) {
  const calls: { rpc: string; args: Record<string, unknown> }[] = [];
  const fetch = async (input: Request | URL | string, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const rpc = new URL(req.url).pathname.replace(/^.*\/rpc\//, "");
    const args = await req.json();
    calls.push({ rpc, args });
    return new Response(JSON.stringify(answer(rpc, args) ?? null), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  };
  return { calls, fetch: fetch as typeof globalThis.fetch };
}

Deno.test("refresh reads a connection again at most once per refreshSeconds, unless forced; reads in flight are shared", async () => {
  let version = 1;
  const pg = recording(() => ({ id: ID, platform: "whatsapp", secrets: {}, secrets_version: `v${version}` }));
  const store = supabaseStore({ ...opts, fetch: pg.fetch, refreshSeconds: 60 });
  await store.connection(ID);
  version = 2;
  const [a, b] = await Promise.all([store.refresh(ID), store.refresh(ID)]);
  assertEquals([a?.secrets_version, b?.secrets_version, pg.calls.length], ["v2", "v2", 2], "one read for both");
  assertEquals((await store.connection(ID))?.secrets_version, "v2", "the fresh copy is cached");
  // a flood of bad signatures: no more reads within the second
  for (let i = 0; i < 50; i++) assertEquals(await store.refresh(ID), null);
  assertEquals(pg.calls.length, 2);
  version = 3;
  assertEquals((await store.refresh(ID, true))?.secrets_version, "v3", "the database said the copy is stale");
  assertEquals(pg.calls.length, 3);
});

Deno.test("a delivery carries the secrets_version it was verified against; stale_secrets drops the cached copy", async () => {
  const conn = { id: ID, platform: "whatsapp", secrets: {}, secrets_version: "v1" };
  const pg = recording((rpc) =>
    rpc === "webhook_connection" ? conn : { rejected: { kind: "stale_secrets", reason: "rotated" } }
  );
  const store = supabaseStore({ ...opts, fetch: pg.fetch });
  const c = await store.connection(ID);
  assertEquals((await store.deliver(c!, { messages: [], updates: [] })).rejected?.kind, "stale_secrets");
  assertEquals((pg.calls[1].args.payload as Record<string, unknown>).secrets_version, "v1");
  await store.connection(ID);
  assertEquals(pg.calls.map((x) => x.rpc), ["webhook_connection", "ingest_webhook_delivery", "webhook_connection"]);
});

Deno.test("refusals are summed per connection: the first is written at once, a flood in one more write", async () => {
  const pg = recording(() => null);
  const store = supabaseStore({ ...opts, fetch: pg.fetch, refusalFlushSeconds: 60 });
  await store.recordRefusal(ID, "bad_signature", "401 first");
  assertEquals(pg.calls.length, 1, "the first refusal of a quiet second is written before the answer");
  for (let i = 0; i < 500; i++) await store.recordRefusal(ID, i % 5 === 0 ? "bad_body" : "bad_signature", `n${i}`);
  assertEquals(pg.calls.length, 1, "the flood waits for the next write");
  await store.flushRefusals();
  assertEquals(pg.calls.map((x) => x.rpc), ["record_webhook_refusals", "record_webhook_refusals"]);
  assertEquals(pg.calls[0].args.counts, { bad_signature: 1 });
  const second = pg.calls[1].args;
  assertEquals([second.counts, second.reason, second.error], [
    { bad_signature: 400, bad_body: 100 },
    "bad_signature",
    "n499",
  ]);
  assert(typeof second.at === "string" && !Number.isNaN(Date.parse(second.at as string)), "with the last one's time");
});

Deno.test("refusals of a connection written when the database failed are kept for the next write", async () => {
  let down = true;
  const calls: Record<string, unknown>[] = [];
  const fetch = async (input: Request | URL | string, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    calls.push(await req.json());
    return down
      ? new Response(JSON.stringify({ code: "PGRST001", message: "down" }), { status: 503 })
      : new Response("null", { status: 200, headers: { "content-type": "application/json" } });
  };
  const store = supabaseStore({ ...opts, fetch: fetch as typeof globalThis.fetch, refusalFlushSeconds: 60 });
  await store.recordRefusal(ID, "bad_signature", "x").catch(() => {});
  await store.recordRefusal(ID, "bad_signature", "y");
  down = false;
  await store.flushRefusals();
  assertEquals(calls.map((c) => c.counts), [{ bad_signature: 1 }, { bad_signature: 2 }]);
});

Deno.test("every connection id is read in keyset pages until an empty one, whatever PostgREST's max-rows", async () => {
  const all = Array.from({ length: 2500 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
  const asked: string[] = [];
  const fetch = (input: Request | URL | string) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    asked.push(url.search);
    const after = url.searchParams.get("id")?.replace(/^gt\./, "") ?? "";
    // a server whose max-rows (700) is below the page the store asks for
    const page = all.filter((id) => id > after).slice(0, Math.min(700, Number(url.searchParams.get("limit"))));
    return Promise.resolve(new Response(JSON.stringify(page.map((id) => ({ id }))), { status: 200 }));
  };
  const store = supabaseStore({ ...opts, fetch: fetch as typeof globalThis.fetch });
  assertEquals(await store.connectionIds!(), all);
  assertEquals(asked.length, 5, "four pages of 700 or less, then the empty one");
  assert(asked.every((q) => q.includes("select=id") && q.includes("order=id")));
});
