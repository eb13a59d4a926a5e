// Before the suite: the demo's sample exports for alice (make demo's import, through the
// Python CLI), a 2,000-message group thread for alice (through ingest_messages with the
// service key), and the demo's Telegram chat unlinked again so the link test starts clean.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { ALICE, BOB, LONG_THREAD, MANY, MANY_PEOPLE, longMessageId, serviceRest } from "./fixtures";
import { REPO_ROOT, readStackEnv } from "./stack-env";

function longThreadMessages(): Record<string, unknown>[] {
  const start = Date.parse("2025-11-01T08:00:00Z");
  const senders = [
    ["+34600111001", "Ana Ruiz"],
    ["+34600111002", "Ben Ortega"],
    ["+34600111003", "Carla Nieto"],
  ];
  const out: Record<string, unknown>[] = [];
  for (let i = 1; i <= LONG_THREAD.count; i++) {
    // about 17 messages a day: the thread spans four months, with date separators
    const sentAt = new Date(start + i * 85 * 60_000).toISOString();
    const outbound = i % 5 === 0;
    const [senderId, senderName] = senders[Math.floor(i / 3) % senders.length] ?? senders[0]!;
    const m: Record<string, unknown> = {
      platform: "telegram",
      external_conversation_id: LONG_THREAD.externalId,
      participant_name: LONG_THREAD.name,
      conversation_type: "group",
      id: longMessageId(i),
      direction: outbound ? "outbound" : "inbound",
      type: "text",
      content: `Message ${i} of the falcon thread`,
      sent_at: sentAt,
    };
    if (!outbound) Object.assign(m, { sender_identifier: senderId, sender_name: senderName });
    if (i === LONG_THREAD.rareIndex) m.content = `The codename is ${LONG_THREAD.rareWord}, keep it quiet`;
    if (i === 1) m.content = "First message of the falcon thread";
    // the newest messages show every kind of message the thread marks
    if (i === LONG_THREAD.count - 9) Object.assign(m, { type: "system", content: "Ana Ruiz added Carla Nieto" });
    if (i === LONG_THREAD.count - 7) {
      Object.assign(m, { type: "image", content: "The new logo, v3", media_url: "IMG-20260301-WA0004.jpg" });
    }
    if (i === LONG_THREAD.count - 6) {
      Object.assign(m, { type: "document", content: null, media_url: "falcon-budget-2026.pdf" });
    }
    if (i === LONG_THREAD.count - 5) {
      Object.assign(m, {
        content: "Budget approved (corrected figure)",
        edited_at: new Date(Date.parse(sentAt) + 120_000).toISOString(),
      });
    }
    if (i === LONG_THREAD.count - 4) Object.assign(m, { content: null, metadata: { deleted: true } });
    if (i === LONG_THREAD.count - 3) {
      Object.assign(m, { content: "Agreed, go ahead", reply_to_id: longMessageId(LONG_THREAD.count - 5) });
    }
    if (outbound) m.metadata = { status: i === LONG_THREAD.count ? "read" : "delivered" };
    out.push(m);
  }
  return out;
}

/** bob's 5,000 one-message conversations, unless they are there already. */
async function seedManyConversations(): Promise<void> {
  const last = (await serviceRest(
    `chat_conversation_list?user_id=eq.${BOB.id}&participant_name=like.${encodeURIComponent(MANY.namePrefix)}*&select=id&limit=1&offset=${MANY.count - 1}`,
  )) as unknown[];
  if (last.length === 1) return;
  const start = Date.parse("2026-01-01T00:00:00Z");
  const messages = Array.from({ length: MANY.count }, (_, i) => ({
    platform: "whatsapp",
    external_conversation_id: `+3460${String(i).padStart(7, "0")}`,
    participant_identifier: `+3460${String(i).padStart(7, "0")}`,
    participant_name: `${MANY.namePrefix}${String(i).padStart(4, "0")}`,
    id: `lead-${i}`,
    direction: "inbound",
    type: "text",
    content: `Hello, this is lead ${i}`,
    sent_at: new Date(start + i * 7 * 60_000).toISOString(),
  }));
  for (let i = 0; i < messages.length; i += 500) {
    await serviceRest("rpc/ingest_messages", {
      method: "POST",
      body: JSON.stringify({ payload: { user_id: BOB.id, messages: messages.slice(i, i + 500) } }),
    });
  }
}

/** bob's 1,103 people (past PostgREST's 1,000-row cap), unless they are there already. */
async function seedManyPeople(): Promise<void> {
  const last = (await serviceRest(
    `people?user_id=eq.${BOB.id}&full_name=like.${encodeURIComponent(MANY_PEOPLE.namePrefix)}*&select=id&limit=1&offset=${MANY_PEOPLE.count - 1}`,
  )) as unknown[];
  if (last.length === 1) return;
  const rows = Array.from({ length: MANY_PEOPLE.count }, (_, i) => ({
    user_id: BOB.id,
    full_name: `${MANY_PEOPLE.namePrefix}${String(i).padStart(4, "0")}`,
    email: `person${i}@bob-crm.example`,
  }));
  await serviceRest("people", { method: "POST", body: JSON.stringify(rows), headers: { Prefer: "return=minimal" } });
}

export default async function globalSetup(): Promise<void> {
  const env = readStackEnv();
  const web = await fetch(env.WEB_URL).catch(() => null);
  if (!web?.ok) {
    throw new Error(
      env.webServer === "stack"
        ? `${env.WEB_URL} (WEB_URL of the stack) does not answer: run make stack`
        : `${env.WEB_URL} (vite preview of web/dist) does not answer: run make web-build`,
    );
  }

  execFileSync(resolve(REPO_ROOT, ".venv/bin/python"), ["-m", "devstack", "demo"], {
    cwd: REPO_ROOT,
    stdio: "ignore",
  });
  await serviceRest("rpc/ingest_messages", {
    method: "POST",
    body: JSON.stringify({ payload: { user_id: ALICE.id, messages: longThreadMessages() } }),
  });
  await seedManyConversations();
  await seedManyPeople();
  await serviceRest(
    `chat_conversations?user_id=eq.${ALICE.id}&platform=eq.telegram&external_conversation_id=neq.${LONG_THREAD.externalId}`,
    {
      method: "PATCH",
      body: JSON.stringify({ person_id: null }),
    },
  );
}
