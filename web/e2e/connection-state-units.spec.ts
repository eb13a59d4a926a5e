// The words of the connections screen for what the platform told about a connection
// (components/crm/ConnectionState.tsx), run by the same Playwright runner (no browser
// needed). The shapes are the store's (docs/contract.md, "What the connection knows").
import { expect, test } from "@playwright/test";
import { businessWords, historyWords, unknownKinds } from "../src/components/crm/ConnectionState";

test("history: the furthest phase with its progress, complete at the end, or declined", () => {
  expect(historyWords(null)).toBeNull();
  expect(
    historyWords({ phases: { "0": { progress: 100 }, "1": { progress: 60, at: "2026-01-01T00:00:00Z" } } }),
  ).toEqual({ text: "phase 2 of 3, 60%", declined: false, at: "2026-01-01T00:00:00Z" });
  expect(historyWords({ phases: { "2": { progress: 100 } } })?.text).toBe("complete");
  expect(historyWords({ phases: { "0": {} } })?.text).toBe("phase 1 of 3");
  expect(historyWords({ phases: { "7": { progress: 5 } } })).toBeNull();
  expect(
    historyWords({
      phases: { "0": { progress: 10 } },
      error: { code: 2593109, title: "History sharing is turned off by user" },
    }),
  ).toMatchObject({ text: "declined by the business (History sharing is turned off by user)", declined: true });
  expect(historyWords("nonsense")).toBeNull();
});

test("business connection: connected and can reply, read only, or disconnected", () => {
  expect(businessWords({ enabled: true, can_reply: true })?.text).toBe("connected, can reply");
  expect(businessWords({ enabled: true, can_reply: false })?.text).toBe("connected, read only (cannot reply)");
  expect(businessWords({ enabled: false, can_reply: true })?.text).toBe("disconnected by the business");
  expect(businessWords({ can_reply: true })).toBeNull();
  expect(businessWords(null)).toBeNull();
});

test("unknown kinds: most seen first, webhook fields named as such, malformed entries left out", () => {
  expect(
    unknownKinds({
      hologram: { count: 2, last_at: "2026-01-01T00:00:00Z" },
      "field:hologram_update": { count: 5 },
      broken: "x",
      none: { count: 0 },
    }),
  ).toEqual([
    ["hologram_update (webhook field)", 5, null],
    ["hologram", 2, "2026-01-01T00:00:00Z"],
  ]);
  expect(unknownKinds(null)).toEqual([]);
});
