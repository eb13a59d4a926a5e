// The person picker suggests (issue 31 items 6 and 8, issue 27 item 5): a WhatsApp chat
// from a Brazilian number without its ninth digit, and two of alice's people with that
// number in its two spellings. Neither is linked by itself (two people, one customer); the
// picker opens with both on top, marked as matching the contact, and is a listbox the
// keyboard drives: the arrow keys move, Enter links, Escape closes. Linking records the
// number on the person, so alice's Signal chat from the other spelling links at once.
import { expect, test, type Page } from "@playwright/test";
import { ALICE, VIEWPORTS, ingest, serviceRest, shot, signIn } from "./fixtures";

const run = Date.now().toString(36);

/** A Brazilian mobile of its own per run and test (eight digits starting 6-9), in its two
 * spellings, so earlier runs' people never match it. */
function mobile(area: string, first: number) {
  const subscriber = `${first}${String(Date.now() % 10_000_000).padStart(7, "0")}`;
  return {
    jid: `55${area}${subscriber}@s.whatsapp.net`,
    withNine: `+55 ${area} 9${subscriber.slice(0, 4)}-${subscriber.slice(4)}`,
    withoutNine: `+55 ${area} ${subscriber.slice(0, 4)}-${subscriber.slice(4)}`,
    e164: `+55${area}9${subscriber}`,
  };
}

interface Person {
  id: string;
}

async function person(name: string, phone: string): Promise<string> {
  const [row] = (await serviceRest("people", {
    method: "POST",
    body: JSON.stringify({ user_id: ALICE.id, full_name: name }),
  })) as Person[];
  await serviceRest("person_identifiers", {
    method: "POST",
    body: JSON.stringify({ user_id: ALICE.id, person_id: row!.id, kind: "phone", value: phone }),
  });
  return row!.id;
}

async function conversation(platform: string, participant: string, name: string): Promise<string> {
  const out = (await ingest(ALICE.id, [
    {
      platform,
      external_conversation_id: `picker-${platform}-${run}`,
      id: `picker-${platform}-${run}-1`,
      direction: "inbound",
      type: "text",
      content: `Olá, é a ${name}`,
      sent_at: new Date().toISOString(),
      participant_identifier: participant,
      participant_name: name,
    },
  ])) as { conversations: { id: string; person_id: string | null }[] };
  return out.conversations[0]!.id;
}

async function openPicker(page: Page, conversationId: string) {
  await signIn(page, ALICE.email);
  await page.goto(`/inbox/${conversationId}`);
  const picker = page.locator(".thread-header").getByRole("combobox", { name: "Link to person" });
  await picker.click();
  const list = page.getByRole("listbox", { name: "People" });
  await expect(list).toBeVisible();
  return { picker, list };
}

test("the picker opens with the people whose number matches, and the keyboard links one", async ({ page }) => {
  const phone = mobile("11", 8);
  const nine = await person(`Ana Souza ${run}`, phone.withNine);
  const eight = await person(`Ana S. old phone ${run}`, phone.withoutNine);
  const whatsapp = await conversation("whatsapp", phone.jid, `Ana ${run}`);
  const { picker, list } = await openPicker(page, whatsapp);

  // both people of the number first, marked; neither was linked by itself
  const options = list.getByRole("option");
  await expect(options.nth(0)).toContainText(`Ana S. old phone ${run}`);
  await expect(options.nth(1)).toContainText(`Ana Souza ${run}`);
  await expect(options.nth(0)).toContainText("matches this contact");
  await expect(options.nth(1)).toContainText("matches this contact");
  await expect(options.nth(2)).not.toContainText("matches this contact");
  // the first option is the active one, announced through aria-activedescendant
  await expect(options.nth(0)).toHaveAttribute("aria-selected", "true");
  await expect(picker).toHaveAttribute("aria-activedescendant", (await options.nth(0).getAttribute("id"))!);
  await shot(page, "picker-suggests");

  // arrow keys move through the options (and wrap), Escape closes, a key opens again
  await picker.press("ArrowDown");
  await expect(options.nth(1)).toHaveAttribute("aria-selected", "true");
  await expect(options.nth(0)).toHaveAttribute("aria-selected", "false");
  await picker.press("ArrowUp");
  await picker.press("ArrowUp");
  await expect(options.last()).toHaveAttribute("aria-selected", "true");
  await picker.press("Escape");
  await expect(list).toBeHidden();
  await expect(picker).toHaveAttribute("aria-expanded", "false");
  await picker.press("ArrowDown");
  await expect(list).toBeVisible();
  await expect(options.nth(0)).toHaveAttribute("aria-selected", "true");
  await picker.press("ArrowDown");
  await picker.press("Enter");

  // Enter linked the second suggestion
  const header = page.locator(".thread-header");
  await expect(header.getByRole("link", { name: `Ana Souza ${run}` })).toBeVisible();
  const rows = (await serviceRest(`chat_conversations?id=eq.${whatsapp}&select=person_id`)) as {
    person_id: string;
  }[];
  expect(rows[0]!.person_id).toBe(nine);
  expect(eight).not.toBe(nine);

  // typing narrows the names; the match stays on top
  await header.getByRole("button", { name: "Unlink" }).click();
  await picker.fill(`Souza ${run}`);
  await expect(options).toHaveCount(1);
  await expect(options.first()).toContainText("matches this contact");
  await picker.fill(`nobody ${run}`);
  await expect(page.getByText(`No person matches “nobody ${run}”.`)).toBeVisible();
});

test("linking records the number: the chat from its other spelling links at once", async ({ page }) => {
  const phone = mobile("31", 7);
  const whatsapp = await conversation("whatsapp", phone.withNine, `Bia ${run}`);
  const signal = await conversation("signal", phone.withoutNine, `Bia ${run}`);
  const [created] = (await serviceRest("people", {
    method: "POST",
    body: JSON.stringify({ user_id: ALICE.id, full_name: `Bia ${run}` }),
  })) as Person[];
  const { picker, list } = await openPicker(page, whatsapp);
  await picker.fill(`Bia ${run}`);
  await expect(list.getByRole("option")).toHaveCount(1);
  // a click on the option links as Enter does
  await list.getByRole("option", { name: new RegExp(`Bia ${run}`) }).click();
  await expect(page.locator(".thread-header").getByRole("link", { name: `Bia ${run}` })).toBeVisible();
  const rows = (await serviceRest(`chat_conversations?id=in.(${whatsapp},${signal})&select=id,person_id`)) as {
    id: string;
    person_id: string;
  }[];
  expect(rows.map((r) => r.person_id)).toEqual([created!.id, created!.id]);
  const identifiers = (await serviceRest(
    `person_identifiers?person_id=eq.${created!.id}&select=kind,platform,value`,
  )) as unknown[];
  expect(identifiers).toEqual([{ kind: "phone", platform: null, value: phone.e164 }]);
});

test("on a phone the suggestions fit the screen and take a tap", async ({ page }) => {
  const screen = VIEWPORTS.find((v) => v.name === "phone")!;
  await page.setViewportSize({ width: screen.width, height: screen.height });
  const phone = mobile("21", 9);
  await person(`Caio Lima ${run}`, phone.withNine);
  const whatsapp = await conversation("whatsapp", phone.withoutNine, `Caio ${run}`);
  // one person of the number: linked at ingest; unlink to choose again
  await signIn(page, ALICE.email);
  await page.goto(`/inbox/${whatsapp}`);
  const header = page.locator(".thread-header");
  await header.getByRole("button", { name: "Unlink" }).click();
  await header.getByRole("combobox", { name: "Link to person" }).click();
  const list = page.getByRole("listbox", { name: "People" });
  const first = list.getByRole("option").first();
  await expect(first).toContainText(`Caio Lima ${run}`);
  await expect(first).toContainText("matches this contact");
  const box = (await list.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(screen.width);
  expect((await first.boundingBox())!.height).toBeGreaterThanOrEqual(40);
  await shot(page, "phone-picker-suggests");
  await first.click();
  await expect(page.locator(".thread-header").getByRole("link", { name: `Caio Lima ${run}` })).toBeVisible();
});
