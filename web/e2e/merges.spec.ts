// Merges as a person uses them (issue 27, item 4): from the contact panel, the suggested
// duplicate of a conversation, its preview (what moves, the span, what is already there),
// the merge, and Undo from the record, at a laptop's and a phone's size; from the person
// page, two people who are one merged through the picker and undone. The store is checked
// through the service key after each step.
import { expect, test, type Page } from "@playwright/test";
import { ALICE, VIEWPORTS, ingest, serviceRest, shot, signIn } from "./fixtures";

async function conversationIds(externalIds: string[]): Promise<Record<string, number>> {
  const rows = (await serviceRest(
    `chat_conversation_list?user_id=eq.${ALICE.id}&platform=eq.whatsapp&external_conversation_id=in.(${externalIds
      .map((e) => `"${encodeURIComponent(e)}"`)
      .join(",")})&select=external_conversation_id,message_count`,
  )) as { external_conversation_id: string; message_count: number }[];
  return Object.fromEntries(rows.map((r) => [r.external_conversation_id, r.message_count]));
}

async function idOf(externalId: string): Promise<string> {
  const rows = (await serviceRest(
    `chat_conversation_list?user_id=eq.${ALICE.id}&platform=eq.whatsapp&external_conversation_id=eq.${encodeURIComponent(externalId)}&select=id`,
  )) as { id: string }[];
  expect(rows).toHaveLength(1);
  return rows[0]!.id;
}

/** Nothing on the page is wider than the screen. */
async function expectNoSidewaysOverflow(page: Page): Promise<void> {
  const width = page.viewportSize()!.width;
  const widest = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(widest).toBeLessThanOrEqual(width);
}

for (const vp of VIEWPORTS) {
  test.describe(`${vp.name} ${vp.width}x${vp.height}`, () => {
    test.use({ viewport: { width: vp.width, height: vp.height } });

    test("merge two conversations of one customer from the contact panel, with the preview, then undo", async ({
      page,
    }) => {
      const digits = `3462${String(Date.now()).slice(-7)}`;
      const keepExt = `+${digits}`;
      const name = `Marta ${vp.name} ${digits}`;
      const base = Date.now() - 3 * 3600_000;
      const at = (min: number) => new Date(base + min * 60_000).toISOString();
      await ingest(ALICE.id, [
        ...[0, 2, 4].map((m) => ({
          platform: "whatsapp",
          external_conversation_id: keepExt,
          participant_identifier: keepExt,
          participant_name: name,
          id: `k${m}`,
          direction: "inbound",
          type: "text",
          content: `keep side ${m}`,
          sent_at: at(m),
        })),
        // the same customer under WhatsApp's bare number: two messages, one of them a copy
        ...[1, 3].map((m) => ({
          platform: "whatsapp",
          external_conversation_id: digits,
          participant_name: name,
          id: `o${m}`,
          direction: "inbound",
          type: "text",
          content: `other side ${m}`,
          sent_at: at(m),
        })),
        {
          platform: "whatsapp",
          external_conversation_id: digits,
          id: "k2",
          direction: "inbound",
          type: "text",
          content: "keep side 2",
          sent_at: at(2),
        },
      ]);
      const keepId = await idOf(keepExt);
      await signIn(page, ALICE.email);
      await page.goto(`/inbox/${keepId}`);
      await page.getByRole("button", { name: "Contact" }).click();
      const panel = page.getByRole("complementary", { name: "Contact" });
      // the store suggests the other conversation; nothing is merged by that
      const suggestions = panel.getByRole("region", { name: "Possible duplicates" });
      await suggestions.getByRole("button", { name: `Review merge with ${name}` }).click();
      const preview = panel.getByRole("region", { name: "What moves" });
      await expect(preview).toContainText(`2 messages move in from ${digits}`);
      await expect(preview).toContainText("1 already here (kept once)");
      await expect(preview).toContainText("will hold 5 messages");
      expect(await conversationIds([keepExt, digits])).toEqual({ [keepExt]: 3, [digits]: 3 });
      await preview.scrollIntoViewIfNeeded();
      await expectNoSidewaysOverflow(page);
      await shot(page, vp.name === "desktop" ? "merge-preview" : "merge-preview-phone");

      await preview.getByRole("button", { name: "Merge 2 messages" }).click();
      await expect(panel.getByRole("status")).toContainText("Merged: 2 messages moved in, 1 already here");
      expect(await conversationIds([keepExt, digits])).toEqual({ [keepExt]: 5 });
      const thread = page.getByRole("log", { name: "Messages" });
      await expect(thread.getByText("other side 3")).toBeVisible();
      const record = panel.getByRole("region", { name: "Merges" });
      await expect(record).toContainText(`2 messages moved from ${name}`);

      await record.getByRole("button", { name: "Undo merge" }).click();
      await expect(record.getByRole("status")).toContainText("Merge undone: 3 messages are back in their conversation");
      await expect(record).toContainText("undone");
      await expect(record.getByRole("button", { name: "Undo merge" })).toHaveCount(0);
      expect(await conversationIds([keepExt, digits])).toEqual({ [keepExt]: 3, [digits]: 3 });
      await expect(thread.getByText("other side 3")).toHaveCount(0);
      await expect(thread.getByText("keep side 4")).toBeVisible();
    });
  });
}

test("merge two people who are one from the person page, with the preview, then undo", async ({ page }) => {
  const run = Date.now().toString(36);
  const phone = `+3463${String(Date.now()).slice(-7)}`;
  const [keep, other] = (await serviceRest("people", {
    method: "POST",
    body: JSON.stringify([
      { user_id: ALICE.id, full_name: `Lucía Ortega ${run}` },
      { user_id: ALICE.id, full_name: `Lucía O. Signal ${run}` },
    ]),
  })) as { id: string }[];
  await serviceRest("person_identifiers", {
    method: "POST",
    body: JSON.stringify([
      { user_id: ALICE.id, person_id: other!.id, kind: "phone", value: phone },
      { user_id: ALICE.id, person_id: other!.id, kind: "username", value: `lucia_${run}` },
    ]),
  });
  await ingest(ALICE.id, [
    {
      platform: "telegram",
      external_conversation_id: `lucia_${run}`,
      participant_identifier: `lucia_${run}`,
      participant_name: "Lucía",
      person_id: other!.id,
      id: "t1",
      direction: "inbound",
      type: "text",
      content: "hola",
      sent_at: new Date(Date.now() - 3600_000).toISOString(),
    },
  ]);
  await signIn(page, ALICE.email);
  await page.goto(`/people/${keep!.id}`);
  await page.getByRole("button", { name: "Merge with another person" }).click();
  const dialog = page.getByRole("dialog", { name: /Merge another person into/ });
  await dialog.getByRole("combobox", { name: "The other person" }).fill(`Lucía O. Signal ${run}`);
  await dialog
    .getByRole("listbox", { name: "People" })
    .getByRole("option", { name: new RegExp(`Lucía O\\. Signal ${run}`) })
    .click();
  const preview = dialog.getByRole("region", { name: "What moves" });
  await expect(preview).toContainText("2 identifiers and 1 conversations (1 messages");
  await shot(page, "merge-people-preview");
  await preview.getByRole("button", { name: `Merge Lucía O. Signal ${run} into this person` }).click();
  await expect(page.getByRole("status").filter({ hasText: "Merged:" })).toContainText(
    "2 identifiers and 1 conversations moved",
  );
  const moved = (await serviceRest(`person_identifiers?person_id=eq.${keep!.id}&select=value`)) as unknown[];
  expect(moved).toHaveLength(2);
  // the conversation now shows under the kept person
  await expect(page.getByRole("list", { name: "Conversations with this person" })).toContainText("Lucía");
  // the merged-away person stays, and their page says where they went
  await page.goto(`/people/${other!.id}`);
  await expect(page.getByRole("region", { name: "Merges" })).toContainText(
    `Merged into Lucía Ortega ${run}: 2 identifiers and 1 conversations moved there`,
  );
  await page.goto(`/people/${keep!.id}`);
  const record = page.getByRole("region", { name: "Merges" });
  await record.getByRole("button", { name: "Undo merge" }).click();
  await expect(record.getByRole("status")).toContainText("2 identifiers and 1 conversations are back");
  expect((await serviceRest(`person_identifiers?person_id=eq.${other!.id}&select=value`)) as unknown[]).toHaveLength(2);
  const conv = (await serviceRest(
    `chat_conversation_list?user_id=eq.${ALICE.id}&external_conversation_id=eq.lucia_${run}&select=person_id`,
  )) as { person_id: string }[];
  expect(conv[0]?.person_id).toBe(other!.id);
});
