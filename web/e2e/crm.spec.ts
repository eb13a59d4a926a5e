// The CRM screens as a person uses them, in Chromium against the running local stack.
import { expect, test } from "@playwright/test";
import { ALICE, BOB, JOAO_PERSON_ID, LONG_THREAD, MANY, longMessageId, serviceRest, shot, signIn } from "./fixtures";

interface ListRow {
  id: string;
  platform: string;
  participant_name: string | null;
  last_message_preview: string | null;
  message_count: number;
}

async function aliceConversations(): Promise<ListRow[]> {
  return (await serviceRest(
    `chat_conversation_list?user_id=eq.${ALICE.id}&select=id,platform,participant_name,last_message_preview,message_count,external_conversation_id`,
  )) as ListRow[];
}

test("sign in and see the demo's conversations with their previews", async ({ page }) => {
  await page.goto("/inbox");
  await expect(page.getByRole("heading", { name: "Sign in (local stack)" })).toBeVisible();
  await shot(page, "sign-in");
  await signIn(page, ALICE.email);

  const inbox = page.getByRole("list", { name: "Inbox" });
  const expected = await aliceConversations();
  expect(expected.length).toBeGreaterThanOrEqual(5);
  for (const c of expected.filter((r) => r.platform !== "telegram" || r.participant_name === "João Silva")) {
    const row = inbox.locator(`[data-conversation-id="${c.id}"]`);
    await expect(row).toBeVisible();
    await expect(row.locator(".preview")).toHaveText(c.last_message_preview ?? "");
    await expect(row.locator(".count")).toHaveText(String(c.message_count));
  }
  // the demo's WhatsApp chat: linked to María García by her phone number, so her name is
  // its title, with the number beside it
  const maria = inbox.getByRole("link", { name: /\+34612345678/ });
  await expect(maria.locator(".row-title")).toHaveText("María García");
  await expect(maria).toContainText("Genial, te espero. Pedido INV-2026-0042");
  await expect(maria.getByRole("img", { name: "WhatsApp" })).toBeVisible();

  // newest first: the rows' times never increase down the list
  const times = await inbox
    .locator("time")
    .evaluateAll((els) => els.map((e) => Date.parse(e.getAttribute("datetime") ?? "")));
  expect(times).toEqual([...times].sort((a, b) => b - a));

  // filters: one platform; only conversations linked to nobody
  await page.getByLabel("Platform").selectOption("wechat");
  await expect(inbox.getByRole("img", { name: "WeChat" }).first()).toBeVisible();
  await expect(inbox.locator(".platform-icon:not(.platform-wechat)")).toHaveCount(0);
  await page.getByLabel("Platform").selectOption("");
  await page.getByLabel("Not linked to a person").check();
  await expect(inbox.getByText(LONG_THREAD.name)).toBeVisible();
  await expect(inbox.locator(".linked-person")).toHaveCount(0);
  await page.getByLabel("Not linked to a person").uncheck();
  await shot(page, "inbox");

  // a demo thread, times in the viewer's zone (the browser runs in Europe/Madrid)
  await maria.click();
  const log = page.getByRole("log", { name: "Messages" });
  await expect(log.getByText("Genial, te espero. Pedido INV-2026-0042")).toBeVisible();
  // sent 18:03 in Madrid (17:03 UTC): the viewer's zone, not UTC
  await expect(log.locator('[data-testid="message"]').last().locator("time")).toHaveText("18:03");
  await expect(page.getByTestId("thread-start")).toBeVisible();
  await shot(page, "thread-whatsapp");
  // a WeChat chat: Chinese text, a voice message and a recall notice
  await inbox.getByRole("link", { name: /Li Wei/ }).click();
  await expect(log.getByText(/INV-2026-0043/)).toBeVisible();
  await expect(log.locator(".media-voice .media-label")).toHaveText("Voice message");
  await shot(page, "thread-wechat");
});

test("a 2,000-message thread scrolls up to its first message with no gap or repeat", async ({ page }) => {
  await signIn(page, ALICE.email);
  await page
    .getByRole("list", { name: "Inbox" })
    .getByRole("link", { name: new RegExp(LONG_THREAD.name.replace(/[()]/g, "\\$&")) })
    .click();
  const log = page.getByRole("log", { name: "Messages" });
  const messages = log.locator('[data-testid="message"]');
  await expect(messages.last()).toHaveAttribute("data-message-id", longMessageId(LONG_THREAD.count));
  await expect(page.getByText(`${LONG_THREAD.count} messages`)).toBeVisible();
  // the newest messages show each mark: system notice, media, edited, deleted, reply, status
  await expect(log.getByText("Ana Ruiz added Carla Nieto")).toBeVisible();
  await expect(log.locator(".media-image .file-name")).toHaveText("IMG-20260301-WA0004.jpg");
  await expect(log.getByText("The new logo, v3")).toBeVisible();
  await expect(log.locator(".media-document .file-name")).toHaveText("falcon-budget-2026.pdf");
  await expect(log.locator(".edited")).toHaveCount(1);
  await expect(log.getByText("This message was deleted")).toBeVisible();
  await expect(log.getByRole("blockquote", { name: "In reply to" }).last()).toContainText("Budget approved");
  await expect(log.getByLabel("Delivery status: read")).toBeVisible();
  await expect(log.locator(".sender").first()).toBeVisible();
  await shot(page, "thread");

  // scroll to the top again and again; each older page lands above without moving the view
  let loads = 0;
  while (!(await page.getByTestId("thread-start").isVisible())) {
    const before = await messages.count();
    const topId = await messages.first().getAttribute("data-message-id");
    const top = log.locator(`[data-message-id="${topId}"]`);
    await log.evaluate((el) => {
      el.scrollTop = 0;
    });
    const y0 = (await top.boundingBox())?.y ?? 0;
    await expect
      .poll(async () => (await page.getByTestId("thread-start").isVisible()) || (await messages.count()) > before, {
        intervals: [50],
      })
      .toBe(true);
    if ((await messages.count()) > before) {
      loads++;
      // the message that was on top stays where the user saw it
      const y1 = (await top.boundingBox())?.y ?? -1;
      expect(Math.abs(y1 - y0)).toBeLessThan(3);
    }
    expect(loads).toBeLessThan(100);
  }
  const ids = await messages.evaluateAll((els) => els.map((e) => e.getAttribute("data-message-id")));
  const expected = Array.from({ length: LONG_THREAD.count }, (_, i) => longMessageId(i + 1));
  expect(ids).toEqual(expected);
  await expect(log.getByText("First message of the falcon thread")).toBeVisible();
  await shot(page, "thread-first-message");
});

test("search finds a word in the archive and opens the thread there", async ({ page }) => {
  await signIn(page, ALICE.email);
  await page.getByLabel("Search messages").fill(LONG_THREAD.rareWord);
  const results = page.getByRole("list", { name: "Search results" });
  const hit = results.getByRole("link").filter({ hasText: LONG_THREAD.name });
  await expect(hit).toHaveCount(1);
  await expect(hit.locator("mark")).toHaveText(LONG_THREAD.rareWord);
  await hit.click();
  await expect(page).toHaveURL(new RegExp(`msg=${longMessageId(LONG_THREAD.rareIndex)}`));
  const log = page.getByRole("log", { name: "Messages" });
  const target = log.locator(`[data-message-id="${longMessageId(LONG_THREAD.rareIndex)}"]`);
  await expect(target).toHaveAttribute("aria-current", "true");
  await expect(target).toBeInViewport();
  await expect(target).toContainText(LONG_THREAD.rareWord);
  // the messages around it are there, the older ones down to the first
  await expect(log.locator(`[data-message-id="${longMessageId(LONG_THREAD.rareIndex - 1)}"]`)).toBeVisible();
  await expect(page.getByTestId("thread-start")).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "Opened at the search match" })).toBeVisible();
  await shot(page, "thread-at-search-hit");
});

test("link a conversation to a person and see it on the Person page's Messages tab", async ({ page }) => {
  await signIn(page, ALICE.email);
  const inbox = page.getByRole("list", { name: "Inbox" });
  const telegram = inbox
    .getByRole("link", { name: /João Silva/ })
    .filter({ has: page.getByRole("img", { name: "Telegram" }) });
  await telegram.click();
  const header = page.locator(".thread-header");
  await header.getByRole("combobox", { name: "Link to person" }).fill("João");
  await header
    .getByRole("listbox", { name: "People" })
    .getByRole("option", { name: /^João Silva/ })
    .click();
  await expect(header.getByRole("link", { name: "João Silva" })).toBeVisible();
  await shot(page, "thread-linked");
  await header.getByRole("link", { name: "João Silva" }).click();
  await expect(page).toHaveURL(new RegExp(`/people/${JOAO_PERSON_ID}`));
  await expect(page.getByRole("heading", { name: "João Silva" })).toBeVisible();
  await expect(page.getByRole("tab", { name: "Messages" })).toHaveAttribute("aria-selected", "true");
  const tab = page.getByRole("list", { name: "Conversations with this person" });
  await expect(tab.getByRole("link", { name: /Telegram · João Silva/ })).toBeVisible();
  await shot(page, "person-messages");
  // the tab's conversation opens its thread; unlinking takes it off the Person page
  await tab.getByRole("link", { name: /Telegram · João Silva/ }).click();
  await expect(page.getByRole("log", { name: "Messages" })).toBeVisible();
  await page.locator(".thread-header").getByRole("button", { name: "Unlink" }).click();
  await expect(page.locator(".thread-header").getByRole("combobox", { name: "Link to person" })).toBeVisible();
  await page.goto(`/people/${JOAO_PERSON_ID}`);
  await expect(page.getByText("No conversations are linked to this person yet.")).toBeVisible();
  // the keyboard reaches the tabs and switches them with the arrow keys
  await page.getByRole("tab", { name: "Messages" }).focus();
  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("tab", { name: "Details" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("cell", { name: "+5511912345678" })).toBeVisible();
});

test("the connections page lists each account, with a webhook URL once it has secrets", async ({ page }) => {
  await serviceRest("rpc/add_messaging_connection", {
    method: "POST",
    body: JSON.stringify({
      platform: "signal",
      account_identifier: "+34600999000",
      display_name: "Signal bridge",
      secrets: { token: "e2e-signal-token" },
      user_id: ALICE.id,
    }),
  });
  await signIn(page, ALICE.email);
  await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Connections" }).click();
  const rows = page.locator("table.connections tbody tr");
  const expected = (await serviceRest(
    `messaging_connections?user_id=eq.${ALICE.id}&select=id,platform,account_identifier`,
  )) as { id: string; platform: string; account_identifier: string }[];
  await expect(rows).toHaveCount(expected.length);
  const apiUrl = (await page.evaluate(() => fetch("/local-dev/session.json").then((r) => r.json()))) as {
    api_url: string;
  };
  for (const c of expected) {
    const url = `${apiUrl.api_url}/functions/v1/messaging-ingest/${c.platform}/${c.id}`;
    const row = page.locator(`tr[data-connection-id="${c.id}"]`);
    if (c.account_identifier === "+34600999000") await expect(row.getByText(url)).toBeVisible();
    else await expect(row).toContainText("no webhook secrets yet");
  }
  await shot(page, "connections");

  // a paused account with refused deliveries says so (the columns the function writes)
  const first = expected[0];
  expect(first, "the demo import recorded alice's accounts").toBeDefined();
  if (!first) return;
  const at = new Date(Date.now() - 5 * 60_000).toISOString();
  await serviceRest(`messaging_connections?id=eq.${first.id}`, {
    method: "PATCH",
    body: JSON.stringify({ status: "paused", refused_count: 3, last_refused_at: at }),
  });
  try {
    await page.reload();
    const row = page.locator(`tr[data-connection-id="${first.id}"]`);
    await expect(row.getByLabel("Refused deliveries")).toHaveText(/^3, last 5 min(utes)? ago$/);
    await expect(row.getByText("deliveries are answered and dropped, not stored")).toBeVisible();
  } finally {
    await serviceRest(`messaging_connections?id=eq.${first.id}`, {
      method: "PATCH",
      body: JSON.stringify({ status: "active", refused_count: 0, last_refused_at: null }),
    });
  }
});

test("a second user sees none of the first user's data", async ({ page }) => {
  const alices = await aliceConversations();
  const maria = alices.find((c) => c.platform === "whatsapp");
  expect(maria).toBeDefined();
  await signIn(page, BOB.email);
  const list = page.locator(".conversation-list");
  // bob's own inbox has loaded (his 5,000 leads), without an error
  await expect(list.getByRole("link", { name: new RegExp(`${MANY.namePrefix}${MANY.count - 1}`) })).toBeVisible();
  await expect(list.getByRole("alert")).toHaveCount(0);
  for (const c of alices) {
    await expect(page.locator(`[data-conversation-id="${c.id}"]`)).toHaveCount(0);
  }
  await expect(list).not.toContainText("María García");
  await expect(list).not.toContainText(LONG_THREAD.name);
  // alice's conversation by its URL: nothing
  await page.goto(`/inbox/${maria!.id}`);
  await expect(page.getByText("No such conversation.")).toBeVisible();
  // alice's archive word: no hit
  await page.getByLabel("Search messages").fill(LONG_THREAD.rareWord);
  await expect(page.getByText(`No conversations or messages match “${LONG_THREAD.rareWord}”.`)).toBeVisible();
  // alice's people and connections: not listed
  await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "People" }).click();
  await page.getByLabel("Search people").fill("Tom");
  await expect(page.getByRole("link", { name: "Tom Jones" })).toBeVisible();
  await page.getByLabel("Search people").fill("María");
  await expect(page.getByText("No person matches “María”.")).toBeVisible();
  await expect(page.getByRole("link", { name: "María García" })).toHaveCount(0);
  await page.goto(`/people/${JOAO_PERSON_ID}`);
  await expect(page.getByText("No such person. It does not exist, or is not yours.")).toBeVisible();
  await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Connections" }).click();
  await expect(page.locator("table.connections")).toHaveCount(0);
  await shot(page, "second-user");
});

test("an API failure shows PostgREST's error in words", async ({ page }) => {
  await signIn(page, ALICE.email);
  // Not a mock: the inbox request is rewritten on its way to the real PostgREST to select
  // a column that does not exist, so PostgREST itself answers with an error (HTTP 400).
  await page.route("**/rest/v1/chat_conversation_list?*", async (route) => {
    const url = new URL(route.request().url());
    url.searchParams.set("select", "id,no_such_column");
    await route.continue({ url: url.toString() });
  });
  await page.reload();
  const alert = page.locator(".conversation-list").getByRole("alert");
  await expect(alert).toContainText("no_such_column does not exist");
  await expect(alert.getByRole("button", { name: "Try again" })).toBeVisible();
  await shot(page, "error");
  // A network failure (the request is aborted in the browser: no server is involved).
  await page.unroute("**/rest/v1/chat_conversation_list?*");
  await page.route("**/rest/v1/rpc/get_conversation_messages", (route) => route.abort("failed"));
  await alert.getByRole("button", { name: "Try again" }).click();
  await page.getByRole("list", { name: "Inbox" }).getByRole("link").first().click();
  await expect(page.locator(".thread-pane").getByRole("alert")).toContainText("Could not reach the API");
});

test("an inbox of 5,000 conversations loads page by page as it scrolls", async ({ page }) => {
  await signIn(page, BOB.email);
  const inbox = page.getByRole("list", { name: "Inbox" });
  const rows = inbox.locator("[data-conversation-id]");
  await expect(rows).toHaveCount(50);
  const scroller = page.locator(".conversation-list");
  const pageTimes: number[] = [];
  for (let pages = 2; pages <= 12; pages++) {
    const started = Date.now();
    await scroller.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await expect(rows).toHaveCount(pages * 50);
    pageTimes.push(Date.now() - started);
  }
  // keyset pages: newest first, no conversation twice, none skipped
  const names = await rows.evaluateAll((els) => els.map((e) => e.querySelector(".row-title")?.textContent ?? ""));
  const leads = names.filter((n) => n.startsWith(MANY.namePrefix));
  expect(new Set(names).size).toBe(names.length);
  const expected = Array.from(
    { length: leads.length },
    (_, i) => `${MANY.namePrefix}${String(MANY.count - 1 - i).padStart(4, "0")}`,
  );
  expect(leads).toEqual(expected);
  pageTimes.sort((a, b) => a - b);
  console.log(`inbox of ${MANY.count}: 11 more pages of 50, median ${pageTimes[5]} ms, max ${pageTimes[10]} ms each`);
  expect(pageTimes[10]).toBeLessThan(3000);
});

test("the inbox and a thread work from the keyboard alone", async ({ page }) => {
  await signIn(page, ALICE.email);
  await page.getByLabel("Search messages").focus();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Platform")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Not linked to a person")).toBeFocused();
  await page.keyboard.press("Space");
  await expect(page.getByLabel("Not linked to a person")).toBeChecked();
  await page.keyboard.press("Space");
  await page.keyboard.press("Tab");
  const first = page.getByRole("list", { name: "Inbox" }).getByRole("link").first();
  await expect(first).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/inbox\/[0-9a-f-]{36}$/);
  // the link control of the thread is reachable and labelled
  const select = page.locator(".thread-header").getByRole("combobox", { name: "Link to person" });
  await expect(select.or(page.locator(".thread-header").getByRole("button", { name: "Unlink" })).first()).toBeVisible();
  // Enter moved the focus into the message log, so the arrow keys scroll it
  const log = page.getByRole("log", { name: "Messages" });
  await expect(log).toBeFocused();
});

test("the inbox and an open thread pick up new messages on an interval and on focus", async ({ page }) => {
  // Realtime cannot run on this stack: the screens poll. The page's clock is Playwright's,
  // so the 30-second interval is fast-forwarded instead of waited for.
  await page.clock.install();
  const run = Date.now().toString(36);
  const ingest = (id: string, content: string) =>
    serviceRest("rpc/ingest_messages", {
      method: "POST",
      body: JSON.stringify({
        payload: {
          user_id: ALICE.id,
          messages: [
            {
              platform: "signal",
              external_conversation_id: "e2e-live",
              participant_name: "Live Check (e2e)",
              id,
              direction: "inbound",
              type: "text",
              content,
              sent_at: new Date().toISOString(),
            },
          ],
        },
      }),
    });
  await ingest(`live-${run}-0`, `Opening message ${run}`);
  await signIn(page, ALICE.email);
  const row = page.getByRole("list", { name: "Inbox" }).getByRole("link", { name: /Live Check \(e2e\)/ });
  await expect(row).toContainText(`Opening message ${run}`);
  await row.click();
  const log = page.getByRole("log", { name: "Messages" });
  await expect(log.getByText(`Opening message ${run}`)).toBeVisible();

  await ingest(`live-${run}-1`, `Arrived later ${run}`);
  await page.clock.fastForward("00:31");
  await expect(log.getByText(`Arrived later ${run}`)).toBeVisible();
  await expect(row.locator(".preview")).toHaveText(`Arrived later ${run}`);

  await ingest(`live-${run}-2`, `Seen on focus ${run}`);
  await page.clock.fastForward("00:11");
  await page.evaluate(() => window.dispatchEvent(new Event("visibilitychange")));
  await expect(log.getByText(`Seen on focus ${run}`)).toBeVisible();
  await expect(row.locator(".preview")).toHaveText(`Seen on focus ${run}`);
  await expect(log.locator('[data-testid="message"]').last()).toBeInViewport();
});
