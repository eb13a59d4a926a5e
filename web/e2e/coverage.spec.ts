// Where a conversation's history comes from: the coverage panel of the thread's Contact
// panel, as a person opens it, at a laptop's and a phone's size. The data goes in through
// ingest_messages with the service key, as the importers and the webhook function send it
// (source, source_name): an old export, live messages a month later, and a second export
// whose copies meet the live ones.
import { expect, test, type Page } from "@playwright/test";
import { ALICE, VIEWPORTS, serviceRest, shot, signIn } from "./fixtures";

const CHAT = "+34699000111";
const day = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "Europe/Madrid" });

/** Fixed times (a second run, or a run on another day, sends the very same messages again). */
const T = {
  a1: "2026-08-03T10:00:00Z",
  a2: "2026-08-20T11:00:00Z",
  a3: "2026-09-04T12:00:00Z",
  live1: "2026-10-05T09:00:15Z",
  live2: "2026-10-05T09:02:40Z",
  live3: "2026-12-01T16:00:05Z",
  b1: "2026-10-05T09:00:00Z",
  b2: "2026-10-05T09:02:00Z",
};
const d = (iso: string) => day.format(new Date(iso));

function message(id: string, sentAt: string, content: string, extra: Record<string, unknown> = {}) {
  return {
    platform: "whatsapp",
    external_conversation_id: CHAT,
    participant_identifier: CHAT,
    participant_name: "Lucía Fernández",
    id,
    direction: "inbound",
    content,
    sent_at: sentAt,
    ...extra,
  };
}

const EXPORT_COPY = { metadata: { id_source: "export", time_precision: "minute" } };

async function send(source: Record<string, string>, messages: Record<string, unknown>[]): Promise<void> {
  await serviceRest("rpc/ingest_messages", {
    method: "POST",
    body: JSON.stringify({ payload: { user_id: ALICE.id, ...source, messages } }),
  });
}

async function seed(): Promise<string> {
  await send({ source: "export", source_name: "WhatsApp Chat with Lucía.txt" }, [
    message("cov-a-1", T.a1, "Hola, ¿tenéis cita en marzo?", EXPORT_COPY),
    message("cov-a-2", T.a2, "Perfecto, nos vemos", EXPORT_COPY),
    message("cov-a-3", T.a3, "Gracias por todo", EXPORT_COPY),
  ]);
  await send({ source: "webhook" }, [
    message("wamid.cov1", T.live1, "¿Sigue en pie lo del jueves?"),
    message("wamid.cov2", T.live2, "Sí, a las 10"),
    message("wamid.cov3", T.live3, "¡Hasta el jueves!"),
  ]);
  // a later export of the same chat: its copies of the live messages are matched, not stored twice
  await send({ source: "export", source_name: "WhatsApp Chat with Lucía (2).txt" }, [
    message("cov-b-1", T.b1, "¿Sigue en pie lo del jueves?", EXPORT_COPY),
    message("cov-b-2", T.b2, "Sí, a las 10", EXPORT_COPY),
  ]);
  const rows = (await serviceRest(
    `chat_conversation_list?user_id=eq.${ALICE.id}&platform=eq.whatsapp&external_conversation_id=eq.${encodeURIComponent(CHAT)}&select=id`,
  )) as { id: string }[];
  expect(rows).toHaveLength(1);
  return rows[0]!.id;
}

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
  test.describe(`${vp.name} ${vp.width}x${vp.height}`, () => {
    test.use({ viewport: { width: vp.width, height: vp.height } });

    test("the Contact panel says where the history comes from: sources, matched copies, the gap", async ({ page }) => {
      const id = await seed();
      await signIn(page, ALICE.email);
      await page.goto(`/inbox/${id}`);
      await expect(page.getByRole("log", { name: "Messages" }).getByText("¡Hasta el jueves!")).toBeVisible();
      await page.getByRole("button", { name: "Contact", exact: true }).click();
      const open = page.getByRole("button", { name: "Where the history comes from" });
      await expect(open).toHaveAttribute("aria-expanded", "false");
      await open.click();
      await expect(page.getByRole("button", { name: "Hide where the history comes from" })).toHaveAttribute(
        "aria-expanded",
        "true",
      );

      const panel = page.getByTestId("coverage");
      await expect(panel.getByRole("heading", { name: "Where this history comes from" })).toBeVisible();
      await expect(page.getByTestId("coverage-summary")).toHaveText(
        `6 messages from ${d(T.a1)} to ${d(T.live3)},` +
          " from 3 sources. 2 copies matched between sources. 1 gap no source covers.",
      );
      // the words: each source with its span and counts, oldest first, then the gap
      const sources = panel.getByTestId("coverage-source");
      await expect(sources).toHaveCount(3);
      await expect(sources.nth(0)).toContainText(`Export file “WhatsApp Chat with Lucía.txt”: ${d(T.a1)} – ${d(T.a3)}`);
      await expect(sources.nth(0)).toContainText("3 new");
      await expect(sources.nth(1)).toContainText("Export file “WhatsApp Chat with Lucía (2).txt”");
      // (a second run sends the same messages again: more skipped, nothing new, no new pair)
      await expect(sources.nth(1)).toContainText(
        /0 new · \d+ duplicates skipped · 2 stored messages updated · 2 matched with another source$/,
      );
      await expect(sources.nth(2)).toContainText(`Live webhook: live since ${d(T.live1)}`);
      await expect(sources.nth(2)).toContainText("3 new");
      const gap = panel.getByTestId("coverage-gap");
      await expect(gap).toHaveCount(1);
      await expect(gap).toContainText("No source covers this span: messages may be missing.");

      // the picture: one bar per source, the gap marked between the old export and live
      const timeline = page.getByTestId("coverage-timeline");
      await expect(timeline).toHaveAttribute("aria-hidden", "true");
      await expect(timeline.locator(".coverage-bar")).toHaveCount(3);
      const bars = await timeline.locator(".coverage-bar").evaluateAll((els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return { left: r.left, right: r.right };
        }),
      );
      const gapBox = (await timeline.locator(".coverage-gap").boundingBox())!;
      // the old export ends where the gap begins; the live bar starts where it ends and runs to the end
      expect(Math.abs(bars[0]!.right - gapBox.x)).toBeLessThan(3);
      expect(Math.abs(bars[2]!.left - (gapBox.x + gapBox.width))).toBeLessThan(3);
      const track = (await timeline.boundingBox())!;
      expect(Math.abs(bars[2]!.right - (track.x + track.width))).toBeLessThan(3);
      await panel.scrollIntoViewIfNeeded();
      if (vp.name === "phone") await expectNoSidewaysOverflow(page);
      await shot(page, vp.name === "desktop" ? "coverage" : "coverage-phone");

      // closing it again
      await page.getByRole("button", { name: "Hide where the history comes from" }).click();
      await expect(panel).toHaveCount(0);
    });
  });
}
