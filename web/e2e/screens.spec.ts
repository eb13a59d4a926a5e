// The CRM screens as a person uses them on a laptop (1440x900) and a phone (390x844):
// layout, errors, the keyboard, paging around a search hit, the order of a minute, the
// demo's directions, big people tables, connections, unread state, the contact panel,
// name search, search paging and new messages in an open thread.
import { expect, test, type Page } from "@playwright/test";
import {
  ALICE,
  BOB,
  LONG_THREAD,
  MANY_PEOPLE,
  VIEWPORTS,
  ingest,
  longMessageId,
  serviceRest,
  shot,
  signIn,
} from "./fixtures";

const run = Date.now().toString(36);

async function conversationId(userId: string, platform: string, externalId: string): Promise<string> {
  const rows = (await serviceRest(
    `chat_conversation_list?user_id=eq.${userId}&platform=eq.${platform}&external_conversation_id=eq.${encodeURIComponent(externalId)}&select=id`,
  )) as { id: string }[];
  expect(rows).toHaveLength(1);
  return rows[0]!.id;
}

/** Nothing on the page is wider than the screen (no sideways scrolling, nothing cut off). */
async function expectNoSidewaysOverflow(page: Page): Promise<void> {
  const width = page.viewportSize()!.width;
  const overflow = await page.evaluate((w) => {
    const wide: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLElement>("body *"))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || el.closest(".visually-hidden, .skip-link")) continue;
      if (r.right > w + 1) wide.push(`${el.tagName}.${el.className} right=${Math.round(r.right)}`);
    }
    return wide.slice(0, 5);
  }, width);
  expect(overflow).toEqual([]);
}

for (const vp of VIEWPORTS) {
  const phone = vp.name === "phone";

  test.describe(`${vp.name} ${vp.width}x${vp.height}`, () => {
    test.use({ viewport: { width: vp.width, height: vp.height } });

    test("inbox, thread, search, Person tab and connections fit the screen", async ({ page }) => {
      await signIn(page, ALICE.email);
      const inbox = page.getByRole("list", { name: "Inbox" });
      const maria = inbox
        .getByRole("link", { name: /María García/ })
        .filter({ has: page.getByRole("img", { name: "WhatsApp" }) });
      await expect(maria).toBeVisible();
      await expectNoSidewaysOverflow(page);
      if (phone) await shot(page, "phone-inbox");
      await maria.click();
      const log = page.getByRole("log", { name: "Messages" });
      await expect(log.getByText("Genial, te espero. Pedido INV-2026-0042")).toBeVisible();
      const logBox = (await log.boundingBox())!;
      // the thread takes the screen (a phone) or the pane beside the list (a laptop)
      expect(logBox.width).toBeGreaterThan(phone ? vp.width - 20 : 700);
      await expect(page.getByRole("list", { name: "Inbox" })).toBeVisible({ visible: !phone });
      await expectNoSidewaysOverflow(page);
      if (phone) {
        await shot(page, "phone-thread");
        await page.getByRole("link", { name: "Back to the conversations" }).click();
        await expect(page).toHaveURL(/\/inbox$/);
        await expect(inbox).toBeVisible();
      } else {
        await expect(page.getByRole("link", { name: "Back to the conversations" })).toBeHidden();
      }

      await page.getByLabel("Search messages").fill(LONG_THREAD.rareWord);
      const hit = page.getByRole("list", { name: "Search results" }).getByRole("link").first();
      await expect(hit.locator("mark")).toHaveText(LONG_THREAD.rareWord);
      await expectNoSidewaysOverflow(page);
      await hit.click();
      await expect(log.locator(`[data-message-id="${longMessageId(LONG_THREAD.rareIndex)}"]`)).toBeInViewport();
      if (phone) await shot(page, "phone-thread-at-search-hit");

      await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "People" }).click();
      await page.getByRole("link", { name: "María García" }).click();
      await expect(page.getByRole("tab", { name: "Messages" })).toHaveAttribute("aria-selected", "true");
      await expect(
        page.getByRole("list", { name: "Conversations with this person" }).getByRole("link").first(),
      ).toBeVisible();
      await expectNoSidewaysOverflow(page);
      if (phone) await shot(page, "phone-person");

      await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Connections" }).click();
      await expect(page.locator("table.connections tbody tr").first()).toBeVisible();
      await expect(page.getByRole("button", { name: "Add connection" })).toBeVisible();
      await expectNoSidewaysOverflow(page);
      if (phone) await shot(page, "phone-connections");
    });
  });
}

for (const vp of VIEWPORTS) {
  const phone = vp.name === "phone";

  test.describe(`${vp.name} ${vp.width}x${vp.height}`, () => {
    test.use({ viewport: { width: vp.width, height: vp.height } });

    test("a wrong conversation id says so, and a dead API fails fast in words", async ({ page }) => {
      await signIn(page, ALICE.email);
      const api: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/rest/v1/")) api.push(r.url());
      });
      await page.goto("/inbox/not-a-uuid");
      await expect(page.getByText("No such conversation.")).toBeVisible();
      await expect(page.locator(".thread-pane").getByRole("alert")).toHaveCount(0);
      expect(api.filter((u) => u.includes("not-a-uuid"))).toEqual([]);
      await page.goto("/people/not-a-uuid");
      await expect(page.getByText("No such person.")).toBeVisible();
      // a uuid that names nothing: the same sentence, from the database's empty answer
      await page.goto("/inbox/00000000-0000-4000-8000-000000000000");
      await expect(page.getByText("No such conversation.")).toBeVisible();

      // The API is down: every request is refused in the browser, as with no server behind
      // the address (no server is involved, so none can answer).
      await page.route("**/rest/v1/**", (route) => route.abort("connectionrefused"));
      const started = Date.now();
      await page.goto("/inbox");
      const alert = page.locator(".conversation-list").getByRole("alert");
      await expect(alert).toContainText("Could not reach the API", { timeout: 5_000 });
      const waited = Date.now() - started;
      console.log(`${vp.name}: API refused, message after ${waited} ms`);
      expect(waited).toBeLessThan(5_000);
      await expect(alert.getByRole("button", { name: "Try again" })).toBeVisible();
      if (!phone) await shot(page, "api-down");

      // An API that takes the request and never answers: the request's deadline ends it.
      await page.unroute("**/rest/v1/**");
      await page.route("**/rest/v1/chat_conversation_list?*", () => {
        /* never answered */
      });
      await alert.getByRole("button", { name: "Try again" }).click();
      await expect(alert).toContainText("did not answer within 10 seconds", { timeout: 15_000 });
      // the API is back: Try again works
      await page.unroute("**/rest/v1/chat_conversation_list?*");
      await alert.getByRole("button", { name: "Try again" }).click();
      await expect(page.getByRole("list", { name: "Inbox" })).toBeVisible();
    });

    test("the keyboard: skip link, Enter into the thread, j/k and / shown on screen", async ({ page }) => {
      await signIn(page, ALICE.email);
      await expect(page.getByLabel("Keyboard shortcuts")).toContainText("j/k");
      await expect(page.getByLabel("Keyboard shortcuts")).toContainText("/ search");
      // the first Tab reaches the skip link, which moves focus past the navigation
      await page.locator("body").focus();
      await page.keyboard.press("Tab");
      const skip = page.getByRole("link", { name: "Skip to content" });
      await expect(skip).toBeFocused();
      await expect(skip).toBeInViewport();
      await page.keyboard.press("Enter");
      await expect(page.locator("#main-content")).toBeFocused();

      // "/" goes to the search box, Escape leaves it
      await page.keyboard.press("/");
      await expect(page.getByLabel("Search messages")).toBeFocused();
      await page.keyboard.press("Escape");

      const rows = page.getByRole("list", { name: "Inbox" }).locator("a[data-conversation-id]");
      const first = rows.nth(0);
      const firstId = await first.getAttribute("data-conversation-id");
      const secondId = await rows.nth(1).getAttribute("data-conversation-id");
      await first.focus();
      await page.keyboard.press("Enter");
      const log = page.getByRole("log", { name: "Messages" });
      // Enter on a row hands the focus to the thread: no Tab through the rest of the list
      await expect(log).toBeFocused();
      await expect(page).toHaveURL(new RegExp(`/inbox/${firstId}$`));
      // j / k: the next and the previous conversation (on a phone too, from the thread)
      await page.keyboard.press("j");
      await expect(page).toHaveURL(new RegExp(`/inbox/${secondId}$`));
      if (!phone) await expect(page.locator(`a[data-conversation-id="${secondId}"]`)).toBeFocused();
      await page.keyboard.press("k");
      await expect(page).toHaveURL(new RegExp(`/inbox/${firstId}$`));
      // with a thread open, the skip links lead into it: content first, then the conversation
      await page.reload();
      await expect(page.getByRole("log", { name: "Messages" })).toBeVisible();
      await page.keyboard.press("Tab");
      await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
      await page.keyboard.press("Enter");
      await page.keyboard.press("Tab");
      const toThread = page.getByRole("link", { name: "Skip to the conversation" });
      await expect(toThread).toBeFocused();
      await expect(toThread).toBeInViewport();
      await page.keyboard.press("Enter");
      await expect(page.getByRole("log", { name: "Messages" })).toBeFocused();
    });

    test("a thread opened at a search hit pages both ways", async ({ page }) => {
      await signIn(page, ALICE.email);
      await page.getByLabel("Search messages").fill(LONG_THREAD.rareWord);
      await page.getByRole("list", { name: "Search results" }).getByRole("link").first().click();
      const log = page.getByRole("log", { name: "Messages" });
      const messages = log.locator('[data-testid="message"]');
      await expect(log.locator(`[data-message-id="${longMessageId(LONG_THREAD.rareIndex)}"]`)).toBeInViewport();
      // newer messages are there below the hit, and more load as the thread scrolls down
      await expect(log.locator(`[data-message-id="${longMessageId(LONG_THREAD.rareIndex + 1)}"]`)).toBeAttached();
      for (let i = 0; i < 3; i++) {
        const before = await messages.count();
        await log.evaluate((el) => {
          el.scrollTop = el.scrollHeight;
        });
        await expect.poll(() => messages.count()).toBeGreaterThan(before);
      }
      const ids = await messages.evaluateAll((els) => els.map((e) => e.getAttribute("data-message-id")));
      // in order, no gap, no repeat: the first message up to the newest loaded
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => longMessageId(i + 1)));
      expect(ids.length).toBeGreaterThan(150);
      await expect(log.getByRole("button", { name: /Load newer messages|Loading newer/ })).toBeAttached();
      // the view did not jump to the end: the newest loaded page is not the thread's end
      await expect(page.getByTestId("thread-end")).toHaveCount(0);
    });

    test("a WhatsApp minute keeps the file's order, and alice's own messages are hers", async ({ page }) => {
      await signIn(page, ALICE.email);
      await page
        .getByRole("list", { name: "Inbox" })
        .getByRole("link", { name: /María García/ })
        .filter({ has: page.getByRole("img", { name: "WhatsApp" }) })
        .click();
      const messages = page.getByRole("log", { name: "Messages" }).locator('[data-testid="message"]');
      // 09:14 holds the encryption banner, then María's first message (the file's order)
      await expect(messages.nth(0)).toContainText("end-to-end encrypted");
      await expect(messages.nth(1)).toContainText("Hola Alice");
      // the demo imported Telegram with --me: alice's message is on her side
      await page.goto("/inbox");
      await page
        .getByRole("list", { name: "Inbox" })
        .getByRole("link", { name: /João Silva/ })
        .filter({ has: page.getByRole("img", { name: "Telegram" }) })
        .click();
      const mine = page
        .getByRole("log", { name: "Messages" })
        .locator('[data-testid="message"]')
        .filter({ hasText: "Ótimo!" });
      await expect(mine).toHaveClass(/outbound/);
      await expect(
        page.getByRole("log", { name: "Messages" }).locator('[data-testid="message"]').filter({ hasText: "Assinado" }),
      ).toHaveClass(/inbound/);
    });

    test("1,103 people: a searchable, paged People page and person picker", async ({ page }) => {
      await signIn(page, BOB.email);
      await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "People" }).click();
      const total = MANY_PEOPLE.count + 1; // and Tom Jones
      await expect(page.getByTestId("people-count")).toHaveText(`Showing 50 of ${total} people`);
      await page.getByRole("button", { name: "Load more people" }).click();
      await expect(page.getByTestId("people-count")).toHaveText(`Showing 100 of ${total} people`);
      // the last one, past PostgREST's 1,000 rows, by search
      const last = `${MANY_PEOPLE.namePrefix}${MANY_PEOPLE.count - 1}`;
      await page.getByLabel("Search people").fill(last);
      await expect(page.getByTestId("people-count")).toHaveText(`Showing 1 of 1 person matching “${last}”`);
      await expect(page.getByRole("link", { name: last })).toBeVisible();

      // the picker: the first matches and how many there are; a choice links
      await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Messages" }).click();
      await page.getByRole("list", { name: "Inbox" }).getByRole("link").first().click();
      const picker = page.getByRole("combobox", { name: "Link to person" });
      // the words in order, anywhere in the name: "Person" ... "11"
      const matching = Array.from(
        { length: MANY_PEOPLE.count },
        (_, i) => `${MANY_PEOPLE.namePrefix}${String(i).padStart(4, "0")}`,
      ).filter((n) => /Person.*11/.test(n)).length;
      await picker.fill("Person 11");
      await expect(page.getByTestId("picker-count")).toHaveText(
        `20 of ${matching} people: type more of the name to narrow them`,
      );
      await expect(page.getByRole("listbox", { name: "People" }).getByRole("option")).toHaveCount(20);
      await picker.fill(last);
      await page.getByRole("listbox", { name: "People" }).getByRole("option", { name: last }).click();
      const header = page.locator(".thread-header");
      await expect(header.getByRole("link", { name: last })).toBeVisible();
      await header.getByRole("button", { name: "Unlink" }).click();
      await expect(page.getByRole("combobox", { name: "Link to person" })).toBeVisible();
    });

    test("connections: add one, see its URL and secret once, rotate, pause, delete", async ({ page }) => {
      await signIn(page, ALICE.email);
      await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Connections" }).click();
      // imports made connections for WhatsApp, Telegram and WeChat; they have no secrets: no URL
      for (const platform of ["WhatsApp", "Telegram", "WeChat"]) {
        const row = page
          .locator("table.connections tbody tr")
          .filter({ has: page.getByRole("img", { name: platform }) })
          .first();
        await expect(row).toContainText("no webhook secrets yet");
        await expect(row.locator(".webhook-url")).toHaveCount(0);
      }
      const account = `e2e_${vp.name}_${run}_bot`;
      await page.getByLabel("Platform").selectOption("telegram");
      await page.getByLabel("Account").fill(account);
      await page.getByRole("button", { name: "Add connection" }).click();
      const issued = page.getByRole("status", { name: "New webhook secrets" });
      const secret = (await issued.getByTestId("issued-secret_token").textContent()) ?? "";
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      const url = (await issued.getByTestId("issued-webhook-url").textContent()) ?? "";
      expect(url).toMatch(/\/functions\/v1\/messaging-ingest\/telegram\/[0-9a-f-]{36}$/);
      if (!phone) await shot(page, "connections-new-secret");
      await issued.getByRole("button", { name: "I have saved them" }).click();
      const row = page.locator("table.connections tbody tr").filter({ hasText: account });
      await expect(row.locator(".webhook-url")).toHaveText(url);
      // never shown again: not on the page, not in what the API returns
      await page.reload();
      await expect(row).toBeVisible();
      await expect(page.getByText(secret)).toHaveCount(0);
      expect(JSON.stringify(await serviceRest(`messaging_connections?account_identifier=eq.${account}`))).not.toContain(
        secret,
      );

      await row.getByRole("button", { name: "Rotate secrets" }).click();
      await row.getByRole("button", { name: "Rotate now" }).click();
      const notice = page.getByRole("status", { name: "New webhook secrets" });
      const rotated = (await notice.getByTestId("issued-secret_token").textContent()) ?? "";
      expect(rotated).toMatch(/^[0-9a-f]{64}$/);
      expect(rotated).not.toBe(secret);
      await notice.getByRole("button", { name: "I have saved them" }).click();
      await row.getByRole("button", { name: "Pause" }).click();
      await row.getByRole("button", { name: "Pause and drop deliveries" }).click();
      await expect(row.locator(".badge").first()).toHaveText("paused");
      await row.getByRole("button", { name: "Resume" }).click();
      await expect(row.locator(".badge").first()).toHaveText("active");
      page.once("dialog", (d) => void d.accept());
      await row.getByRole("button", { name: "Delete" }).click();
      await expect(row).toHaveCount(0);
    });

    test("unread per user, the person's name as title, the contact panel, create a person", async ({ page }) => {
      const run = `${vp.name}-${Date.now().toString(36)}`;
      const ext = `e2e-contact-${vp.name}-${run}`;
      const phoneNumber = `+3469${String(Date.now()).slice(-7)}`;
      await ingest(ALICE.id, [
        {
          platform: "signal",
          external_conversation_id: ext,
          participant_identifier: phoneNumber,
          participant_name: `Nadia ${run}`,
          id: "c1",
          direction: "inbound",
          type: "text",
          content: `First contact ${run}`,
          sent_at: new Date().toISOString(),
        },
      ]);
      await signIn(page, ALICE.email);
      const id = await conversationId(ALICE.id, "signal", ext);
      const row = page.getByRole("list", { name: "Inbox" }).locator(`[data-conversation-id="${id}"]`);
      await expect(row).toHaveAttribute("data-unread", "true");
      await expect(row.getByRole("img", { name: "Unread" })).toBeVisible();
      await row.click();
      await page.getByRole("button", { name: "Contact" }).click();
      const panel = page.getByRole("complementary", { name: "Contact" });
      await expect(panel).toContainText(phoneNumber);
      await expect(panel.getByLabel("Full name")).toHaveValue(`Nadia ${run}`);
      await panel.getByLabel("Full name").fill(`Nadia Ruiz ${run}`);
      if (!phone) await shot(page, "contact-panel");
      await panel.getByRole("button", { name: "Create person from conversation" }).click();
      // the CRM's name for the person is now the conversation's title
      await expect(page.locator(".thread-header h2")).toHaveText(`Nadia Ruiz ${run}`);
      await expect(panel.getByRole("link", { name: `Nadia Ruiz ${run}` })).toBeVisible();
      const person = (await serviceRest(
        `people?user_id=eq.${ALICE.id}&full_name=eq.${encodeURIComponent(`Nadia Ruiz ${run}`)}&select=id,phone`,
      )) as { id: string; phone: string }[];
      expect(person).toHaveLength(1);
      // read: the marker is the user's, on the server (a reload keeps it)
      await page.goto("/inbox");
      await expect(row).not.toHaveAttribute("data-unread", "true");
      await expect(row.locator(".row-title")).toHaveText(`Nadia Ruiz ${run}`);
      // a new message makes it unread again; bob has no marker of alice's
      await ingest(ALICE.id, [
        {
          platform: "signal",
          external_conversation_id: ext,
          id: "c2",
          direction: "inbound",
          type: "text",
          content: `Second ${run}`,
          sent_at: new Date().toISOString(),
        },
      ]);
      await page.reload();
      await expect(row).toHaveAttribute("data-unread", "true");
      expect(await serviceRest(`chat_conversation_read_markers?conversation_id=eq.${id}&user_id=eq.${BOB.id}`)).toEqual(
        [],
      );
    });

    test("search finds conversations by name and pages message hits past 50 with counts", async ({ page }) => {
      const word = `zq${run}${vp.name}`;
      const ext = `e2e-search-${vp.name}-${run}`;
      const start = Date.now() - 200 * 60_000;
      await ingest(
        ALICE.id,
        Array.from({ length: 120 }, (_, i) => ({
          platform: "telegram",
          external_conversation_id: ext,
          participant_name: `Search Check ${run} ${vp.name}`,
          id: `s${i}`,
          direction: "inbound",
          type: "text",
          content: `note ${i} about ${word}`,
          sent_at: new Date(start + i * 60_000).toISOString(),
        })),
      );
      await signIn(page, ALICE.email);
      const box = page.getByLabel("Search messages");
      // by the linked person's name (the demo's WhatsApp chat is María García's)
      await box.fill("García");
      const named = page.getByRole("list", { name: "Matching conversations" });
      await expect(named.getByRole("link", { name: /María García/ }).first()).toBeVisible();
      // by the contact's name on the platform
      await box.fill(`Search Check ${run} ${vp.name}`);
      await expect(named.getByRole("link", { name: new RegExp(`Search Check ${run} ${vp.name}`) })).toHaveCount(1);

      await box.fill(word);
      const hits = page.getByRole("list", { name: "Search results" }).getByRole("link");
      await expect(hits).toHaveCount(50);
      await expect(page.getByTestId("message-hit-count")).toContainText("first 50");
      if (!phone) await shot(page, "search");
      await page.getByRole("button", { name: "Show more results" }).click();
      await expect(hits).toHaveCount(100);
      await page.getByRole("button", { name: "Show more results" }).click();
      await expect(hits).toHaveCount(120);
      await expect(page.getByTestId("message-hit-count")).toContainText("(120)");
      await expect(page.getByText("120 messages match")).toBeVisible();
      const ids = await hits.evaluateAll((els) => els.map((e) => e.getAttribute("data-message-id")));
      expect(new Set(ids).size).toBe(120);
    });

    test("a new message shows in the open thread within seconds", async ({ page }) => {
      const ext = `e2e-live-${vp.name}-${run}`;
      await ingest(ALICE.id, [
        {
          platform: "signal",
          external_conversation_id: ext,
          participant_name: `Live ${vp.name} ${run}`,
          id: "l0",
          direction: "inbound",
          type: "text",
          content: `Hello ${run}`,
          sent_at: new Date().toISOString(),
        },
      ]);
      await signIn(page, ALICE.email);
      await page.goto(`/inbox/${await conversationId(ALICE.id, "signal", ext)}`);
      const log = page.getByRole("log", { name: "Messages" });
      await expect(log.getByText(`Hello ${run}`)).toBeVisible();
      await ingest(ALICE.id, [
        {
          platform: "signal",
          external_conversation_id: ext,
          id: "l1",
          direction: "inbound",
          type: "text",
          content: `Just now ${run}`,
          sent_at: new Date().toISOString(),
        },
      ]);
      const sent = Date.now();
      await expect(log.getByText(`Just now ${run}`)).toBeVisible({ timeout: 8_000 });
      console.log(`${vp.name}: new message in the open thread after ${Date.now() - sent} ms`);
      await expect(log.locator('[data-testid="message"]').last()).toBeInViewport();
    });
  });
}

test("message search pages up to search_messages' 500 hits and then says so", async ({ page }) => {
  const word = `zz${run}cap`;
  const start = Date.now() - 600 * 60_000;
  await ingest(
    ALICE.id,
    Array.from({ length: 520 }, (_, i) => ({
      platform: "telegram",
      external_conversation_id: `e2e-cap-${run}`,
      participant_name: `Cap Check ${run}`,
      id: `cap${i}`,
      direction: "inbound",
      type: "text",
      content: `line ${i} ${word}`,
      sent_at: new Date(start + i * 60_000).toISOString(),
    })),
  );
  await signIn(page, ALICE.email);
  await page.getByLabel("Search messages").fill(word);
  const hits = page.getByRole("list", { name: "Search results" }).getByRole("link");
  await expect(hits).toHaveCount(50);
  for (let n = 100; n <= 500; n += 50) {
    await page.getByRole("button", { name: "Show more results" }).click();
    await expect(hits).toHaveCount(n);
  }
  await expect(page.getByText("The first 500 matches: add words to narrow the search.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Show more results" })).toHaveCount(0);
  await expect(page.locator(".conversation-list").getByRole("alert")).toHaveCount(0);
});
