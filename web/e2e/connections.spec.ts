// The connections screen as a person uses it with a live platform (issue 30, item 6): the
// platform's deliveries are sent to the real messaging-ingest function through nginx, as
// Telegram sends them (its secret token in a header). Rotate and the new secret works at
// once, the old one is refused and counted; refusals by reason with their time; the last
// error with when it happened, then marked as past after a stored delivery; Pause asks first,
// says what happens to deliveries, and counts what it dropped.
import { expect, test, type Locator, type Page } from "@playwright/test";
import { ALICE, serviceRest, shot, signIn } from "./fixtures";
import { readStackEnv } from "./stack-env";

const run = Date.now().toString(36);
let update = 0;

/** A Telegram update to the connection, with the given secret token: the function's status. */
async function deliver(connectionId: string, token: string): Promise<number> {
  update += 1;
  const env = readStackEnv();
  const res = await fetch(`${env.API_URL}/functions/v1/messaging-ingest/telegram/${connectionId}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": token },
    body: JSON.stringify({
      update_id: update,
      message: {
        message_id: update,
        from: { id: 8880001, is_bot: false, first_name: "Eva" },
        chat: { id: 8880001, first_name: "Eva", type: "private" },
        date: Math.floor(Date.now() / 1000) - 60,
        text: `hola ${run} ${update}`,
      },
    }),
  });
  await res.body?.cancel();
  return res.status;
}

async function openConnections(page: Page): Promise<void> {
  await signIn(page, ALICE.email);
  await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Connections" }).click();
}

async function addTelegram(page: Page, account: string): Promise<{ row: Locator; id: string; secret: string }> {
  await page.getByLabel("Platform").selectOption("telegram");
  await page.getByLabel("Account").fill(account);
  await page.getByRole("button", { name: "Add connection" }).click();
  const issued = page.getByRole("status", { name: "New webhook secrets" });
  const secret = (await issued.getByTestId("issued-secret_token").textContent()) ?? "";
  const url = (await issued.getByTestId("issued-webhook-url").textContent()) ?? "";
  const id = url.split("/").at(-1) ?? "";
  await issued.getByRole("button", { name: "I have saved them" }).click();
  const row = page.locator(`tr[data-connection-id="${id}"]`);
  await expect(row).toBeVisible();
  return { row, id, secret };
}

test("rotate: the new secret is shown, works at once, and the old one is refused and counted", async ({ page }) => {
  await openConnections(page);
  const { row, id, secret } = await addTelegram(page, `e2e_rotate_${run}_bot`);
  expect(await deliver(id, secret)).toBe(200);

  await row.getByRole("button", { name: "Rotate secrets" }).click();
  await row
    .getByRole("alertdialog", { name: "Rotate the secrets?" })
    .getByRole("button", { name: "Rotate now" })
    .click();
  // shown on its own, in a full-width row under the connection's
  const notice = page.locator(`tr[data-issued-for="${id}"]`).getByRole("status", { name: "New webhook secrets" });
  const rotated = (await notice.getByTestId("issued-secret_token").textContent()) ?? "";
  expect(rotated).toMatch(/^[0-9a-f]{64}$/);
  expect(rotated).not.toBe(secret);
  await expect(notice).toContainText("The new secrets work at once. The old ones stop at once");
  await shot(page, "connections-rotated");
  // the platform switched over at once; a delivery still signed with the old token is refused
  expect(await deliver(id, rotated)).toBe(200);
  expect(await deliver(id, secret)).toBe(401);
  await notice.getByRole("button", { name: "I have saved them" }).click();

  await page.reload();
  const refused = row.getByLabel("Refused deliveries");
  await expect(refused).toContainText(/^1, last .*(now|sec).* \(bad signature or token\)/);
  await expect(refused.getByRole("list", { name: "Refusals by reason" })).toHaveText("bad signature or token: 1");
  const error = row.getByLabel("Last error");
  await expect(error.locator("[data-state]")).toHaveAttribute("data-state", "current");
  await expect(error).toContainText("Secret-Token: missing or wrong"); // the reason, named
  await expect(error).toContainText(/happened .*(now|sec)/);
  await shot(page, "connections-refusals");

  // the platform's next delivery is stored: the error stays, marked as past
  expect(await deliver(id, rotated)).toBe(200);
  await page.reload();
  await expect(error.locator("[data-state]")).toHaveAttribute("data-state", "past");
  await expect(error.locator(".badge")).toHaveText("past");
  await expect(error).toContainText("deliveries stored since");
  await shot(page, "connections-error-past");

  page.once("dialog", (d) => void d.accept());
  await row.getByRole("button", { name: "Delete" }).click();
  await expect(row).toHaveCount(0);
});

test("pause asks first, says deliveries are dropped, and counts what it dropped", async ({ page }) => {
  await openConnections(page);
  const { row, id, secret } = await addTelegram(page, `e2e_pause_${run}_bot`);

  await row.getByRole("button", { name: "Pause" }).click();
  const confirm = row.getByRole("alertdialog", { name: "Pause this connection?" });
  await expect(confirm).toContainText("dropped: not stored, now or after you resume");
  await expect(confirm).toContainText("the platform does not send them again");
  await shot(page, "connections-pause-confirm");
  // changing one's mind changes nothing
  await confirm.getByRole("button", { name: "Keep it active" }).click();
  await expect(confirm).toHaveCount(0);
  await expect(row.locator(".badge").first()).toHaveText("active");

  await row.getByRole("button", { name: "Pause" }).click();
  await row.getByRole("button", { name: "Pause and drop deliveries" }).click();
  await expect(row.locator(".badge").first()).toHaveText("paused");
  expect(await deliver(id, secret)).toBe(200);
  expect(await deliver(id, secret)).toBe(200);
  await page.reload();
  await expect(row.getByLabel("Dropped while paused")).toContainText(/^2 deliveries dropped while paused, last /);
  await expect(row).toContainText("deliveries are answered and dropped, not stored");
  await shot(page, "connections-paused-dropped");
  const stored = (await serviceRest(
    `chat_conversations?user_id=eq.${ALICE.id}&connection_id=eq.${id}&select=id`,
  )) as unknown[];
  expect(stored).toHaveLength(0);

  await row.getByRole("button", { name: "Resume" }).click();
  await expect(row.locator(".badge").first()).toHaveText("active");
  expect(await deliver(id, secret)).toBe(200);
  page.once("dialog", (d) => void d.accept());
  await row.getByRole("button", { name: "Delete" }).click();
  await expect(row).toHaveCount(0);
});
