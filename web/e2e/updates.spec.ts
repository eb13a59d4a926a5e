// Updates that arrive before or without their message (issue 28), as a person sees them in the
// thread: a voice message played (blue ticks titled "played"), a message sent by another tool
// that the store has only statuses of (a placeholder "Sent from another tool" until its echo
// fills it) and a Telegram poll whose votes and counts came as updates by poll id. Everything
// goes through the store as the function sends it (ingest_webhook_delivery's updates).
import { expect, test, type Page } from "@playwright/test";
import { ALICE, VIEWPORTS, ingest, serviceRest, shot, signIn } from "./fixtures";

const run = Date.now().toString(36);
const wa = `+3460${String(Date.now()).slice(-7)}`;
const pollId = `poll-${run}`;
let connection = "";

async function deliver(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await serviceRest("rpc/ingest_webhook_delivery", {
    method: "POST",
    body: JSON.stringify({ payload: { connection_id: connection, ...body } }),
  })) as Record<string, unknown>;
}

const conv = { platform: "whatsapp", external_conversation_id: wa, participant_name: `Updates ${run}` };
const update = { platform: "whatsapp", external_conversation_id: wa };

test.beforeAll(async () => {
  connection = (await serviceRest("rpc/add_messaging_connection", {
    method: "POST",
    body: JSON.stringify({
      platform: "whatsapp",
      account_identifier: `+1555${run}`,
      secrets: { app_secret: "s", verify_token: "v" },
      user_id: ALICE.id,
    }),
  })) as string;
  const now = Date.now();
  const at = (minutes: number) => new Date(now - (60 - minutes) * 60_000).toISOString();
  await ingest(ALICE.id, [
    { ...conv, id: `in-${run}`, direction: "inbound", type: "text", content: "¿Me mandas el audio?", sent_at: at(0) },
    { ...conv, id: `voice-${run}`, direction: "outbound", type: "voice", content: null, sent_at: at(1) },
    {
      ...conv,
      id: `poll-msg-${run}`,
      direction: "outbound",
      type: "other",
      content: "¿Qué color?",
      sent_at: at(2),
      metadata: {
        platform_kind: "poll",
        poll: {
          id: pollId,
          question: "¿Qué color?",
          options: [
            { text: "Azul", votes: 0 },
            { text: "Rojo", votes: 0 },
          ],
        },
      },
    },
    { ...conv, id: `last-${run}`, direction: "inbound", type: "text", content: "Gracias", sent_at: at(10) },
  ]);
  const answer = await deliver({
    updates: [
      { ...update, kind: "status", id: `voice-${run}`, status: "read", at: at(3) },
      { ...update, kind: "status", id: `voice-${run}`, status: "played", at: at(4) },
      // sent by another tool through the API: statuses only, no message yet
      { ...update, kind: "status", id: `api-${run}`, status: "sent", at: at(5), placeholder: true },
      { ...update, kind: "status", id: `api-${run}`, status: "delivered", at: at(6), placeholder: true },
      { kind: "vote", platform: "whatsapp", poll_id: pollId, voter: "ana", options: [1], at: at(7) },
      {
        kind: "poll",
        platform: "whatsapp",
        poll_id: pollId,
        at: at(8),
        poll: {
          options: [
            { text: "Azul", votes: 1 },
            { text: "Rojo", votes: 2 },
          ],
          total_votes: 3,
        },
      },
    ],
  });
  expect(answer.updates).toEqual({ applied: 4, unchanged: 0, missing: 0, pending: 2 });
});

async function openThread(page: Page, count: number): Promise<void> {
  const rows = (await serviceRest(
    `chat_conversation_list?user_id=eq.${ALICE.id}&external_conversation_id=eq.${encodeURIComponent(wa)}&select=id,message_count`,
  )) as { id: string; message_count: number }[];
  expect(rows).toHaveLength(1);
  expect(rows[0]!.message_count).toBe(count); // a placeholder counts in no summary
  await signIn(page, ALICE.email);
  await page.goto(`/inbox/${rows[0]!.id}`);
  await expect(page.getByRole("log", { name: "Messages" }).getByText("Gracias")).toBeVisible();
}

const bubble = (page: Page, id: string) => page.locator(`[data-message-id="${id}"]`);

for (const vp of VIEWPORTS) {
  test(`${vp.name}: played, a placeholder and a poll's votes show in the thread`, async ({ page }) => {
    await page.setViewportSize({ width: vp.width, height: vp.height });
    await openThread(page, 4);
    const voice = bubble(page, `voice-${run}`).getByLabel("Delivery status: played");
    await expect(voice).toHaveAttribute("title", "played");
    await expect(voice).toHaveText("✓✓");

    const placeholder = bubble(page, `api-${run}`);
    await expect(placeholder).toContainText("Sent from another tool");
    await expect(placeholder.getByLabel("Delivery status: delivered")).toBeVisible();
    // placed by time: after the poll, before the last message
    const order = await page
      .getByTestId("message")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-message-id")));
    expect(order.slice(-3)).toEqual([`poll-msg-${run}`, `api-${run}`, `last-${run}`]);

    const poll = bubble(page, `poll-msg-${run}`).getByRole("group", { name: "Poll" });
    // the platform's counts, and who voted where the store knows
    await expect(poll.getByTestId("poll-option")).toHaveText([/Azul\s*1/, /Rojo\s*2.*ana/]);
    await shot(page, vp.name === "phone" ? "updates-thread-phone" : "updates-thread");
  });
}

test("the echo of a message sent by another tool fills its placeholder", async ({ page }) => {
  const answer = await deliver({
    messages: [
      {
        ...conv,
        id: `api-${run}`,
        direction: "outbound",
        type: "text",
        content: "Tu pedido sale hoy",
        sent_at: new Date(Date.now() - 55 * 60_000).toISOString(),
      },
    ],
  });
  expect(answer.inserted).toBe(1);
  await openThread(page, 5); // filled: now a message
  const filled = bubble(page, `api-${run}`);
  await expect(filled).toContainText("Tu pedido sale hoy");
  await expect(filled).not.toContainText("Sent from another tool");
  await expect(filled.getByLabel("Delivery status: delivered")).toBeVisible();
});
