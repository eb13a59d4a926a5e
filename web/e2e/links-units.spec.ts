// splitLinks (the web addresses of a message's text) and the page titles, run by the same
// Playwright runner (no browser needed).
import { expect, test } from "@playwright/test";
import { splitLinks } from "../src/lib/links";
import { documentTitle } from "../src/lib/title";

const links = (text: string) => splitLinks(text).filter((p) => p.kind === "link");

test("http and https addresses become links, the text around them stays, nothing is lost", () => {
  const text = "See https://example.com/a?b=1&c=2, then http://x.org. Done";
  const parts = splitLinks(text);
  expect(parts.map((p) => p.text).join("")).toBe(text);
  expect(links(text).map((p) => p.kind === "link" && p.href)).toEqual([
    "https://example.com/a?b=1&c=2",
    "http://x.org/",
  ]);
});

test("only http and https: no javascript:, data:, file:, ftp: or mailto: link", () => {
  for (const text of [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "ftp://example.net/x",
    "mailto:a@b.c",
    "https://",
  ]) {
    expect(links(text), text).toEqual([]);
    expect(
      splitLinks(text)
        .map((p) => p.text)
        .join(""),
    ).toBe(text);
  }
});

test("markup and quotes end an address; brackets belong to it only when it opened them", () => {
  expect(links('<a href="https://evil.example/x">').map((p) => p.text)).toEqual(["https://evil.example/x"]);
  expect(links("(see https://en.wikipedia.org/wiki/Falcon_(disambiguation))").map((p) => p.text)).toEqual([
    "https://en.wikipedia.org/wiki/Falcon_(disambiguation)",
  ]);
  expect(links("(https://example.com/x)").map((p) => p.text)).toEqual(["https://example.com/x"]);
  expect(links("«https://example.com/é»").map((p) => p.text)).toEqual(["https://example.com/é"]);
});

test("a page's title names what it shows", () => {
  expect(documentTitle("María García")).toBe("María García · CRM");
  expect(documentTitle("  ")).toBe("CRM");
  expect(documentTitle(null)).toBe("CRM");
});
