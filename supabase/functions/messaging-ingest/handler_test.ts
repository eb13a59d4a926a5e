// Routes and answers of the handler. The database is replaced by an in-memory store
// here (these are unit tests of the routing and the order of checks); tests/test_webhooks.py
// runs the same routes through nginx against the real PostgREST and Postgres.
import { hmacSha256Hex, sha1Hex, sha256Hex, toBytes } from "./crypto.ts";
import { createHandler, MAX_WEBHOOK_BYTES } from "./handler.ts";
import { type Connection, type DeliveryResult, type Store, StoreError } from "./store.ts";
import { assertEquals } from "./test_helpers.ts";
import type { Delivery } from "./types.ts";

const WA = "11111111-1111-4111-8111-111111111111";
const TG = "22222222-2222-4222-8222-222222222222";
const WX = "33333333-3333-4333-8333-333333333333";

function fakeStore(fail?: StoreError, answer?: DeliveryResult) {
  const connections: Record<string, Connection> = {
    [WA]: {
      id: WA,
      user_id: "u",
      platform: "whatsapp",
      account_identifier: "+1555",
      status: "active",
      secrets: { app_secret: "app", verify_token: "vt" },
    },
    [TG]: {
      id: TG,
      user_id: "u",
      platform: "telegram",
      account_identifier: "bot",
      status: "active",
      secrets: { secret_token: "tg-secret" },
    },
    [WX]: {
      id: WX,
      user_id: "u",
      platform: "wechat",
      account_identifier: "gh_1",
      status: "active",
      secrets: { token: "wxtoken" },
    },
  };
  const delivered: Delivery[] = [];
  const failures: string[] = [];
  const recorded: boolean[] = [];
  const refusals: string[] = [];
  const refusalErrors: string[] = [];
  const store: Store = {
    connection: (id) => Promise.resolve(connections[id] ?? null),
    refresh: (id) => Promise.resolve(connections[id] ?? null),
    recordRefusal: (_id, reason, error) => {
      refusals.push(reason);
      refusalErrors.push(error);
      return Promise.resolve();
    },
    // as ingest_webhook_delivery answers when the database takes every item
    deliver: (_c, d) => {
      if (fail) return Promise.reject(fail);
      delivered.push(d);
      if (answer) return Promise.resolve(answer);
      return Promise.resolve({
        inserted: d.messages.length,
        accepted: d.messages.length + d.updates.length,
        refused: d.refused ?? [],
      });
    },
    recordFailure: (_id, e, refused) => {
      failures.push(e);
      recorded.push(refused);
      return Promise.resolve();
    },
    ingestAsCaller: (auth, payload) => Promise.resolve({ status: 200, body: { auth, payload } }),
  };
  return { store, delivered, failures, recorded, refusals, refusalErrors, connections };
}

const BASE = "http://127.0.0.1/messaging-ingest";
const WA_BODY = JSON.stringify({
  object: "whatsapp_business_account",
  entry: [{
    id: "1",
    changes: [{
      field: "messages",
      value: {
        messaging_product: "whatsapp",
        metadata: { display_phone_number: "1555", phone_number_id: "1" },
        messages: [
          { from: "34611111111", id: "wamid.1", timestamp: "1749416383", type: "text", text: { body: "hola" } },
        ],
      },
    }],
  }],
});

async function waPost(handler: (r: Request) => Promise<Response>, body: string, secret = "app", id = WA) {
  const sig = "sha256=" + (await hmacSha256Hex(secret, toBytes(body)));
  return handler(
    new Request(`${BASE}/whatsapp/${id}`, { method: "POST", body, headers: { "x-hub-signature-256": sig } }),
  );
}

Deno.test("a signed WhatsApp delivery is stored: 200 with the summary", async () => {
  const f = fakeStore();
  const res = await waPost(createHandler({ store: f.store }), WA_BODY);
  assertEquals([res.status, await res.json()], [200, { ok: true, inserted: 1, accepted: 1, refused: [] }]);
  assertEquals(f.delivered[0].messages[0].external_conversation_id, "+34611111111");
});

Deno.test("bad signature 401 (counted), unknown or malformed connection 404, wrong platform 404: nothing stored", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  assertEquals((await waPost(h, WA_BODY, "not-the-secret")).status, 401);
  const unsigned = await h(new Request(`${BASE}/whatsapp/${WA}`, { method: "POST", body: WA_BODY }));
  assertEquals(unsigned.status, 401);
  assertEquals((await waPost(h, WA_BODY, "app", "44444444-4444-4444-8444-444444444444")).status, 404);
  assertEquals((await waPost(h, WA_BODY, "app", "not-a-uuid")).status, 404);
  assertEquals((await waPost(h, WA_BODY, "app", TG)).status, 404);
  assertEquals((await h(new Request(`${BASE}/facebook/${WA}`, { method: "POST", body: "{}" }))).status, 404);
  const otherFunction = await h(new Request(`http://127.0.0.1/whatsapp/${WA}`, { method: "POST", body: "{}" }));
  assertEquals(otherFunction.status, 404);
  assertEquals([f.delivered.length, f.failures.length, f.refusals], [0, 0, ["bad_signature", "bad_signature"]]);
});

Deno.test("a signed body of the wrong shape is 400, recorded on the connection, nothing stored", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const res = await waPost(h, '{"object": "page"}');
  assertEquals(res.status, 400);
  const notJson = await waPost(h, "not json");
  assertEquals(notJson.status, 400);
  assertEquals([f.delivered.length, f.failures.length, f.refusals], [0, 0, ["bad_body", "bad_body"]]);
});

Deno.test("the signature is checked before the body is parsed", async () => {
  const f = fakeStore();
  // broken JSON with a wrong signature: 401, not 400
  assertEquals((await waPost(createHandler({ store: f.store }), "{broken", "wrong")).status, 401);
});

Deno.test("bodies over the cap are 413 whatever Content-Length says", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const big = new Uint8Array(MAX_WEBHOOK_BYTES + 1);
  const stream = new ReadableStream({
    start(c) {
      c.enqueue(big);
      c.close();
    },
  });
  const res = await h(
    new Request(`${BASE}/whatsapp/${WA}`, {
      method: "POST",
      body: stream,
      headers: { "x-hub-signature-256": "sha256=" + "00".repeat(32) },
    }),
  );
  assertEquals(res.status, 413);
  assertEquals(f.delivered.length, 0);
});

Deno.test("a database failure is 503 (retry) and recorded; a refusal of the content is final (422), counted", async () => {
  const down = fakeStore(new StoreError("ingest_webhook_delivery: fetch failed", true));
  assertEquals((await waPost(createHandler({ store: down.store }), WA_BODY)).status, 503);
  assertEquals([down.failures, down.recorded], [["ingest_webhook_delivery: fetch failed"], [false]]);
  const refused = fakeStore(new StoreError("ingest_webhook_delivery: invalid payload", false, "22023"));
  const res = await waPost(createHandler({ store: refused.store }), WA_BODY);
  assertEquals([res.status, (await res.json()).code, refused.recorded, refused.refusals], [422, "22023", [], [
    "refused",
  ]]);
  const gone = fakeStore(
    new StoreError("ingest_webhook_delivery: connection_id: no connection", false, "22023", "connection_unknown"),
  );
  assertEquals([(await waPost(createHandler({ store: gone.store }), WA_BODY)).status, gone.recorded], [404, []]);
});

Deno.test("a paused connection: 200 (WeChat 'success') so the platform stops retrying, nothing stored", async () => {
  const paused: DeliveryResult = { rejected: { kind: "paused", status: "paused", reason: "the connection is paused" } };
  const f = fakeStore(undefined, paused);
  const h = createHandler({ store: f.store });
  const res = await waPost(h, WA_BODY);
  assertEquals([res.status, await res.json()], [200, {
    ok: true,
    stored: false,
    status: "paused",
    reason: "the connection is paused",
  }]);
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = await sha1Hex(["wxtoken", ts, "p1"].sort().join(""));
  const xml =
    "<xml><ToUserName>gh_1</ToUserName><FromUserName>oU1</FromUserName><CreateTime>1348831860</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>7</MsgId></xml>";
  const wx = await h(
    new Request(`${BASE}/wechat/${WX}?signature=${sig}&timestamp=${ts}&nonce=p1`, { method: "POST", body: xml }),
  );
  assertEquals([wx.status, await wx.text()], [200, "success"]);
});

Deno.test("WeChat deliveries carry their nonce and body digest; a replay is 401", async () => {
  const f = fakeStore(undefined, { rejected: { kind: "replay", reason: "nonce: already used with another body" } });
  const h = createHandler({ store: f.store });
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = await sha1Hex(["wxtoken", ts, "n-1"].sort().join(""));
  const xml =
    "<xml><ToUserName>gh_1</ToUserName><FromUserName>oU1</FromUserName><CreateTime>1348831860</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>7</MsgId></xml>";
  const res = await h(
    new Request(`${BASE}/wechat/${WX}?signature=${sig}&timestamp=${ts}&nonce=n-1`, { method: "POST", body: xml }),
  );
  assertEquals(res.status, 401);
  assertEquals(f.delivered[0].replayGuard, { nonce: "n-1", digest: await sha256Hex(toBytes(xml)) });
});

Deno.test("every item for another account: 403, nothing stored; every item refused by the store: 422", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const other = WA_BODY.replace('"display_phone_number":"1555"', '"display_phone_number":"1666"');
  const res = await waPost(h, other);
  const body = await res.json();
  assertEquals([res.status, body.refused.map((r: { kind: string }) => r.kind)], [403, ["account_mismatch"]]);
  assertEquals(f.delivered[0].messages, [], "what is refused is only counted");
  const refused = fakeStore(undefined, {
    inserted: 0,
    accepted: 0,
    refused: [{ path: "messages[0]", kind: "invalid_message", reason: "x", code: "22023" }],
  });
  assertEquals((await waPost(createHandler({ store: refused.store }), WA_BODY)).status, 422);
  const partly = fakeStore(undefined, {
    inserted: 1,
    accepted: 1,
    refused: [{ path: "messages[1]", kind: "invalid_message", reason: "x" }],
  });
  assertEquals((await waPost(createHandler({ store: partly.store }), WA_BODY)).status, 200);
});

Deno.test("text PostgreSQL cannot hold is cleaned before it is stored", async () => {
  const f = fakeStore();
  const body = WA_BODY.replace('"hola"', '"ho\\ud800la\\u0000"');
  const res = await waPost(createHandler({ store: f.store }), body);
  assertEquals(res.status, 200);
  const m = f.delivered[0].messages[0];
  assertEquals([m.content, m.metadata], ["ho\ufffdla\ufffd", { replaced_characters: { content: 2 } }]);
});

Deno.test("a connection deleted since it was read is 404, by the refusal's kind (not its words)", async () => {
  const gone = fakeStore(
    new StoreError("ingest_webhook_delivery: worded any way", false, "22023", "connection_unknown"),
  );
  assertEquals((await waPost(createHandler({ store: gone.store }), WA_BODY)).status, 404);
  assertEquals(gone.failures, []);
});

Deno.test("WhatsApp GET handshake and WeChat echostr; methods not accepted are 405", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const ok = await h(new Request(`${BASE}/whatsapp/${WA}?hub.mode=subscribe&hub.challenge=42&hub.verify_token=vt`));
  assertEquals([ok.status, await ok.text()], [200, "42"]);
  const wrong = await h(new Request(`${BASE}/whatsapp/${WA}?hub.mode=subscribe&hub.challenge=42&hub.verify_token=no`));
  assertEquals(wrong.status, 403);
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = await sha1Hex(["wxtoken", ts, "99"].sort().join(""));
  const echo = await h(new Request(`${BASE}/wechat/${WX}?signature=${sig}&timestamp=${ts}&nonce=99&echostr=abc`));
  assertEquals([echo.status, await echo.text()], [200, "abc"]);
  const bad = await h(new Request(`${BASE}/wechat/${WX}?signature=00&timestamp=${ts}&nonce=99&echostr=abc`));
  assertEquals(bad.status, 401);
  assertEquals((await h(new Request(`${BASE}/telegram/${TG}`))).status, 405);
  assertEquals((await h(new Request(`${BASE}/whatsapp/${WA}`, { method: "PUT", body: "{}" }))).status, 405);
});

Deno.test("WeChat answers 'success'; Telegram needs its secret token header", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = await sha1Hex(["wxtoken", ts, "99"].sort().join(""));
  const xml =
    "<xml><ToUserName>gh_1</ToUserName><FromUserName>oU1</FromUserName><CreateTime>1348831860</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>7</MsgId></xml>";
  const res = await h(
    new Request(`${BASE}/wechat/${WX}?signature=${sig}&timestamp=${ts}&nonce=99`, { method: "POST", body: xml }),
  );
  assertEquals([res.status, await res.text()], [200, "success"]);
  const update = JSON.stringify({
    update_id: 1,
    message: { message_id: 1, chat: { id: 5, type: "private" }, date: 1441645532, text: "x" },
  });
  const tgNo = await h(new Request(`${BASE}/telegram/${TG}`, { method: "POST", body: update }));
  const tgOk = await h(
    new Request(`${BASE}/telegram/${TG}`, {
      method: "POST",
      body: update,
      headers: { "x-telegram-bot-api-secret-token": "tg-secret" },
    }),
  );
  assertEquals([tgNo.status, tgOk.status, f.delivered.length], [401, 200, 2]);
});

Deno.test("POST / passes the caller's Authorization on; none is 401", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const res = await h(
    new Request(`${BASE}`, { method: "POST", body: '{"messages": []}', headers: { authorization: "Bearer user-jwt" } }),
  );
  assertEquals([res.status, await res.json()], [200, { auth: "Bearer user-jwt", payload: { messages: [] } }]);
  assertEquals((await h(new Request(`${BASE}/`, { method: "POST", body: "{}" }))).status, 401);
  assertEquals(
    (await h(new Request(`${BASE}/`, { method: "POST", body: "{", headers: { authorization: "Bearer x" } }))).status,
    400,
  );
  const preflight = await h(new Request(`${BASE}`, { method: "OPTIONS" }));
  assertEquals([preflight.status, preflight.headers.get("access-control-allow-origin")], [204, "*"]);
  assertEquals(res.headers.get("access-control-allow-headers"), "authorization, x-client-info, apikey, content-type");
});

Deno.test("a rotated secret works at once: a failed signature reads the connection again and verifies once more", async () => {
  const f = fakeStore();
  const cached = f.connections[WA];
  let refreshes = 0;
  // the database holds the new secret; the function's copy is the old one
  f.store.connection = () => Promise.resolve(cached);
  f.store.refresh =
    () => (refreshes++, Promise.resolve({ ...cached, secrets: { ...cached.secrets, app_secret: "new" } }));
  const h = createHandler({ store: f.store });
  assertEquals((await waPost(h, WA_BODY, "new")).status, 200);
  assertEquals([refreshes, f.delivered.length, f.refusals], [1, 1, []]);
  // the refresh is the store's to rate-limit: when it declines (null), the copy stays and it is 401
  f.store.refresh = () => (refreshes++, Promise.resolve(null));
  assertEquals((await waPost(h, WA_BODY, "other")).status, 401);
  assertEquals([refreshes, f.refusals], [2, ["bad_signature"]]);
});

Deno.test("an old secret stops at once: the database answers stale_secrets, the request is verified again", async () => {
  const f = fakeStore();
  const old = f.connections[WA];
  const rotated = { ...old, secrets: { ...old.secrets, app_secret: "new" }, secrets_version: "v2" };
  const forced: boolean[] = [];
  const sentWith: (string | null | undefined)[] = [];
  f.store.refresh = (_id, force) => (forced.push(force ?? false), Promise.resolve(rotated));
  f.store.deliver = (c, d) => {
    sentWith.push(c.secrets_version);
    if (c.secrets_version !== "v2") return Promise.resolve({ rejected: { kind: "stale_secrets", reason: "rotated" } });
    f.delivered.push(d);
    return Promise.resolve({ inserted: 1, accepted: 1, refused: [] });
  };
  const h = createHandler({ store: f.store });
  // signed with the old secret, which the cached copy still holds: refused, counted, nothing stored
  assertEquals((await waPost(h, WA_BODY, "app")).status, 401);
  assertEquals([forced, sentWith, f.delivered.length, f.refusals], [[true], [undefined], 0, ["bad_signature"]]);
  // signed with the new secret while the copy was stale: stored with the fresh connection
  f.store.connection = () => Promise.resolve({ ...rotated, secrets: { app_secret: "new" }, secrets_version: "v1" });
  assertEquals((await waPost(h, WA_BODY, "new")).status, 200);
  assertEquals([sentWith, f.delivered.length], [[undefined, "v1", "v2"], 1]);
});

Deno.test("a GET with a wrong verify token is 403 and counted; the connection is read again first", async () => {
  const f = fakeStore();
  let refreshes = 0;
  f.store.refresh = (id) => (refreshes++, Promise.resolve(f.connections[id]));
  const h = createHandler({ store: f.store });
  const url = (token: string) => `${BASE}/whatsapp/${WA}?hub.mode=subscribe&hub.challenge=42&hub.verify_token=${token}`;
  assertEquals((await h(new Request(url("wrong")))).status, 403);
  const ok = await h(new Request(url("vt")));
  assertEquals([ok.status, await ok.text(), refreshes, f.refusals], [200, "42", 2, ["wrong_verify_token"]]);
});

Deno.test("a bad signature while the database cannot be read again is still 401, counted", async () => {
  const f = fakeStore();
  f.store.refresh = () => Promise.reject(new StoreError("webhook_connection: fetch failed", true));
  assertEquals((await waPost(createHandler({ store: f.store }), WA_BODY, "wrong")).status, 401);
  assertEquals([f.delivered.length, f.refusals], [0, ["bad_signature"]]);
});

/** A body that counts how much of it was pulled (64 KiB a pull, 8 MiB in all). */
function countedBody() {
  const seen = { pulls: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      seen.pulls++;
      if (seen.pulls > 128) c.close();
      else c.enqueue(new Uint8Array(64 * 1024).fill(0x20));
    },
  });
  return { body, seen };
}

Deno.test("POST /: the caller is checked before the body is read; a refused token is 401 naming why", async () => {
  const f = fakeStore();
  const checked: string[] = [];
  const h = createHandler({
    store: f.store,
    caller: (auth) => {
      checked.push(auth);
      return Promise.resolve(auth === "Bearer good" ? null : "the bearer token has expired");
    },
  });
  const big = countedBody();
  const res = await h(new Request(BASE, { method: "POST", body: big.body, headers: { authorization: "Bearer old" } }));
  assertEquals([res.status, await res.json()], [401, { error: "the bearer token has expired" }]);
  assertEquals(big.seen.pulls <= 1, true, `the body was read: ${big.seen.pulls} pulls`);
  assertEquals(res.headers.get("access-control-allow-origin"), "*");
  const ok = await h(
    new Request(BASE, { method: "POST", body: '{"messages": []}', headers: { authorization: "Bearer good" } }),
  );
  assertEquals(ok.status, 200);
  assertEquals(checked, ["Bearer old", "Bearer good"]);
});

Deno.test("webhooks: a missing or malformed signature header, a wrong token or query signature: 401 before the body is read", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const cases: [string, Record<string, string>, string][] = [
    [`/whatsapp/${WA}`, {}, "X-Hub-Signature-256: missing"],
    [
      `/whatsapp/${WA}`,
      { "x-hub-signature-256": "sha256=zz" },
      "X-Hub-Signature-256: must be sha256= and 64 hex digits",
    ],
    [
      `/telegram/${TG}`,
      { "x-telegram-bot-api-secret-token": "no" },
      "X-Telegram-Bot-Api-Secret-Token: missing or wrong",
    ],
    [
      `/wechat/${WX}?signature=00&timestamp=${Math.floor(Date.now() / 1000)}&nonce=1`,
      {},
      "signature: missing or wrong",
    ],
  ];
  for (const [path, headers, error] of cases) {
    const big = countedBody();
    const res = await h(new Request(`${BASE}${path}`, { method: "POST", body: big.body, headers }));
    assertEquals([res.status, await res.json()], [401, { error }], path);
    assertEquals(big.seen.pulls <= 1, true, `${path}: the body was read (${big.seen.pulls} pulls)`);
  }
  // a well-formed WhatsApp signature is checked on the body, which is read for it
  const forged = await h(
    new Request(`${BASE}/whatsapp/${WA}`, {
      method: "POST",
      body: WA_BODY,
      headers: { "x-hub-signature-256": "sha256=" + "ab".repeat(32) },
    }),
  );
  assertEquals([forged.status, await forged.json()], [401, { error: "missing or wrong signature" }]);
  assertEquals([f.delivered.length, f.failures.length], [0, 0]);
});

Deno.test("an empty or overlong WeChat nonce is 401 naming the nonce, before the store", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const ts = String(Math.floor(Date.now() / 1000));
  for (const [nonce, error] of [["", "nonce: must not be empty"], ["n".repeat(129), "nonce: at most 128 characters"]]) {
    const sig = sha1Hex(["wxtoken", ts, nonce].sort().join(""));
    const res = await h(
      new Request(`${BASE}/wechat/${WX}?signature=${sig}&timestamp=${ts}&nonce=${nonce}`, {
        method: "POST",
        body: "<xml/>",
      }),
    );
    assertEquals([res.status, await res.text()], [401, JSON.stringify({ error })]);
  }
  assertEquals(f.delivered.length, 0);
});

Deno.test("every answer carries nosniff; the reflected handshakes are text/plain", async () => {
  const f = fakeStore();
  const h = createHandler({ store: f.store });
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = sha1Hex(["wxtoken", ts, "5"].sort().join(""));
  const html = encodeURIComponent("<script>alert(1)</script>");
  const answers = [
    await h(new Request(`${BASE}/whatsapp/${WA}?hub.mode=subscribe&hub.challenge=${html}&hub.verify_token=vt`)),
    await h(new Request(`${BASE}/wechat/${WX}?signature=${sig}&timestamp=${ts}&nonce=5&echostr=${html}`)),
  ];
  for (const res of answers) {
    assertEquals(
      [res.status, res.headers.get("content-type"), res.headers.get("x-content-type-options"), await res.text()],
      [200, "text/plain; charset=utf-8", "nosniff", "<script>alert(1)</script>"],
    );
  }
  const others = [
    await waPost(h, WA_BODY),
    await h(new Request(`${BASE}/whatsapp/${WA}?hub.mode=subscribe&hub.challenge=1&hub.verify_token=no`)),
    await h(new Request(`${BASE}/whatsapp/${WA}`)),
    await h(new Request(`${BASE}/nowhere/x`)),
    await h(new Request(`${BASE}/telegram/${TG}`)),
    await h(new Request(BASE, { method: "OPTIONS" })),
    await h(new Request(BASE, { method: "POST", body: "{}" })),
  ];
  for (const res of others) {
    await res.body?.cancel();
    assertEquals(res.headers.get("x-content-type-options"), "nosniff", `${res.status}`);
  }
});

Deno.test("a random connection id is 404 from the cached ids: the store is asked for no single id", async () => {
  const f = fakeStore();
  const asked: string[] = [];
  let loads = 0;
  const store: Store = {
    ...f.store,
    connection: (id) => {
      asked.push(id);
      return f.store.connection(id);
    },
    connectionIds: () => {
      loads++;
      return Promise.resolve([WA, TG, WX]);
    },
  };
  const h = createHandler({ store });
  const randoms = Array.from({ length: 20 }, () => crypto.randomUUID());
  const answers = await Promise.all(randoms.map((id) => waPost(h, WA_BODY, "app", id)));
  assertEquals(answers.map((r) => r.status), randoms.map(() => 404));
  assertEquals(asked, []);
  assertEquals(loads <= 2, true, `${loads} loads of the ids`);
  assertEquals((await waPost(h, WA_BODY)).status, 200);
  assertEquals(asked, [WA]);
});

Deno.test("a store error that is PostgreSQL's own (a constraint) is answered by its SQLSTATE, never its words", async () => {
  const leak = new StoreError(
    'ingest_webhook_delivery: new row for relation "webhook_nonces" violates check constraint "webhook_nonces_nonce_check"',
    false,
    "23514",
  );
  const f = fakeStore(leak);
  const res = await waPost(createHandler({ store: f.store }), WA_BODY);
  const body = await res.json();
  assertEquals([res.status, body.error], [422, "refused by the database (SQLSTATE 23514)"]);
  assertEquals([f.refusals, f.refusalErrors], [["refused"], ["refused by the database (SQLSTATE 23514)"]]);
  const items = fakeStore(undefined, {
    accepted: 1,
    refused: [{ path: "messages[0]", kind: "invalid_message", code: "23505", reason: 'duplicate key "x_pkey"' }],
  });
  const partial = await (await waPost(createHandler({ store: items.store }), WA_BODY)).json();
  assertEquals(partial.refused[0].reason, "refused by the database (SQLSTATE 23505)");
});
