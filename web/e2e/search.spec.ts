// Search that finds the contact (issue 31), as a person uses it: a typed name lists that
// contact first and the conversations page past 20; every filter applies together and
// stays in the URL through a reload and back / forward; the open hit is marked; a hit
// only through the sender's name is grouped below; a media hit says its kind and file.
import { expect, test, type Page } from "@playwright/test";
import { ALICE, VIEWPORTS, ingest, serviceRest, shot, signIn } from "./fixtures";

const run = Date.now().toString(36);
const family = `Ranking ${run} Contact`;

test.beforeAll(async () => {
  // 200 contacts "Ranking <run> Contact N", one old message each (below everything in the
  // inbox), N = 42 the oldest of them: recency alone would list it last
  const start = Date.parse("2021-03-01T09:00:00Z");
  await ingest(
    ALICE.id,
    Array.from({ length: 200 }, (_, n) => ({
      platform: "telegram",
      external_conversation_id: `e2e-rank-${run}-${n}`,
      participant_name: `${family} ${n}`,
      id: `r${n}`,
      direction: "inbound",
      type: "text",
      content: `greetings number ${n}`,
      sent_at: new Date(start + (n === 42 ? 0 : n + 1) * 60_000).toISOString(),
    })),
  );
});

async function rowTitles(page: Page): Promise<string[]> {
  return page
    .getByRole("list", { name: "Matching conversations" })
    .locator(".row-title")
    .evaluateAll((els) => els.map((e) => e.textContent ?? ""));
}

for (const vp of VIEWPORTS) {
  test(`${vp.name}: typing a name lists that contact first, and the conversations page past 20`, async ({ page }) => {
    await page.setViewportSize({ width: vp.width, height: vp.height });
    await signIn(page, ALICE.email);
    const box = page.getByLabel("Search messages");
    await box.fill(`${family} 42`);
    const named = page.getByRole("list", { name: "Matching conversations" });
    await expect(named.getByRole("link")).toHaveCount(2);
    expect(await rowTitles(page)).toEqual([`${family} 42`, `${family} 142`]);
    if (vp.name === "phone") await shot(page, "phone-search-contact");

    // all 200, 20 at a time: none twice, none skipped
    await box.fill(family);
    await expect(named.getByRole("link")).toHaveCount(20);
    await expect(page.getByTestId("conversation-hit-count")).toContainText("first 20");
    for (let shown = 40; shown <= 200; shown += 20) {
      await page.getByRole("button", { name: "Show more conversations" }).click();
      await expect(named.getByRole("link")).toHaveCount(shown);
    }
    await expect(page.getByRole("button", { name: "Show more conversations" })).toBeHidden();
    await expect(page.getByTestId("conversation-hit-count")).toContainText("(200)");
    const titles = await rowTitles(page);
    expect(new Set(titles).size).toBe(200);
  });
}

test("every filter applies together and stays in the URL through a reload and back / forward", async ({ page }) => {
  const word = `fq${run}`;
  const person = (
    (await serviceRest("people", {
      method: "POST",
      body: JSON.stringify({ user_id: ALICE.id, full_name: `Filter Person ${run}` }),
    })) as { id: string }[]
  )[0]!.id;
  const at = (day: number, hour: number) => new Date(Date.UTC(2022, 4, day, hour)).toISOString();
  const m = (ext: string, id: string, platform: string, direction: string, sent_at: string, extra = {}) => ({
    platform,
    external_conversation_id: `e2e-filter-${run}-${ext}`,
    participant_name: `Filter ${ext} ${run}`,
    id,
    direction,
    type: "text",
    content: `order ${word} ${id}`,
    sent_at,
    ...extra,
  });
  await ingest(ALICE.id, [
    m("linked", "tg-linked-out", "telegram", "outbound", at(10, 10), { person_id: person }),
    m("free", "tg-free-out", "telegram", "outbound", at(10, 11)),
    m("free", "tg-free-in", "telegram", "inbound", at(10, 12)),
    m("free", "tg-free-out-late", "telegram", "outbound", at(20, 12)),
    m("wa", "wa-free-out", "whatsapp", "outbound", at(10, 13)),
  ]);
  await signIn(page, ALICE.email);
  await page.getByLabel("Search messages").fill(word);
  const hits = page.getByRole("list", { name: "Search results" }).getByRole("link");
  await expect(hits).toHaveCount(5);

  await page.getByLabel("Platform").selectOption("telegram");
  await page.getByLabel("Not linked to a person").check();
  await page.getByLabel("Direction").selectOption("outbound");
  await page.getByLabel("From", { exact: true }).fill("2022-05-10");
  await page.getByLabel("To", { exact: true }).fill("2022-05-10");
  await expect(hits).toHaveCount(1);
  await expect(hits.first()).toHaveAttribute("data-message-id", "tg-free-out");
  await shot(page, "search-filters");

  const url = new URL(page.url());
  expect(Object.fromEntries(url.searchParams)).toEqual({
    q: word,
    platform: "telegram",
    linked: "unlinked",
    dir: "outbound",
    from: "2022-05-10",
    to: "2022-05-10",
  });

  // a reload keeps the query and every filter, and the same one hit
  await page.reload();
  await expect(page.getByLabel("Search messages")).toHaveValue(word);
  await expect(page.getByLabel("Platform")).toHaveValue("telegram");
  await expect(page.getByLabel("Not linked to a person")).toBeChecked();
  await expect(page.getByLabel("Direction")).toHaveValue("outbound");
  await expect(page.getByLabel("From", { exact: true })).toHaveValue("2022-05-10");
  await expect(page.getByLabel("To", { exact: true })).toHaveValue("2022-05-10");
  await expect(hits).toHaveCount(1);

  // back undoes the last filter (the "To" day), forward brings it back
  await page.goBack();
  await expect(page.getByLabel("To", { exact: true })).toHaveValue("");
  await expect(hits).toHaveCount(2);
  await page.goForward();
  await expect(page.getByLabel("To", { exact: true })).toHaveValue("2022-05-10");
  await expect(hits).toHaveCount(1);

  // the person filter, with "linked" instead of "not linked"
  await page.getByLabel("Not linked to a person").uncheck();
  await page.getByLabel("Linked to a person", { exact: true }).check();
  await expect(hits).toHaveCount(1);
  await expect(hits.first()).toHaveAttribute("data-message-id", "tg-linked-out");
  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(hits).toHaveCount(5);
  await page.getByLabel("Person", { exact: true }).fill(`Filter Person ${run}`);
  await page
    .getByRole("list", { name: "People" })
    .getByRole("button", { name: `Filter Person ${run}` })
    .click();
  await expect(page.getByText(`Person: Filter Person ${run}`)).toBeVisible();
  await expect(hits).toHaveCount(1);
  expect(new URL(page.url()).searchParams.get("person")).toBe(person);
  // the conversations too: only the linked one
  await page.getByLabel("Search messages").fill(`Filter`);
  await expect(page.getByRole("list", { name: "Matching conversations" }).getByRole("link")).toHaveCount(1);
});

test("the open hit is marked in the results, and the search stays when it opens", async ({ page }) => {
  const word = `oh${run}`;
  await ingest(
    ALICE.id,
    ["one", "two", "three"].map((w, i) => ({
      platform: "signal",
      external_conversation_id: `e2e-open-hit-${run}`,
      participant_name: `Open Hit ${run}`,
      id: `oh-${w}`,
      direction: "inbound",
      type: "text",
      content: `${w} ${word}`,
      sent_at: new Date(Date.UTC(2022, 6, 1, 10, i)).toISOString(),
    })),
  );
  await signIn(page, ALICE.email);
  await page.getByLabel("Search messages").fill(word);
  const hits = page.getByRole("list", { name: "Search results" }).getByRole("link");
  await expect(hits).toHaveCount(3);
  await expect(page.locator('.search-hit[aria-current="true"]')).toHaveCount(0);
  await hits.filter({ hasText: "two" }).click();
  await expect(page).toHaveURL(/msg=oh-two/);
  expect(new URL(page.url()).searchParams.get("q")).toBe(word);
  const results = page.getByRole("list", { name: "Search results" });
  const current = results.locator('[aria-current="true"]');
  await expect(current).toHaveCount(1);
  await expect(current).toHaveAttribute("data-message-id", "oh-two");
  await hits.filter({ hasText: "three" }).click();
  await expect(current).toHaveAttribute("data-message-id", "oh-three");
  await expect(current).toHaveCount(1);
  await shot(page, "search-open-hit");
});

test("a media hit says its kind and file name; a hit only through the sender's name is grouped below", async ({
  page,
}) => {
  const file = `Quarterly-Report-${run}.pdf`;
  const name = `Sender Only ${run}`;
  await ingest(ALICE.id, [
    {
      platform: "whatsapp",
      external_conversation_id: `e2e-media-${run}`,
      participant_name: `Media ${run}`,
      id: "doc-1",
      direction: "inbound",
      type: "document",
      content: null,
      media_url: `https://files.example/docs/${file}?sig=secret`,
      metadata: { file_name: file },
      sent_at: new Date(Date.UTC(2022, 7, 1, 9)).toISOString(),
    },
    {
      platform: "whatsapp",
      external_conversation_id: `e2e-sender-${run}`,
      participant_name: name,
      sender_name: name,
      id: "from-her",
      direction: "inbound",
      type: "text",
      content: "see you tomorrow",
      sent_at: new Date(Date.UTC(2022, 7, 2, 9)).toISOString(),
    },
    {
      platform: "whatsapp",
      external_conversation_id: `e2e-about-${run}`,
      participant_name: `Colleague ${run}`,
      id: "about-her",
      direction: "inbound",
      type: "text",
      content: `please call ${name} back`,
      sent_at: new Date(Date.UTC(2022, 7, 1, 9)).toISOString(),
    },
  ]);
  await signIn(page, ALICE.email);
  const box = page.getByLabel("Search messages");
  await box.fill(`quarterly-report-${run}`);
  const hit = page.getByRole("list", { name: "Search results" }).getByRole("link");
  await expect(hit).toHaveCount(1);
  await expect(hit.locator(".media-kind")).toHaveText(`Document · ${file}`);
  await expect(hit).not.toContainText("[other]");
  await expect(hit).not.toContainText("[document]");

  // the text hit (older) first; her own message, which matches only by her name, below
  await box.fill(name);
  const text = page.getByRole("list", { name: "Search results" }).getByRole("link");
  await expect(text).toHaveCount(1);
  await expect(text.first()).toHaveAttribute("data-message-id", "about-her");
  const byName = page.getByRole("list", { name: "Matches of the sender's name" }).getByRole("link");
  await expect(byName).toHaveCount(1);
  await expect(byName.first()).toHaveAttribute("data-message-id", "from-her");
  // and the contact herself is the first conversation
  expect((await rowTitles(page))[0]).toBe(name);
  await shot(page, "search-sender-grouped");
});
