// Test data and helpers shared by the specs and the global setup.
import { expect, type Page } from "@playwright/test";
import { readStackEnv } from "./stack-env";

export const ALICE = { id: "00000000-0000-4000-a000-00000000a11c", email: "alice@crm.example" };
export const BOB = { id: "00000000-0000-4000-a000-000000000b0b", email: "bob@crm.example" };
export const JOAO_PERSON_ID = "00000000-0000-4000-b000-000000000002";

/** The long group thread the global setup seeds for alice. */
export const LONG_THREAD = {
  externalId: "e2e-long-thread",
  name: "Project Falcon (e2e)",
  count: 2000,
  /** A word only message LONG_RARE_INDEX holds: deep in the archive. */
  rareWord: "quetzalcoatl",
  rareIndex: 7,
};

/** bob's inbox of many one-message conversations (the global setup seeds it). */
export const MANY = { count: 5000, namePrefix: "Lead " };

/** bob's people: more than PostgREST's 1,000-row answer cap (the global setup seeds them). */
export const MANY_PEOPLE = { count: 1103, namePrefix: "Person " };

/** The two screens every point of the CRM screens is tested at. */
export const VIEWPORTS = [
  { name: "desktop", width: 1440, height: 900 },
  { name: "phone", width: 390, height: 844 },
] as const;

export function longMessageId(i: number): string {
  return `falcon-${String(i).padStart(4, "0")}`;
}

/** Messages into a user's store through ingest_messages with the service key (test data). */
export async function ingest(userId: string, messages: Record<string, unknown>[]): Promise<unknown> {
  return serviceRest("rpc/ingest_messages", {
    method: "POST",
    body: JSON.stringify({ payload: { user_id: userId, messages } }),
  });
}

/** A PostgREST call with the service key (test setup and expectations only, never the app). */
export async function serviceRest(path: string, init: RequestInit = {}): Promise<unknown> {
  const env = readStackEnv();
  const response = await fetch(`${env.API_URL}/rest/v1/${path}`, {
    ...init,
    headers: {
      apikey: env.SERVICE_ROLE_KEY,
      Authorization: `Bearer ${env.SERVICE_ROLE_KEY}`,
      "Content-Type": "application/json",
      Prefer: "return=representation",
      ...(init.headers ?? {}),
    },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: HTTP ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function signIn(page: Page, email: string): Promise<void> {
  await page.goto("/inbox");
  const signedIn = page.getByTestId("signed-in-as");
  // (on a phone the address is not shown, but it is there)
  if ((await signedIn.count()) > 0) {
    if ((await signedIn.textContent()) === email) return;
    await page.getByRole("button", { name: "Sign out" }).click();
  }
  await page.getByRole("button", { name: `Sign in as ${email}` }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screens/${name}.png` });
}
