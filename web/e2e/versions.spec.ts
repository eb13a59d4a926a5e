// Edits as versions and the delete setting (issue 28 item 6), used as a person does: alice
// opens a thread whose messages were edited (the edits stored through ingest_messages, as
// the function stores a platform's edit) and deleted (through ingest_webhook_delivery, as
// the function applies a platform's delete), clicks "edited" to read the earlier versions,
// and on the Connections page chooses to keep the text of deleted messages, then to erase
// it again. The conversation is dated 2019, below the other specs' conversations; alice's
// setting is back to the default (no row) after the spec.
import { expect, test, type Page } from "@playwright/test";
import { ALICE, VIEWPORTS, ingest, serviceRest, shot, signIn } from "./fixtures";

const run = Date.now().toString(36);
const ext = `e2e-versions-${run}`;
const conversation = {
  platform: "telegram",
  external_conversation_id: ext,
  participant_name: `Edits ${run}`,
  participant_identifier: `edits_${run}`,
  conversation_type: "direct",
};
const at = (minutes: number) => new Date(Date.parse("2019-05-06T09:00:00Z") + minutes * 60_000).toISOString();
const text = (id: string, content: string, minutes: number, extra: Record<string, unknown> = {}) => ({
  ...conversation,
  id,
  direction: "inbound",
  type: "text",
  content,
  sent_at: at(minutes),
  ...extra,
});

let connectionId = "";

async function deliverDelete(id: string, minutes: number): Promise<void> {
  const answer = (await serviceRest("rpc/ingest_webhook_delivery", {
    method: "POST",
    body: JSON.stringify({
      payload: {
        connection_id: connectionId,
        platform: "telegram",
        messages: [],
        updates: [{ kind: "delete", platform: "telegram", external_conversation_id: ext, id, at: at(minutes) }],
      },
    }),
  })) as { updates: { applied: number } };
  expect(answer.updates.applied).toBe(1);
}

async function resetSetting(): Promise<void> {
  await serviceRest(`messaging_settings?user_id=eq.${ALICE.id}`, { method: "DELETE" });
}

test.beforeAll(async () => {
  await resetSetting();
  connectionId = String(
    await serviceRest("rpc/add_messaging_connection", {
      method: "POST",
      body: JSON.stringify({
        platform: "telegram",
        account_identifier: `e2e_versions_${run}_bot`,
        secrets: { secret_token: `e2e-versions-${run}` },
        user_id: ALICE.id,
      }),
    }),
  );
  await ingest(ALICE.id, [
    text("v-hello", "Hola, ¿tenéis cajas de 40 cm?", 0),
    text("v-order", "Quiero 3 cajas", 1),
    text("v-address", "Mi dirección es Calle Mayor 5", 2),
    text("v-phone", "Llámame al 600 111 222", 3),
    text("v-thanks", "Gracias", 4, { direction: "outbound" }),
  ]);
  // the customer edits twice (each edit a call of its own, as the platform sends them)
  await ingest(ALICE.id, [text("v-order", "Quiero 4 cajas", 1, { edited_at: at(6) })]);
  await ingest(ALICE.id, [text("v-order", "Quiero 5 cajas, por favor", 1, { edited_at: at(9) })]);
  await ingest(ALICE.id, [text("v-address", "Mi dirección es Calle Mayor 7", 2, { edited_at: at(7) })]);
  // deleted while alice erases deleted text (the default): only the marker stays
  await deliverDelete("v-phone", 10);
});

test.afterAll(async () => {
  await resetSetting();
  if (connectionId) await serviceRest(`messaging_connections?id=eq.${connectionId}`, { method: "DELETE" });
});

async function openThread(page: Page): Promise<void> {
  const rows = (await serviceRest(
    `chat_conversation_list?user_id=eq.${ALICE.id}&external_conversation_id=eq.${ext}&select=id`,
  )) as { id: string }[];
  expect(rows).toHaveLength(1);
  await page.goto(`/inbox/${rows[0]!.id}`);
  await expect(page.getByRole("log", { name: "Messages" }).getByText("Gracias")).toBeVisible();
}

const message = (page: Page, id: string) => page.locator(`[data-message-id="${id}"]`);

async function chooseSetting(page: Page, keep: boolean): Promise<void> {
  await page.goto("/connections");
  const section = page.getByRole("region", { name: "Deleted messages" });
  await section.getByRole("radio", { name: keep ? /Keep the text/ : /Erase the text/ }).check();
  if (!keep) await expect(section.getByRole("note")).toContainText("erases the text every deleted message kept");
  await section.getByRole("button", { name: keep ? "Save" : "Save and erase kept texts", exact: true }).click();
  await expect(section.getByRole("status")).toHaveText("Saved.");
  await expect(section.getByRole("radio", { name: keep ? /Keep the text/ : /Erase the text/ })).toBeChecked();
}

test("desktop: edited opens the earlier versions; the delete setting keeps, then erases, deleted text", async ({
  page,
}) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page, ALICE.email);

  // the default: erase, explained where the connections are
  await page.goto("/connections");
  const section = page.getByRole("region", { name: "Deleted messages" });
  await expect(section.getByRole("radio", { name: /Erase the text/ })).toBeChecked();
  await expect(section.getByRole("button", { name: "Save", exact: true })).toBeDisabled();
  await chooseSetting(page, true);
  // the customer deletes the edited address: kept now, with its earlier version
  await deliverDelete("v-address", 11);

  await openThread(page);
  const order = message(page, "v-order");
  await expect(order).toContainText("Quiero 5 cajas, por favor");
  const edited = order.getByRole("button", { name: /edited/ });
  await expect(edited).toHaveAttribute("aria-expanded", "false");
  await edited.click();
  await expect(edited).toHaveAttribute("aria-expanded", "true");
  const versions = order.getByRole("region", { name: "Earlier versions" });
  await expect(versions.getByRole("listitem")).toHaveText([/Quiero 3 cajas/, /Quiero 4 cajas/, /now\s*Quiero 5 cajas/]);
  // each with its time, in the viewer's zone (Europe/Madrid: 11:01 and 11:06 on 6 May 2019)
  await expect(versions.getByRole("listitem").first().locator("time")).toHaveAttribute(
    "datetime",
    at(1).replace(".000Z", "Z"),
  );
  await expect(versions.getByRole("listitem").first()).toContainText("11:01");
  await expect(versions.getByRole("listitem").nth(1)).toContainText("11:06");

  // the deleted address: the marker, the kept text struck through, its version on request
  const address = message(page, "v-address");
  await expect(address).toContainText("This message was deleted");
  await expect(address.locator("del")).toHaveText("Mi dirección es Calle Mayor 7");
  await address.getByRole("button", { name: /edited/ }).click();
  const addressVersions = address.getByRole("region", { name: "Earlier versions" });
  await expect(addressVersions.getByRole("listitem")).toHaveText([
    /Mi dirección es Calle Mayor 5/,
    /when deleted\s*Mi dirección es Calle Mayor 7/,
  ]);
  // deleted before the setting: the text was erased then, and stays erased
  const phone = message(page, "v-phone");
  await expect(phone).toContainText("This message was deleted");
  await expect(phone).not.toContainText("600 111 222");
  await expect(phone.locator("del")).toHaveCount(0);
  // a message never edited has no mark
  await expect(message(page, "v-hello").getByText("edited")).toHaveCount(0);
  await shot(page, "versions-thread");

  // back to erasing: it asks first, then the kept text and versions are gone from the thread
  await chooseSetting(page, false);
  await openThread(page);
  await expect(address).toContainText("This message was deleted");
  await expect(address).not.toContainText("Calle Mayor");
  await expect(address.getByRole("button", { name: /edited/ })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("phone: the earlier versions open inside the screen", async ({ page }) => {
  const phone = VIEWPORTS.find((v) => v.name === "phone")!;
  await page.setViewportSize({ width: phone.width, height: phone.height });
  await signIn(page, ALICE.email);
  await openThread(page);
  const order = message(page, "v-order");
  await order.getByRole("button", { name: /edited/ }).click();
  const versions = order.getByRole("region", { name: "Earlier versions" });
  await expect(versions).toContainText("Quiero 3 cajas");
  const box = await versions.boundingBox();
  expect(box).not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(phone.width);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phone.width);
  await shot(page, "versions-thread-phone");

  // the setting on a phone: the section and its choices fit too
  await page.goto("/connections");
  const section = page.getByRole("region", { name: "Deleted messages" });
  await section.scrollIntoViewIfNeeded();
  await expect(section.getByRole("radio", { name: /Keep the text/ })).toBeVisible();
  const sbox = await section.boundingBox();
  expect(sbox!.x + sbox!.width).toBeLessThanOrEqual(phone.width);
  await shot(page, "versions-settings-phone");
});
