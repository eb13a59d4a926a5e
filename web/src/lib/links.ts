// The web addresses in a message's text, for rendering as links. Only http and https
// addresses become links (never javascript:, data:, file: ...); the text around them stays
// text. Components render the parts as React text nodes and <a> elements (no HTML strings).

export type TextPart = { kind: "text"; text: string } | { kind: "link"; text: string; href: string };

/** A run starting with http:// or https:// up to the next space or character no URL holds. */
const URL_RUN = /\bhttps?:\/\/[^\s<>"'`{}|\\^]+/gi;
/** Punctuation that ends a sentence rather than the address. */
const TRAILING = /[.,;:!?'"»”’]+$/;

function trimAddress(run: string): string {
  let url = run.replace(TRAILING, "");
  // a closing bracket belongs to the address only when it opened one ("(see https://x/a_(b))")
  for (const [open, close] of [
    ["(", ")"],
    ["[", "]"],
  ] as const) {
    while (url.endsWith(close) && url.split(open).length <= url.split(close).length - 1) {
      url = url.slice(0, -1).replace(TRAILING, "");
    }
  }
  return url;
}

/** The address as an http(s) href, or null (any other scheme, no host, not an address). */
export function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    if (!url.hostname) return null;
    return url.href;
  } catch {
    return null;
  }
}

/** The text split into plain parts and http(s) links, in order; joined, the parts are the text. */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let plain = "";
  let last = 0;
  for (const match of text.matchAll(URL_RUN)) {
    const start = match.index;
    const address = trimAddress(match[0]);
    const href = safeHref(address);
    plain += text.slice(last, start);
    if (href) {
      if (plain) parts.push({ kind: "text", text: plain });
      plain = "";
      parts.push({ kind: "link", text: address, href });
    } else {
      plain += address;
    }
    last = start + address.length;
  }
  plain += text.slice(last);
  if (plain) parts.push({ kind: "text", text: plain });
  return parts;
}
