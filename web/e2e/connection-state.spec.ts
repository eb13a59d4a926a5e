// What the connection knows (issue 28), as a CRM admin reads it on the connections screen:
// WhatsApp's history backfill (phase and progress; a share the business declined), the
// Telegram business connection (connected and can reply, then disconnected) and the kinds
// this version does not know yet, counted. Each delivery is sent to the real
// messaging-ingest function through nginx, signed as the platform signs it.
import { createHmac } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { ALICE, serviceRest, shot, signIn, VIEWPORTS } from "./fixtures";
import { readStackEnv } from "./stack-env";

const run = Date.now().toString(36);
const APP_SECRET = `e2e-state-${run}`;

async function post(path: string, body: unknown, headers: Record<string, string>): Promise<number> {
  const env = readStackEnv();
  const res = await fetch(`${env.API_URL}/functions/v1/messaging-ingest/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  await res.body?.cancel();
  return res.status;
}

/** A connection of alice's made with the service key (the screen's own add form is tested elsewhere). */
async function connection(platform: string, account: string, secrets: Record<string, string>): Promise<string> {
  return (await serviceRest("rpc/add_messaging_connection", {
    method: "POST",
    body: JSON.stringify({ platform, account_identifier: account, secrets, user_id: ALICE.id }),
  })) as string;
}

async function whatsapp(id: string, phoneNumberId: string, field: string, value: Record<string, unknown>) {
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "102290129340398",
        changes: [
          {
            field,
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550783881", phone_number_id: phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  });
  const sig = createHmac("sha256", APP_SECRET).update(body).digest("hex");
  expect(await post(`whatsapp/${id}`, body, { "x-hub-signature-256": `sha256=${sig}` })).toBe(200);
}

async function openConnections(page: Page): Promise<void> {
  await signIn(page, ALICE.email);
  await page.getByRole("navigation", { name: "CRM" }).getByRole("link", { name: "Connections" }).click();
}

const ts = Math.floor(Date.now() / 1000);
let backfill = "";
let declined = "";
let business = "";

test.beforeAll(async () => {
  // a backfill in its second phase, a message of it, and a webhook field Meta adds later
  const pnid = `7${ts}`;
  backfill = await connection("whatsapp", pnid, { app_secret: APP_SECRET, verify_token: "vt" });
  await whatsapp(backfill, pnid, "history", {
    history: [
      {
        metadata: { phase: 1, chunk_order: 3, progress: 60 },
        threads: [
          {
            id: "34633000111",
            messages: [
              {
                from: "34633000111",
                id: `wamid.E2EHIST.${run}`,
                timestamp: String(ts - 40 * 86400),
                type: "text",
                text: { body: "Old chat from the app" },
                history_context: { status: "READ" },
              },
            ],
          },
        ],
      },
    ],
  });
  await whatsapp(backfill, pnid, "hologram_update", { anything: 1 });
  await whatsapp(backfill, pnid, "hologram_update", { anything: 2 });
  // a business that declined sharing its history
  const pnid2 = `8${ts}`;
  declined = await connection("whatsapp", pnid2, { app_secret: APP_SECRET, verify_token: "vt" });
  await whatsapp(declined, pnid2, "history", {
    history: [
      {
        errors: [
          {
            code: 2593109,
            title: "History sharing is turned off by user",
            message: "History sharing is turned off by user",
            error_data: { details: "The business has declined to share chat history" },
          },
        ],
      },
    ],
  });
  // a Telegram business account: connected and can reply
  const token = `tg_state_${run}`;
  business = await connection("telegram", `e2e_state_${run}_bot`, { secret_token: token });
  const headers = { "x-telegram-bot-api-secret-token": token };
  const shop = { id: 999, is_bot: false, first_name: "Tienda Sol" };
  expect(
    await post(
      `telegram/${business}`,
      {
        update_id: 1,
        business_connection: {
          id: "BCe2e",
          user: shop,
          user_chat_id: 999,
          date: ts - 120,
          rights: { can_reply: true },
          is_enabled: true,
        },
      },
      headers,
    ),
  ).toBe(200);
  expect(await post(`telegram/${business}`, { update_id: 2, hologram_update: { id: 1 } }, headers)).toBe(200);
});

test.afterAll(async () => {
  // alice's connections are every spec's: the ones made here go, with what they recorded
  for (const id of [backfill, declined, business].filter(Boolean)) {
    await serviceRest(`messaging_connections?id=eq.${id}`, { method: "DELETE" });
  }
});

for (const vp of VIEWPORTS) {
  test.describe(`${vp.name} ${vp.width}x${vp.height}`, () => {
    test.use({ viewport: { width: vp.width, height: vp.height } });

    test("history progress, a declined share, the business connection and unknown kinds, in words", async ({
      page,
    }) => {
      await openConnections(page);
      const wa = page.locator(`tr[data-connection-id="${backfill}"]`);
      await expect(wa.getByTestId("history-backfill")).toContainText("History: phase 2 of 3, 60%");
      const unknown = wa.getByTestId("unknown-kinds");
      await expect(unknown).toContainText("2 items of a kind this version does not know yet");
      await unknown.locator("summary").click();
      await expect(unknown.getByRole("list", { name: "Unknown kinds" })).toContainText(
        "hologram_update (webhook field): 2",
      );
      await expect(unknown).toContainText("none of them is an error");
      // counted, not refused
      await expect(wa.getByLabel("Refused deliveries")).toHaveText("none");

      await expect(page.locator(`tr[data-connection-id="${declined}"]`).getByTestId("history-backfill")).toContainText(
        "History: declined by the business (History sharing is turned off by user)",
      );
      const tg = page.locator(`tr[data-connection-id="${business}"]`);
      await expect(tg.getByTestId("business-connection")).toContainText("Business account: connected, can reply");
      await tg.scrollIntoViewIfNeeded();
      await wa.scrollIntoViewIfNeeded();
      await shot(page, vp.name === "phone" ? "connection-state-phone" : "connection-state");
    });
  });
}

test("the business disconnects the bot: the screen says so after the next read", async ({ page }) => {
  await openConnections(page);
  const tg = page.locator(`tr[data-connection-id="${business}"]`);
  await expect(tg.getByTestId("business-connection")).toContainText("connected, can reply");
  const token = `tg_state_${run}`;
  expect(
    await post(
      `telegram/${business}`,
      {
        update_id: 3,
        business_connection: {
          id: "BCe2e",
          user: { id: 999, is_bot: false, first_name: "Tienda Sol" },
          user_chat_id: 999,
          date: ts - 60,
          rights: { can_reply: false },
          is_enabled: false,
        },
      },
      { "x-telegram-bot-api-secret-token": token },
    ),
  ).toBe(200);
  await page.reload();
  await expect(tg.getByTestId("business-connection")).toContainText("Business account: disconnected by the business");
});

test("the business app's name for a number is offered where the conversation is linked, until removed", async ({
  page,
}) => {
  const pnid = `7${ts}`;
  const sync = (action: string, at: number) =>
    whatsapp(backfill, pnid, "smb_app_state_sync", {
      state_sync: [
        {
          type: "contact",
          contact: { full_name: "Rita Sousa Lima", first_name: "Rita", phone_number: "34633000111" },
          action,
          metadata: { timestamp: String(at) },
        },
      ],
    });
  await sync("add", ts - 30);
  const [conv] = (await serviceRest(
    `chat_conversations?select=id&user_id=eq.${ALICE.id}&external_conversation_id=eq.%2B34633000111`,
  )) as { id: string }[];
  await signIn(page, ALICE.email);
  await page.goto(`/inbox/${conv!.id}`);
  const suggestion = page.getByTestId("contact-name-suggestion");
  await expect(suggestion).toContainText("In the business’s WhatsApp app this number is Rita Sousa Lima");
  await expect(suggestion.getByRole("button", { name: "Create person “Rita Sousa Lima”" })).toBeVisible();
  await shot(page, "contact-name-suggestion");
  // nobody was created or linked by the sync itself
  expect(await serviceRest(`people?select=id&user_id=eq.${ALICE.id}&full_name=eq.Rita%20Sousa%20Lima`)).toEqual([]);
  await sync("remove", ts - 10);
  await page.reload();
  await expect(page.getByRole("combobox", { name: "Link to person" })).toBeVisible();
  await expect(page.getByTestId("contact-name-suggestion")).toHaveCount(0);
});
