// A small, strict XML reader for WeChat's message push (flat <xml> documents).
//
// It has no DTD support at all: a DOCTYPE, an ENTITY declaration, any other `<!...>`
// markup but CDATA, or a processing instruction other than the leading XML declaration
// is refused outright, so external entities (XXE) and entity expansion (billion laughs)
// cannot happen. Only the five predefined entities and numeric character references
// are decoded. Depth and element count are bounded.

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XmlError";
  }
}

export type XmlValue = string | XmlNode;
export interface XmlNode {
  [name: string]: XmlValue;
}

const MAX_DEPTH = 8;
const MAX_ELEMENTS = 2000;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*/;
const PREDEFINED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeText(raw: string): string {
  return raw.replace(/&(?:([^;&\s<]{1,12});)?/g, (_m, ref: string | undefined) => {
    if (ref === undefined) throw new XmlError("a bare & in text");
    if (Object.hasOwn(PREDEFINED, ref)) return PREDEFINED[ref];
    const num = /^#x([0-9A-Fa-f]{1,6})$/.exec(ref) ?? /^#([0-9]{1,7})$/.exec(ref);
    if (num) {
      const code = parseInt(num[1], ref[1] === "x" ? 16 : 10);
      if (code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) {
        return String.fromCodePoint(code);
      }
    }
    throw new XmlError(`entity &${ref}; is not allowed (only the predefined ones)`);
  });
}

/** Parses a document whose root element holds child elements with text; returns the root's children. */
export function parseXml(text: string): { root: string; fields: XmlNode } {
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new XmlError("DOCTYPE and ENTITY declarations are refused");
  }
  let pos = 0;
  let elements = 0;
  const s = text.replace(/^\uFEFF/, "");

  const skipSpace = () => {
    while (pos < s.length && /\s/.test(s[pos])) pos++;
  };

  skipSpace();
  if (s.startsWith("<?xml", pos)) {
    const end = s.indexOf("?>", pos);
    if (end < 0) throw new XmlError("unterminated XML declaration");
    pos = end + 2;
  }
  skipSpace();
  while (s.startsWith("<!--", pos)) {
    const end = s.indexOf("-->", pos + 4);
    if (end < 0) throw new XmlError("unterminated comment");
    pos = end + 3;
    skipSpace();
  }

  const parseElement = (depth: number): [string, XmlValue] => {
    if (depth > MAX_DEPTH) throw new XmlError(`nested deeper than ${MAX_DEPTH} levels`);
    if (++elements > MAX_ELEMENTS) throw new XmlError(`more than ${MAX_ELEMENTS} elements`);
    if (s[pos] !== "<") throw new XmlError(`expected an element at offset ${pos}`);
    pos++;
    const m = NAME.exec(s.slice(pos, pos + 200));
    if (!m) throw new XmlError(`bad element name at offset ${pos}`);
    const name = m[0];
    pos += name.length;
    // attributes are not part of WeChat's format; skip them without interpreting
    const close = s.indexOf(">", pos);
    if (close < 0) throw new XmlError(`unterminated tag <${name}>`);
    const attrs = s.slice(pos, close);
    if (/[<&]/.test(attrs)) throw new XmlError(`bad tag <${name}>`);
    pos = close + 1;
    if (attrs.trimEnd().endsWith("/")) return [name, ""];

    let textValue = "";
    const children: XmlNode = {};
    let hasChildren = false;
    for (;;) {
      if (pos >= s.length) throw new XmlError(`unterminated element <${name}>`);
      if (s.startsWith("<![CDATA[", pos)) {
        const end = s.indexOf("]]>", pos + 9);
        if (end < 0) throw new XmlError("unterminated CDATA section");
        textValue += s.slice(pos + 9, end);
        pos = end + 3;
      } else if (s.startsWith("</", pos)) {
        const end = s.indexOf(">", pos);
        if (end < 0 || s.slice(pos + 2, end).trim() !== name) {
          throw new XmlError(`<${name}> is closed by ${s.slice(pos, Math.max(end + 1, pos + 2)).slice(0, 40)}`);
        }
        pos = end + 1;
        return [name, hasChildren ? children : textValue];
      } else if (s.startsWith("<!--", pos)) {
        const end = s.indexOf("-->", pos + 4);
        if (end < 0) throw new XmlError("unterminated comment");
        pos = end + 3;
      } else if (s.startsWith("<!", pos) || s.startsWith("<?", pos)) {
        throw new XmlError("declarations and processing instructions are refused");
      } else if (s[pos] === "<") {
        const [child, value] = parseElement(depth + 1);
        if (!(child in children)) children[child] = value; // the first of repeated names
        hasChildren = true;
      } else {
        const next = s.indexOf("<", pos);
        const end = next < 0 ? s.length : next;
        textValue += decodeText(s.slice(pos, end));
        pos = end;
      }
    }
  };

  const [root, value] = parseElement(0);
  skipSpace();
  while (s.startsWith("<!--", pos)) {
    const end = s.indexOf("-->", pos + 4);
    if (end < 0) throw new XmlError("unterminated comment");
    pos = end + 3;
    skipSpace();
  }
  if (pos !== s.length) throw new XmlError("content after the root element");
  if (typeof value === "string") {
    if (value.trim() !== "") throw new XmlError(`<${root}> holds text, expected fields`);
    return { root, fields: {} };
  }
  return { root, fields: value };
}
