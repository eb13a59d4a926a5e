// Issue 31, items 4-7 as a person meets them: links that survive sign-in (titles, a deep
// link opened signed out, a ?msg= naming no message), long threads (links in messages, a jump
// to the first message or to a date in one read), phone and touch (a compact thread header,
// no keyboard hints on touch screens), connections (copy buttons, rotate with a
// confirmation, import only, conversations <-> connections).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, test, type Page, type Request } from "@playwright/test";
import { ALICE, LONG_THREAD, ingest, longMessageId, serviceRest, shot, signIn } from "./fixtures";
import { REPO_ROOT, readStackEnv } from "./stack-env";

const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function conversationId(externalId: string, userId = ALICE.id): Promise<string> {
  const rows = (await serviceRest(
    `chat_conversation_list?user_id=eq.${userId}&external_conversation_id=eq.${encodeURIComponent(externalId)}&select=id`,
  )) as { id: string }[];
  const id = rows[0]?.id;
  if (!id) throw new Error(`no conversation ${externalId}`);
  return id;
}

/** The RPCs the page calls from now on, by name. */
function recordRpcs(page: Page): string[] {
  const calls: string[] = [];
  page.on("request", (r: Request) => {
    const m = /\/rest\/v1\/rpc\/([a-z_]+)/.exec(r.url());
    if (m?.[1]) calls.push(m[1]);
  });
  return calls;
}

test.describe("links survive", () => {
  test.use({ viewport: LAPTOP });

  test("a deep link opened signed out returns to the same conversation after sign-in", async ({ browser }) => {
    const id = await conversationId(LONG_THREAD.externalId);
    const target = `/inbox/${id}?msg=${longMessageId(LONG_THREAD.rareIndex)}&at=${encodeURIComponent(
      new Date(Date.parse("2025-11-01T08:00:00Z") + LONG_THREAD.rareIndex * 85 * 60_000).toISOString(),
    )}`;
    // a new tab: nobody signed in there
    const context = await browser.newContext({ viewport: LAPTOP });
    const page = await context.newPage();
    await page.goto(target);
    await page.getByRole("button", { name: `Sign in as ${ALICE.email}` }).click();
    await expect(page.getByTestId("signed-in-as")).toHaveText(ALICE.email);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe(target);
    await expect(page.getByRole("heading", { name: LONG_THREAD.name })).toBeVisible();
    await expect(page.locator(`[data-message-id="${longMessageId(LONG_THREAD.rareIndex)}"]`)).toBeInViewport();
    await expect(page.getByRole("status").filter({ hasText: "Opened at the search match." })).toBeVisible();
    await expect(page).toHaveTitle(`${LONG_THREAD.name} · CRM`);
    // signed out and in again: still there
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: `Sign in as ${ALICE.email}` }).click();
    expect(new URL(page.url()).pathname).toBe(`/inbox/${id}`);
    await context.close();
  });

  test("the production build (Supabase Auth) returns to a deep link after a password sign-in", async ({
    page,
    request,
  }) => {
    // The local stack has no Auth server: its one answer, the password grant, is mocked here
    // with the seed user's real token (minted by the stack); the API calls are the stack's own.
    const env = readStackEnv();
    const web = resolve(REPO_ROOT, "web");
    const out = mkdtempSync(join(tmpdir(), "crm-web-prod-"));
    try {
      execFileSync(join(web, "node_modules/.bin/vite"), ["build", "--outDir", out, "--logLevel", "error"], {
        cwd: web,
        env: {
          ...process.env,
          VITE_LOCAL_STACK: "",
          VITE_SUPABASE_URL: env.API_URL,
          VITE_SUPABASE_ANON_KEY: env.ANON_KEY,
        },
      });
      const session = (await (await request.get("/local-dev/session.json")).json()) as {
        users: { id: string; email: string; access_token: string; expires_at: number }[];
      };
      const alice = session.users.find((u) => u.email === ALICE.email)!;
      await page.route("http://crm.test/**", (route) => {
        const path = new URL(route.request().url()).pathname;
        return route.fulfill({ path: path.startsWith("/assets/") ? join(out, path) : join(out, "index.html") });
      });
      const cors = {
        "access-control-allow-origin": "http://crm.test",
        "access-control-allow-headers": "*",
        "access-control-allow-methods": "GET, POST, PATCH, DELETE, OPTIONS",
        "access-control-expose-headers": "*",
      };
      let grants = 0;
      await page.route(`${env.API_URL}/auth/v1/token**`, (route) => {
        if (route.request().method() === "OPTIONS") return route.fulfill({ status: 204, headers: cors });
        grants++;
        return route.fulfill({
          headers: cors,
          json: {
            access_token: alice.access_token,
            token_type: "bearer",
            expires_in: Math.floor(alice.expires_at - Date.now() / 1000),
            expires_at: alice.expires_at,
            refresh_token: "not-used-here",
            user: { id: alice.id, aud: "authenticated", role: "authenticated", email: alice.email },
          },
        });
      });
      // the stack's API from the crm.test origin (its gateway sends no CORS headers of its own)
      await page.route(`${env.API_URL}/rest/v1/**`, async (route) => {
        if (route.request().method() === "OPTIONS") return route.fulfill({ status: 204, headers: cors });
        const response = await route.fetch();
        return route.fulfill({ response, headers: { ...response.headers(), ...cors } });
      });
      const id = await conversationId(LONG_THREAD.externalId);
      await page.goto(`http://crm.test/inbox/${id}?jump=start`);
      await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
      await page.getByLabel("Email").fill(ALICE.email);
      await page.getByLabel("Password").fill("the-password");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page.getByRole("heading", { name: LONG_THREAD.name })).toBeVisible();
      expect(grants).toBe(1);
      expect(page.url()).toBe(`http://crm.test/inbox/${id}?jump=start`);
      await expect(page.locator(`[data-message-id="${longMessageId(1)}"]`)).toBeInViewport();
      await expect(page).toHaveTitle(`${LONG_THREAD.name} · CRM`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("every page has its own title", async ({ page }) => {
    await signIn(page, ALICE.email);
    await expect(page).toHaveTitle("Messages · CRM");
    await page.goto("/inbox?q=falcon");
    await expect(page).toHaveTitle("Search “falcon” · Messages · CRM");
    await page.goto(`/inbox/${await conversationId(LONG_THREAD.externalId)}`);
    await expect(page).toHaveTitle(`${LONG_THREAD.name} · CRM`);
    await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "People" }).click();
    await expect(page).toHaveTitle("People · CRM");
    await page.getByRole("link", { name: "María García" }).click();
    await expect(page).toHaveTitle("María García · CRM");
    await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Connections" }).click();
    await expect(page).toHaveTitle("Messaging connections · CRM");
    await page.goto("/inbox/00000000-0000-4000-8000-000000000000");
    await expect(page).toHaveTitle("No such conversation · CRM");
  });

  test("a ?msg= naming no message says so", async ({ page }) => {
    await signIn(page, ALICE.email);
    const id = await conversationId(LONG_THREAD.externalId);
    await page.goto(`/inbox/${id}?msg=no-such-message&at=2025-12-01T10:00:00Z`);
    const banner = page.locator(".anchor-banner");
    await expect(banner).toContainText("That message is not in this conversation.");
    await expect(banner).not.toContainText("Opened at the search match");
    await banner.getByRole("link", { name: "Jump to the latest messages" }).click();
    await expect(page).toHaveURL(new RegExp(`/inbox/${id}$`));
  });
});

test.describe("reading long threads", () => {
  test.use({ viewport: LAPTOP });

  test("web addresses in messages are links; other schemes and markup stay text", async ({ page }) => {
    const run = Date.now().toString(36);
    const conv = `e2e-links-${run}`;
    const long = `https://example.com/a/very/long/path/${"segment/".repeat(12)}end?x=1&y=2`;
    await ingest(ALICE.id, [
      {
        platform: "whatsapp",
        external_conversation_id: conv,
        participant_name: `Links ${run}`,
        id: `links-${run}-1`,
        direction: "inbound",
        type: "text",
        content: `See https://example.com/docs?a=1&b=2, and (http://example.org/x_(y)). Not javascript:alert(1) nor <img src=x onerror=alert(1)> nor ftp://example.net/f. Long: ${long}`,
        sent_at: new Date().toISOString(),
      },
    ]);
    await signIn(page, ALICE.email);
    await page.goto(`/inbox/${await conversationId(conv)}`);
    const bubble = page.locator(`[data-message-id="links-${run}-1"]`);
    const links = bubble.getByRole("link");
    await expect(links).toHaveCount(3);
    const first = links.nth(0);
    await expect(first).toHaveText("https://example.com/docs?a=1&b=2");
    await expect(first).toHaveAttribute("href", "https://example.com/docs?a=1&b=2");
    await expect(first).toHaveAttribute("rel", "noopener noreferrer");
    await expect(first).toHaveAttribute("target", "_blank");
    await expect(first).toHaveAttribute("title", "https://example.com/docs?a=1&b=2");
    await expect(links.nth(1)).toHaveAttribute("href", "http://example.org/x_(y)");
    await expect(links.nth(2)).toHaveAttribute("title", long);
    // the rest is text: no img element, no javascript: or ftp: link
    await expect(bubble.locator("img")).toHaveCount(0);
    await expect(bubble).toContainText("javascript:alert(1)");
    await expect(bubble).toContainText("<img src=x onerror=alert(1)>");
    await expect(bubble.locator('a[href^="javascript:"], a[href^="ftp:"]')).toHaveCount(0);
    // a link opens in a new tab (the address answered here: this machine has no internet)
    await page.context().route("https://example.com/**", (r) => r.fulfill({ body: "the linked page" }));
    const [popup] = await Promise.all([page.waitForEvent("popup"), first.click({ modifiers: [] })]);
    expect(popup.url()).toContain("example.com/docs");
    await popup.close();
  });

  test("a jump to the first message of a long thread loads only that page", async ({ page }) => {
    await signIn(page, ALICE.email);
    const id = await conversationId(LONG_THREAD.externalId);
    await page.goto(`/inbox/${id}`);
    const log = page.getByRole("log", { name: "Messages" });
    await expect(log.locator(`[data-message-id="${longMessageId(LONG_THREAD.count)}"]`)).toBeVisible();
    const calls = recordRpcs(page);
    await page.locator(".thread-jump summary").click();
    await page.getByRole("link", { name: "First message" }).click();
    const first = log.locator(`[data-message-id="${longMessageId(1)}"]`);
    await expect(first).toBeInViewport();
    await expect(first).toContainText("First message of the falcon thread");
    await expect(page.getByTestId("thread-start")).toBeVisible();
    await expect(page.locator(".anchor-banner")).toContainText("Opened at the first message.");
    await shot(page, "thread-jump");
    // one read of the page, none of the 39 pages in between (a newer page may follow as the
    // view asks for more below, and the summary row is polled)
    await page.waitForTimeout(500);
    expect(calls.filter((c) => c === "get_conversation_messages_at")).toHaveLength(1);
    expect(calls.filter((c) => c === "get_conversation_messages")).toHaveLength(0);
    expect(calls.filter((c) => c === "get_conversation_messages_after").length).toBeLessThanOrEqual(1);
    // and it pages on from there: scrolling down loads newer messages
    await log.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect(log.locator(`[data-message-id="${longMessageId(75)}"]`)).toBeAttached();
  });

  test("a jump to a date opens at that day's first message and pages both ways", async ({ page }) => {
    await signIn(page, ALICE.email);
    const id = await conversationId(LONG_THREAD.externalId);
    await page.goto(`/inbox/${id}`);
    await page.locator(".thread-jump summary").click();
    await page.getByLabel("Date", { exact: true }).fill("2025-12-15");
    const calls = recordRpcs(page);
    await page.getByRole("button", { name: "Go" }).click();
    await expect(page).toHaveURL(/jump=/);
    const target = page.locator('[data-jump-target="true"]');
    await expect(target).toBeInViewport();
    const sentAt = await target.locator("time").first().getAttribute("datetime");
    // the first message on or after midnight of 15 December in the viewer's zone (Madrid)
    expect(Date.parse(sentAt!)).toBeGreaterThanOrEqual(Date.parse("2025-12-14T23:00:00Z"));
    expect(Date.parse(sentAt!)).toBeLessThan(Date.parse("2025-12-14T23:00:00Z") + 85 * 60_000);
    await expect(page.getByRole("separator").filter({ hasText: /15/ }).first()).toBeVisible();
    expect(calls.filter((c) => c === "get_conversation_messages_at")).toHaveLength(1);
    // older messages load above as the user scrolls up
    await page.getByRole("log", { name: "Messages" }).evaluate((el) => (el.scrollTop = 0));
    await expect(page.getByRole("separator").filter({ hasText: /13/ }).first()).toBeAttached();
  });
});

test.describe("phone and touch", () => {
  test("a compact thread header on a phone: the first message in the top third", async ({ browser }) => {
    const context = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
    const page = await context.newPage();
    await signIn(page, ALICE.email);
    const id = await conversationId(LONG_THREAD.externalId);
    await page.goto(`/inbox/${id}?jump=start`);
    const first = page.locator(`[data-message-id="${longMessageId(1)}"]`);
    await expect(first).toBeInViewport();
    const box = (await first.boundingBox())!;
    expect(box.y).toBeLessThan(PHONE.height / 3);
    // opened at its newest message, the thread's log starts in the top third too
    await page.goto(`/inbox/${id}`);
    const log = page.getByRole("log", { name: "Messages" });
    await expect(log.locator(`[data-message-id="${longMessageId(LONG_THREAD.count)}"]`)).toBeVisible();
    expect((await log.boundingBox())!.y).toBeLessThan(PHONE.height / 3);
    await expect(page.getByRole("combobox", { name: "Link to person" })).toBeVisible();
    await shot(page, "thread-phone");
    await context.close();
  });

  test("no keyboard hints on a touch screen; they stay on a laptop", async ({ browser }) => {
    const touch = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
    const phone = await touch.newPage();
    await signIn(phone, ALICE.email);
    await expect(phone.getByRole("list", { name: "Inbox" })).toBeVisible();
    await expect(phone.locator(".shortcuts")).toBeHidden();
    await touch.close();
    const laptop = await browser.newContext({ viewport: LAPTOP });
    const page = await laptop.newPage();
    await signIn(page, ALICE.email);
    await expect(page.locator(".shortcuts")).toBeVisible();
    await laptop.close();
  });
});

test.describe("connections", () => {
  test.use({ viewport: LAPTOP });

  test("copy the webhook URL and a secret; rotate asks first and shows the new secret on its own", async ({
    browser,
  }) => {
    const context = await browser.newContext({
      viewport: LAPTOP,
      permissions: ["clipboard-read", "clipboard-write"],
    });
    const page = await context.newPage();
    await signIn(page, ALICE.email);
    await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Connections" }).click();
    const account = `e2e_copy_${Date.now().toString(36)}_bot`;
    await page.getByLabel("Platform").selectOption("telegram");
    await page.getByLabel("Account").fill(account);
    await page.getByRole("button", { name: "Add connection" }).click();
    const issued = page.getByRole("status", { name: "New webhook secrets" });
    const secret = (await issued.getByTestId("issued-secret_token").textContent()) ?? "";
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    await issued.getByRole("button", { name: "Copy the secret token" }).click();
    await expect(issued.getByRole("button", { name: "Copy the secret token" })).toHaveText("Copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const url = (await issued.getByTestId("issued-webhook-url").textContent()) ?? "";
    await issued.getByRole("button", { name: "Copy the webhook URL" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
    await shot(page, "connections-copy");
    await issued.getByRole("button", { name: "I have saved them" }).click();

    const row = page.locator("table.connections tbody tr").filter({ hasText: account });
    await row.getByRole("button", { name: "Copy the webhook URL" }).click();
    await expect(row.getByRole("button", { name: "Copy the webhook URL" })).toHaveText("Copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);

    // Rotate asks first; keeping the secrets issues none
    await row.getByRole("button", { name: "Rotate secrets" }).click();
    const confirm = page.getByRole("alertdialog", { name: "Rotate the secrets?" });
    await expect(confirm).toContainText("stop at once");
    await confirm.getByRole("button", { name: "Keep the current secrets" }).click();
    await expect(confirm).toHaveCount(0);
    await expect(page.getByRole("status", { name: "New webhook secrets" })).toHaveCount(0);
    await row.getByRole("button", { name: "Rotate secrets" }).click();
    await confirm.getByRole("button", { name: "Rotate now" }).click();
    const fresh = page.getByRole("status", { name: "New webhook secrets" });
    const value = fresh.getByTestId("issued-secret_token");
    const rotated = (await value.textContent()) ?? "";
    expect(rotated).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated).not.toBe(secret);
    // on its own row, the whole width: the 64 characters on at most two lines
    const box = (await value.boundingBox())!;
    expect(box.width).toBeGreaterThan(400);
    const lineHeight = await value.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 20);
    expect(box.height).toBeLessThanOrEqual(lineHeight * 2 + 8);
    await fresh.getByRole("button", { name: "Copy the secret token" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(rotated);
    await shot(page, "connections-rotated-own-row");
    await fresh.getByRole("button", { name: "I have saved them" }).click();
    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await expect(row).toHaveCount(0);
    await context.close();
  });

  test("without the clipboard API, copying falls back and still says Copied", async ({ browser }) => {
    const context = await browser.newContext({ viewport: LAPTOP });
    await context.addInitScript(() => {
      Object.defineProperty(navigator, "clipboard", { value: undefined, configurable: true });
    });
    const page = await context.newPage();
    await signIn(page, ALICE.email);
    await page.goto("/connections");
    const account = `e2e_fallback_${Date.now().toString(36)}_bot`;
    await page.getByLabel("Platform").selectOption("telegram");
    await page.getByLabel("Account").fill(account);
    await page.getByRole("button", { name: "Add connection" }).click();
    const issued = page.getByRole("status", { name: "New webhook secrets" });
    await issued.getByRole("button", { name: "Copy the secret token" }).click();
    await expect(issued.getByText("the secret token copied")).toBeAttached();
    await issued.getByRole("button", { name: "I have saved them" }).click();
    const row = page.locator("table.connections tbody tr").filter({ hasText: account });
    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await expect(row).toHaveCount(0);
    await context.close();
  });

  test("import-made connections say import only; conversations and connections link both ways", async ({ page }) => {
    await signIn(page, ALICE.email);
    await page.goto("/connections");
    const whatsapp = page
      .locator("table.connections tbody tr[data-connection-id]")
      .filter({ has: page.getByRole("img", { name: "WhatsApp" }) })
      .filter({ hasText: "Import only" })
      .first();
    await expect(whatsapp.locator(".badge")).toHaveText("import only");
    await expect(whatsapp.locator(".badge.status-active")).toHaveCount(0);
    await expect(whatsapp.getByRole("button", { name: "Pause" })).toHaveCount(0);
    await expect(whatsapp.getByRole("cell", { name: "Refused deliveries" })).toHaveText("—");
    // the table fits a laptop's width: nothing past the right edge
    const past = await page.evaluate(() =>
      Array.from(document.querySelectorAll("table.connections *"))
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
        .map((el) => el.tagName),
    );
    expect(past).toEqual([]);

    // the conversation names the connection it came in on
    await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Messages" }).click();
    await page
      .getByRole("list", { name: "Inbox" })
      .getByRole("link", { name: /María García/ })
      .filter({ has: page.getByRole("img", { name: "WhatsApp" }) })
      .click();
    const via = page.locator(".thread-header .via-connection a");
    await expect(via).toBeVisible();
    await via.click();
    await expect(page).toHaveURL(/\/connections\?connection=/);
    const connectionId = new URL(page.url()).searchParams.get("connection")!;
    const row = page.locator(`tr[data-connection-id="${connectionId}"]`);
    await expect(row).toBeInViewport();
    await expect(row.getByRole("button", { name: /conversations? · .* messages?/ })).toHaveAttribute(
      "aria-expanded",
      "true",
    );
    const list = page.locator(`#conversations-${connectionId}`).getByRole("list");
    await expect(list.getByRole("link", { name: "María García" })).toBeVisible();
    const counts = (await serviceRest(
      `chat_conversation_list?connection_id=eq.${connectionId}&select=id,message_count`,
    )) as { id: string; message_count: number }[];
    await expect(row.getByRole("button", { name: /conversations? · / })).toHaveText(
      `${counts.length} ${counts.length === 1 ? "conversation" : "conversations"} · ${counts
        .reduce((n, c) => n + c.message_count, 0)
        .toLocaleString("en-GB")} ${counts.reduce((n, c) => n + c.message_count, 0) === 1 ? "message" : "messages"}`,
    );
    await list.getByRole("link", { name: "María García" }).click();
    await expect(page).toHaveURL(/\/inbox\/[0-9a-f-]{36}$/);
    await expect(page.getByRole("heading", { name: "María García" })).toBeVisible();
  });
});
