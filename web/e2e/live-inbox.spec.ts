// The live inbox (issue 31, item 1) as a person meets it: webhooks delivered to the real
// messaging-ingest function (as Telegram sends them, through nginx) while the inbox is open
// move their rows to the top with the new preview, the unread mark and count, and the
// navigation's count, without the list being read again (the local stack has no Realtime
// server: this is the polling path). Then "Mark unread". And the pure fold of changed rows.
import { expect, test, type Page, type Request } from "@playwright/test";
import { foldChanges } from "../src/hooks/use-conversation-changes";
import type { ConversationListItem } from "../src/types/messaging";
import { ALICE, VIEWPORTS, serviceRest, shot, signIn } from "./fixtures";
import { readStackEnv } from "./stack-env";

const run = Date.now().toString(36);
let update = 0;

/** A Telegram text from a contact (chat id) to the connection: the function's status. */
async function deliver(connectionId: string, token: string, chatId: number, name: string, text: string) {
  update += 1;
  const env = readStackEnv();
  const res = await fetch(`${env.API_URL}/functions/v1/messaging-ingest/telegram/${connectionId}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": token },
    body: JSON.stringify({
      update_id: update,
      message: {
        message_id: update,
        from: { id: chatId, is_bot: false, first_name: name },
        chat: { id: chatId, first_name: name, type: "private" },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    }),
  });
  await res.body?.cancel();
  return res.status;
}

async function telegramConnection(): Promise<{ id: string; token: string }> {
  const token = `e2e-live-${run}-secret-token`;
  const id = (await serviceRest("rpc/add_messaging_connection", {
    method: "POST",
    body: JSON.stringify({
      platform: "telegram",
      account_identifier: `e2e_live_${run}_bot`,
      display_name: "Live inbox bot",
      secrets: { secret_token: token },
      user_id: ALICE.id,
    }),
  })) as string;
  return { id, token };
}

/** The navigation's unread count (0 when it shows none). */
async function navCount(page: Page): Promise<number> {
  const badge = page.getByTestId("nav-unread");
  if ((await badge.count()) === 0) return 0;
  return Number(await badge.textContent());
}

const inbox = (page: Page) => page.getByRole("list", { name: "Inbox" });
const firstRow = (page: Page) => inbox(page).locator("a[data-conversation-id]").first();

test("a webhook delivered while the inbox is open: the row comes to the top, with its preview and unread mark", async ({
  page,
}) => {
  const { id, token } = await telegramConnection();
  await signIn(page, ALICE.email);
  await expect(firstRow(page)).toBeVisible();
  // wait for the first answer of the changes poll (the count is there from then on)
  await page.waitForResponse((r) => r.url().includes("/rpc/inbox_changes"));
  const before = await navCount(page);

  // from here on the list must not be read again: the rows come from inbox_changes
  const listReads: Request[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/rest/v1/chat_conversation_list")) listReads.push(r);
  });

  const eva = { chat: 7_310_000 + Math.floor(Math.random() * 1000), name: `Eva ${run}` };
  const tom = { chat: eva.chat + 5000, name: `Tom ${run}` };
  expect(await deliver(id, token, eva.chat, eva.name, `hola ${run}, first`)).toBe(200);
  // a new conversation: at the top, unread, one unread message, and the navigation counts it
  await expect(firstRow(page)).toContainText(eva.name);
  await expect(firstRow(page).locator(".preview")).toHaveText(`hola ${run}, first`);
  await expect(firstRow(page)).toHaveAttribute("data-unread", "true");
  await expect(firstRow(page).getByTestId("unread-count")).toHaveText("1");
  await expect(page.getByTestId("nav-unread")).toHaveText(String(before + 1));

  expect(await deliver(id, token, tom.chat, tom.name, `tom here ${run}`)).toBe(200);
  await expect(firstRow(page)).toContainText(tom.name);
  const rows = inbox(page).locator("a[data-conversation-id]");
  await expect(rows.nth(1)).toContainText(eva.name);

  // a new message in a conversation below: its row moves back up with the new preview
  expect(await deliver(id, token, eva.chat, eva.name, `hola ${run}, second`)).toBe(200);
  await expect(firstRow(page)).toContainText(eva.name);
  await expect(firstRow(page).locator(".preview")).toHaveText(`hola ${run}, second`);
  await expect(firstRow(page).getByTestId("unread-count")).toHaveText("2");
  await expect(rows.nth(1)).toContainText(tom.name);
  await expect(page.getByTestId("nav-unread")).toHaveText(String(before + 2));
  // each conversation once (the overlap of the cursor repeats nothing on screen)
  await expect(inbox(page).getByText(eva.name, { exact: true })).toHaveCount(1);
  await shot(page, "live-inbox");
  expect(listReads.map((r) => r.url())).toEqual([]);

  // read: opening it marks it read, and the navigation counts one less
  await firstRow(page).click();
  await expect(page.getByRole("log", { name: "Messages" }).getByText(`hola ${run}, second`)).toBeVisible();
  await expect(page.getByTestId("nav-unread")).toHaveText(String(before + 1));

  // mark unread: the open conversation closes, its row is unread again with its count
  const evaRow = inbox(page).locator("li", { hasText: eva.name });
  await evaRow.getByRole("button", { name: `Mark ${eva.name} as unread` }).click();
  await expect(page).toHaveURL(/\/inbox$/);
  await expect(evaRow.locator("a")).toHaveAttribute("data-unread", "true");
  // the newest inbound message and what follows it: here the second of the two
  await expect(evaRow.getByTestId("unread-count")).toHaveText("1");
  await expect(page.getByTestId("nav-unread")).toHaveText(String(before + 2));

  // what the database says agrees
  const marker = (await serviceRest(
    `chat_conversation_read_markers?user_id=eq.${ALICE.id}&conversation_id=eq.${await evaRow.locator("a").getAttribute("data-conversation-id")}&select=last_read_at`,
  )) as { last_read_at: string }[];
  expect(marker).toHaveLength(1);
  expect(Date.parse(marker[0]!.last_read_at)).toBeLessThan(Date.now());
});

test("on a phone: the row arrives, the count shows in the top bar, Mark unread is at hand", async ({ page }) => {
  const phone = VIEWPORTS.find((v) => v.name === "phone")!;
  await page.setViewportSize({ width: phone.width, height: phone.height });
  const { id, token } = await telegramConnection();
  await signIn(page, ALICE.email);
  await expect(firstRow(page)).toBeVisible();
  await page.waitForResponse((r) => r.url().includes("/rpc/inbox_changes"));
  const before = await navCount(page);
  const zoe = { chat: 7_320_000 + Math.floor(Math.random() * 1000), name: `Zoe ${run}` };
  expect(await deliver(id, token, zoe.chat, zoe.name, `from the phone test ${run}`)).toBe(200);
  await expect(firstRow(page)).toContainText(zoe.name);
  await expect(firstRow(page)).toHaveAttribute("data-unread", "true");
  await expect(page.getByTestId("nav-unread")).toHaveText(String(before + 1));
  await expect(page.getByTestId("nav-unread")).toBeInViewport();
  await shot(page, "live-inbox-phone");

  await firstRow(page).click();
  await expect(page.getByRole("log", { name: "Messages" }).getByText(`from the phone test ${run}`)).toBeVisible();
  await expect(page.getByTestId("nav-unread")).toHaveText(String(before));
  await page.getByRole("link", { name: "Back to the conversations" }).click();
  const zoeRow = inbox(page).locator("li", { hasText: zoe.name });
  await zoeRow.getByRole("button", { name: `Mark ${zoe.name} as unread` }).click();
  await expect(zoeRow.locator("a")).toHaveAttribute("data-unread", "true");
  await expect(page.getByTestId("nav-unread")).toHaveText(String(before + 1));
});

test("a refused poll (429) backs off and the inbox still catches up", async ({ page }) => {
  const { id, token } = await telegramConnection();
  let refused = 0;
  // the first three polls after sign-in are refused as the store refuses a busy user
  await page.route("**/rest/v1/rpc/inbox_changes", async (route) => {
    const body = route.request().postDataJSON() as { since?: number } | null;
    if (body?.since !== undefined && refused < 3) {
      refused += 1;
      await route.fulfill({
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "1" },
        body: JSON.stringify({ code: "53400", hint: "too_many_requests", message: "too many requests" }),
      });
      return;
    }
    await route.continue();
  });
  await signIn(page, ALICE.email);
  await expect(firstRow(page)).toBeVisible();
  const ivy = { chat: 7_330_000 + Math.floor(Math.random() * 1000), name: `Ivy ${run}` };
  expect(await deliver(id, token, ivy.chat, ivy.name, `after the 429s ${run}`)).toBe(200);
  await expect(firstRow(page)).toContainText(ivy.name, { timeout: 30_000 });
  expect(refused).toBe(3);
});

test("more changes than one answer holds (an import): the inbox reads its list again", async ({ page }) => {
  // the order of events: list reads and the reload answer
  const events: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/rest/v1/chat_conversation_list")) events.push("list read");
  });
  // the database's answer when more than max_count rows changed, given once, for real rows
  await page.route("**/rest/v1/rpc/inbox_changes", async (route) => {
    const body = route.request().postDataJSON() as { since?: number } | null;
    if (body?.since === undefined || events.includes("reload")) return route.continue();
    const real = await route.fetch();
    const json = (await real.json()) as Record<string, unknown>;
    events.push("reload");
    await route.fulfill({ response: real, json: { ...json, conversations: [], reload: true } });
  });
  await signIn(page, ALICE.email);
  await expect(firstRow(page)).toBeVisible();
  await expect
    .poll(() => events.includes("reload") && events.slice(events.indexOf("reload") + 1).includes("list read"))
    .toBe(true);
  await expect(firstRow(page)).toBeVisible();
});

test("a hidden tab polls seldom, and at once when it shows again", async ({ page }) => {
  // the page's clock is Playwright's: the intervals are fast-forwarded, not waited for
  await page.clock.install();
  await signIn(page, ALICE.email);
  await expect(firstRow(page)).toBeVisible();
  const polls: number[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/rpc/inbox_changes")) polls.push(polls.length);
  });
  await page.clock.fastForward(2_100);
  await expect.poll(() => polls.length).toBeGreaterThan(0); // visible: every 2 s

  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await page.clock.fastForward(2_100); // the poll already scheduled, then the hidden pace
  await page.waitForTimeout(400);
  const settled = polls.length;
  for (let i = 0; i < 5; i++) {
    await page.clock.fastForward(5_000);
    await page.waitForTimeout(400); // a poll it started gets its answer (and would schedule the next)
  }
  expect(polls.length - settled).toBeLessThanOrEqual(1); // 25 s hidden: no 2 s polls

  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  const shown = polls.length;
  await page.clock.runFor(50);
  await expect.poll(() => polls.length).toBeGreaterThan(shown); // shown again: at once
});

// ---------------------------------------------------------------- the fold, without a browser

function row(id: string, minute: number, extra: Partial<ConversationListItem> = {}): ConversationListItem {
  return {
    id,
    last_message_at: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
    platform: "telegram",
    person_id: null,
    person: null,
    read: [],
    message_count: 1,
    ...extra,
  } as ConversationListItem;
}

const ALL = { platform: null, unlinkedOnly: false };

test("fold: a changed row leaves its place and takes its new one; pages keep their sizes", () => {
  const pages = [
    [row("e", 50), row("d", 40)],
    [row("c", 30), row("b", 20)],
  ];
  const out = foldChanges(pages, [row("b", 60)], ALL, 2)!;
  expect(out.map((p) => p.map((r) => r.id))).toEqual([
    ["b", "e"],
    ["d", "c"],
  ]);
  // a new conversation older than the loaded tail of a list with more pages waits for paging
  expect(
    foldChanges(pages, [row("a", 10)], ALL, 2)!
      .flat()
      .map((r) => r.id),
  ).toEqual(["e", "d", "c", "b"]);
  // ... but joins a list loaded to its end
  expect(
    foldChanges([[row("b", 20)]], [row("a", 10)], ALL, 2)!
      .flat()
      .map((r) => r.id),
  ).toEqual(["b", "a"]);
  // the same row twice (the cursor's overlap) is there once
  expect(
    foldChanges(out, [row("b", 60)], ALL, 2)!
      .flat()
      .map((r) => r.id),
  ).toEqual(["b", "e", "d", "c"]);
});

test("fold: filters hold; a row that leaves the filtered list asks for a re-read", () => {
  const pages = [[row("d", 40), row("c", 30)]];
  const wechat = { platform: "wechat" as const, unlinkedOnly: false };
  expect(
    foldChanges([[row("d", 40, { platform: "wechat" })]], [row("x", 90)], wechat, 50)!
      .flat()
      .map((r) => r.id),
  ).toEqual(["d"]);
  const unlinked = { platform: null, unlinkedOnly: true };
  expect(foldChanges(pages, [row("c", 70, { person_id: "p" })], unlinked, 50)).toBeNull();
  expect(foldChanges(pages, [], ALL, 50)).toBe(pages);
});
