// The screens' pure helpers, run by the same Playwright runner (no browser needed).
import { expect, test } from "@playwright/test";
import { THREAD_PAGE_SIZE, compareMessages, mergeLatest, withPlaceholders } from "../src/hooks/use-chat-conversations";
import {
  RETRY_AFTER_MS,
  TOO_MANY_TRIES,
  describeError,
  isUuid,
  retryDelay,
  retryOnce,
  retryTooMany,
} from "../src/lib/errors";
import { snippetParts } from "../src/lib/snippet";
import type { ChatMessage } from "../src/types/messaging";

function msg(i: number, content = `m${i}`): ChatMessage {
  return {
    id: `id-${String(i).padStart(4, "0")}`,
    direction: "inbound",
    type: "text",
    content,
    sent_at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
  };
}

test("snippets split at their [[ ]] markers", () => {
  expect(snippetParts("…pay [[INV-2024]] and [[inv]] today")).toEqual([
    { text: "…pay ", match: false },
    { text: "INV-2024", match: true },
    { text: " and ", match: false },
    { text: "inv", match: true },
    { text: " today", match: false },
  ]);
  expect(snippetParts("[[café]]")).toEqual([{ text: "café", match: true }]);
  expect(snippetParts("no match marked")).toEqual([{ text: "no match marked", match: false }]);
});

test("messages order by (sent_at, id) like the database", () => {
  const a = { ...msg(1), id: "a" };
  const b = { ...msg(1), id: "b" };
  expect(compareMessages(a, b)).toBeLessThan(0);
  expect(compareMessages(msg(2), msg(1))).toBeGreaterThan(0);
  expect(compareMessages(a, { ...a })).toBe(0);
});

test("the newest page folds into a loaded thread: new appended, edits replaced, gaps found", () => {
  const loaded = [1, 2, 3, 4].map((i) => msg(i));
  // newest first, as get_conversation_messages returns it
  const latest = [msg(6), msg(5), msg(4, "m4 edited"), msg(3)];
  const { messages, gap } = mergeLatest(loaded, latest);
  expect(messages.map((m) => m.content)).toEqual(["m1", "m2", "m3", "m4 edited", "m5", "m6"]);
  expect(gap).toBe(false);
  expect(mergeLatest(loaded, undefined).messages).toBe(loaded);
  // a full page that does not reach back to what is loaded: messages are missing between
  const far = Array.from({ length: THREAD_PAGE_SIZE }, (_, i) => msg(200 - i));
  expect(mergeLatest(loaded, far).gap).toBe(true);
});

test("placeholders are placed by time, left out once filled or older than what is loaded", () => {
  const loaded = [3, 5, 7].map((i) => msg(i));
  const placeholder = (i: number, id = `p${i}`) => ({ ...msg(i), id, content: null, metadata: { placeholder: true } });
  const shown = (complete: boolean, ps: ChatMessage[]) => withPlaceholders(loaded, ps, complete).map((m) => m.id);
  const ps = [placeholder(1), placeholder(4), placeholder(8), placeholder(6, loaded[2]!.id)];
  // older pages remain: the one before the oldest loaded message waits for its page; a filled one is gone
  expect(shown(false, ps)).toEqual([loaded[0]!.id, "p4", loaded[1]!.id, loaded[2]!.id, "p8"]);
  // the first message is loaded: all of them
  expect(shown(true, ps)).toEqual(["p1", loaded[0]!.id, "p4", loaded[1]!.id, loaded[2]!.id, "p8"]);
  expect(withPlaceholders(loaded, [], false)).toBe(loaded);
});

test("errors read as words", () => {
  expect(
    describeError({ message: "permission denied for table people", code: "42501", details: null, hint: null }),
  ).toBe("permission denied for table people (42501)");
  expect(
    describeError({ message: "bad", details: "messages[4].sent_at: not a time", hint: "fix it", code: "22023" }),
  ).toBe("bad — messages[4].sent_at: not a time — Hint: fix it (22023)");
  // a refusal of the store names its kind in the hint: the screen shows the contract's advice
  expect(
    describeError({
      message: "max_count: must be between 1 and 1000, got 0",
      details: null,
      hint: "max_count_out_of_range",
      code: "22023",
    }),
  ).toBe("max_count: must be between 1 and 1000, got 0 — Ask for fewer. (22023)");
  expect(describeError(new TypeError("Failed to fetch"))).toBe(
    "Could not reach the API (the network request failed). Check that it is running, then try again.",
  );
  // postgrest-js turns a fetch that timed out into { message: "TimeoutError: ..." }
  expect(describeError({ message: "TimeoutError: signal timed out", details: "", hint: "", code: "" })).toBe(
    "The API did not answer within 10 seconds. Check that it is running, then try again.",
  );
  // a gateway's HTML error page (the API behind it is down) is not shown as HTML
  expect(describeError({ message: "<html><head><title>502 Bad Gateway</title></head></html>" })).toBe(
    "The API is not answering (HTTP 502 from its gateway). Check that it is running, then try again.",
  );
});

test("no retry when nothing answers, one for a server error; uuids", () => {
  expect(retryOnce(0, new TypeError("Failed to fetch"))).toBe(false);
  expect(retryOnce(0, { message: "TimeoutError: signal timed out" })).toBe(false);
  expect(retryOnce(0, new Error("permission denied"))).toBe(true);
  expect(retryOnce(1, new Error("permission denied"))).toBe(false);
  expect(isUuid("00000000-0000-4000-8000-000000000000")).toBe(true);
  expect(isUuid("not-a-uuid")).toBe(false);
  expect(isUuid("00000000-0000-4000-8000-000000000000x")).toBe(false);
});

test("a 429 of the store is sent again after its Retry-After, a few times, then shown in words", () => {
  const tooMany = {
    message:
      "too many requests at once for this user (at most 2 run at once, whatever the number of sessions); try again in 1 s",
    details: null,
    hint: "too_many_requests",
    code: "53400",
  };
  expect(RETRY_AFTER_MS).toBe(1000);
  expect(retryOnce(0, tooMany)).toBe(true);
  expect(retryOnce(TOO_MANY_TRIES - 1, tooMany)).toBe(true);
  expect(retryOnce(TOO_MANY_TRIES, tooMany)).toBe(false);
  expect(retryTooMany(0, tooMany)).toBe(true);
  expect(retryTooMany(0, new Error("permission denied"))).toBe(false);
  // at least the Retry-After, doubling, spread by at most a quarter
  expect(retryDelay(1, tooMany, 0)).toBe(1000);
  expect(retryDelay(2, tooMany, 0)).toBe(2000);
  expect(retryDelay(3, tooMany, 1)).toBe(5000);
  expect(retryDelay(1, new Error("boom"))).toBe(2000);
  expect(describeError(tooMany)).toBe(
    "too many requests at once for this user (at most 2 run at once, whatever the number of sessions); try again in 1 s" +
      " — Wait the Retry-After seconds and send it again (the Python client and the screens do). (53400)",
  );
});
