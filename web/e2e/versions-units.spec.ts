// The readers of lib/versions.ts (an edited message's earlier versions, a deleted message's
// kept text), run by the same Playwright runner (no browser needed), on the shapes the store
// writes (docs/contract.md, "Edits and deletes") and on malformed metadata, which must read
// as nothing rather than throw.
import { expect, test } from "@playwright/test";
import { keptDeletedText, readVersions } from "../src/lib/versions";
import type { ChatMessage } from "../src/types/messaging";

const base: ChatMessage = {
  id: "m1",
  direction: "inbound",
  type: "text",
  content: "Quiero 5 cajas",
  sent_at: "2026-03-02T09:00:00Z",
};

test("readVersions reads the store's versions, oldest first, with the dropped count", () => {
  const md = {
    versions: [
      { content: "Quiero 3 cajas", at: "2026-03-02T09:00:00Z" },
      { content: null, at: "2026-03-02T09:05:00Z" },
    ],
    versions_dropped: 3,
  };
  expect(readVersions(md)).toEqual({
    versions: [
      { content: "Quiero 3 cajas", at: "2026-03-02T09:00:00Z" },
      { content: null, at: "2026-03-02T09:05:00Z" },
    ],
    dropped: 3,
  });
  expect(readVersions(null)).toEqual({ versions: [], dropped: 0 });
  expect(readVersions({})).toEqual({ versions: [], dropped: 0 });
});

test("readVersions skips what it cannot read and never throws", () => {
  const md = {
    versions: [null, 7, "x", { content: "no time" }, { content: 5, at: "2026-03-02T09:00:00Z" }],
    versions_dropped: "many",
  };
  expect(readVersions(md)).toEqual({ versions: [{ content: null, at: "2026-03-02T09:00:00Z" }], dropped: 0 });
  expect(readVersions({ versions: { content: "not a list" }, versions_dropped: -2 })).toEqual({
    versions: [],
    dropped: 0,
  });
});

test("keptDeletedText: the text a live delete kept, never an import's tombstone", () => {
  const kept = { ...base, metadata: { deleted: true, deleted_at: "2026-03-03T10:00:00Z" } };
  expect(keptDeletedText(kept)).toBe("Quiero 5 cajas");
  expect(keptDeletedText({ ...kept, content: null })).toBeNull(); // erased (the default setting)
  expect(keptDeletedText({ ...kept, content: "  " })).toBeNull();
  // a WhatsApp export's tombstone keeps its own words and has no deleted_at
  const tombstone = { ...base, content: "This message was deleted", metadata: { deleted: true } };
  expect(keptDeletedText(tombstone)).toBeNull();
  expect(keptDeletedText(base)).toBeNull(); // not deleted
});
