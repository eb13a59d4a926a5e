// A person's timeline (every platform inline, paging both ways, search, open in thread), the
// export download and the erase with its confirmation, as a person uses them in Chromium.
import { readFile } from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import { ALICE, VIEWPORTS, ingest, serviceRest, shot, signIn } from "./fixtures";

const PLATFORMS = ["whatsapp", "telegram", "signal"] as const;
const PER_CONVERSATION = 150; // past the hot row's 100: older messages sit in archive chunks
const CODEWORD = "axolotlcrest";

interface Seeded {
  personId: string;
  name: string;
  /** [platform, message id] of every message, oldest first. */
  order: { platform: string; id: string; content: string }[];
}

/** A person of alice's with three conversations whose messages interleave over four days. */
async function seedPerson(name: string, perConversation: number): Promise<Seeded> {
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const [person] = (await serviceRest("people", {
    method: "POST",
    body: JSON.stringify({ user_id: ALICE.id, full_name: name, phone: "+34611000111" }),
  })) as { id: string }[];
  const personId = person!.id;
  const start = Date.now() - 4 * 24 * 3600_000;
  const order: Seeded["order"] = [];
  const messages: Record<string, unknown>[] = [];
  for (let i = 0; i < perConversation; i++) {
    PLATFORMS.forEach((platform, p) => {
      const id = `${run}-${platform}-${String(i).padStart(4, "0")}`;
      const content = i === 20 && platform === "telegram" ? `The ${CODEWORD} order number` : `${platform} message ${i}`;
      order.push({ platform, id, content });
      messages.push({
        platform,
        external_conversation_id: `${run}-${platform}`,
        participant_name: name,
        person_id: personId,
        id,
        direction: i % 4 === 0 ? "outbound" : "inbound",
        type: "text",
        content,
        sent_at: new Date(start + (i * 3 + p) * 7 * 60_000).toISOString(),
      });
    });
  }
  await ingest(ALICE.id, messages);
  return { personId, name, order };
}

async function openPerson(page: Page, personId: string) {
  await signIn(page, ALICE.email);
  await page.goto(`/people/${personId}`);
  await expect(page.getByRole("tab", { name: "Messages" })).toHaveAttribute("aria-selected", "true");
}

function timelineIds(page: Page): Promise<(string | null)[]> {
  return page
    .getByRole("list", { name: "Timeline" })
    .locator("[data-message-id]")
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-message-id")));
}

for (const viewport of VIEWPORTS) {
  test(`${viewport.name}: the timeline pages both ways, searches and opens a message in its thread`, async ({
    page,
  }) => {
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    const seeded = await seedPerson(`Tess Timeline ${viewport.name}`, PER_CONVERSATION);
    const ids = seeded.order.map((m) => m.id);
    await openPerson(page, seeded.personId);

    const timeline = page.getByRole("region", { name: "Messages with this person" });
    // the newest 50, oldest first, all three platforms inline with their marks
    await expect.poll(() => timelineIds(page)).toEqual(ids.slice(-50));
    for (const label of ["WhatsApp", "Telegram", "Signal"]) {
      await expect(timeline.getByRole("img", { name: label }).first()).toBeVisible();
    }
    await expect(timeline.locator(".timeline-item.outbound").first()).toContainText("You");
    await expect(timeline.locator(".timeline-day").first()).toBeAttached();
    await expect(page.getByRole("button", { name: "Newer messages" })).toBeDisabled();
    await shot(page, viewport.name === "desktop" ? "person-timeline" : "phone-person-timeline");

    // older pages reach into the archive chunks, newer ones come back
    await page.getByRole("button", { name: "Older messages" }).click();
    await expect.poll(() => timelineIds(page)).toEqual(ids.slice(-100, -50));
    await page.getByRole("button", { name: "Older messages" }).click();
    await expect.poll(() => timelineIds(page)).toEqual(ids.slice(-150, -100));
    await page.getByRole("button", { name: "Newer messages" }).click();
    await expect.poll(() => timelineIds(page)).toEqual(ids.slice(-100, -50));
    await page.getByRole("button", { name: "Newer messages" }).click();
    await expect.poll(() => timelineIds(page)).toEqual(ids.slice(-50));

    // a search within the person, and the hit opens its thread at that message
    await page.getByLabel("Search this person’s messages").fill(CODEWORD);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    const hit = timeline.getByRole("link", { name: new RegExp(CODEWORD) });
    await expect(hit).toHaveCount(1);
    await expect(hit.locator("mark")).toHaveText(CODEWORD);
    const target = seeded.order.find((m) => m.content.includes(CODEWORD))!;
    await hit.click();
    await expect(page).toHaveURL(new RegExp(`msg=${target.id}`));
    const message = page.getByRole("log", { name: "Messages" }).locator(`[data-message-id="${target.id}"]`);
    await expect(message).toHaveAttribute("aria-current", "true");
    await expect(message).toContainText(CODEWORD);
  });
}

test("Export data downloads everything stored about the person as JSON", async ({ page }) => {
  const seeded = await seedPerson("Eve Export", PER_CONVERSATION);
  await openPerson(page, seeded.personId);
  await page.getByRole("tab", { name: "Details" }).click();
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export data" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^person-eve-export-\d{4}-\d{2}-\d{2}\.json$/);
  const doc = JSON.parse(await readFile((await download.path())!, "utf8")) as {
    person: { id: string; full_name: string };
    conversations: { platform: string; messages: { id: string }[] }[];
  };
  expect(doc.person).toMatchObject({ id: seeded.personId, full_name: "Eve Export" });
  expect(doc.conversations.map((c) => c.platform).sort()).toEqual(["signal", "telegram", "whatsapp"]);
  const exported = doc.conversations.flatMap((c) => c.messages.map((m) => m.id));
  expect(exported.sort()).toEqual(seeded.order.map((m) => m.id).sort());
});

test("Erase asks for the person's name, then removes the person and their messages", async ({ page }) => {
  const seeded = await seedPerson("Ernie Erase", 5);
  await openPerson(page, seeded.personId);
  await page.getByRole("tab", { name: "Details" }).click();
  await page.getByRole("button", { name: "Erase this person…" }).click();
  const confirm = page.getByLabel("Type “Ernie Erase” to confirm");
  const erase = page.getByRole("button", { name: "Erase for good" });
  await expect(erase).toBeDisabled();
  await confirm.fill("Ernie");
  await expect(erase).toBeDisabled();
  await shot(page, "person-erase-confirm");
  await confirm.fill("Ernie Erase");
  await erase.click();
  await expect(page).toHaveURL(/\/people$/);
  expect(await serviceRest(`people?id=eq.${seeded.personId}&select=id`)).toEqual([]);
  expect(await serviceRest(`chat_conversation_list?person_id=eq.${seeded.personId}&select=id`)).toEqual([]);
  const left = (await serviceRest(
    `chat_conversation_list?user_id=eq.${ALICE.id}&external_conversation_id=like.${seeded.order[0]!.id.split("-")[0]}*&select=id`,
  )) as unknown[];
  expect(left).toEqual([]);
  await page.goto(`/people/${seeded.personId}`);
  await expect(page.getByText("No such person. It does not exist, or is not yours.")).toBeVisible();
});
