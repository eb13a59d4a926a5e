import { assertEquals, assertThrows } from "./test_helpers.ts";
import { parseXml, XmlError } from "./xml.ts";

Deno.test("flat documents, CDATA, predefined and numeric entities, a declaration and comments", () => {
  const doc =
    `<?xml version="1.0" encoding="UTF-8"?>\n<!-- push -->\n<xml><A><![CDATA[<b>&amp;</b>]]></A><B>x &lt; y &amp;&#x4E2D;&#25991;</B><C/><D>1</D><D>2</D></xml>`;
  assertEquals(parseXml(doc), { root: "xml", fields: { A: "<b>&amp;</b>", B: "x < y &中文", C: "", D: "1" } });
  assertEquals(parseXml("<xml><Outer><Inner>v</Inner></Outer></xml>").fields, { Outer: { Inner: "v" } });
});

Deno.test("every kind of DTD, entity and processing instruction is refused", () => {
  for (
    const bad of [
      `<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml/>`,
      `<!doctype xml><xml/>`,
      `<xml><!ENTITY a "b"></xml>`,
      `<xml><?php echo 1; ?></xml>`,
      `<xml><A>&custom;</A></xml>`,
      `<xml><A>&#0;</A></xml>`,
      `<xml><A>a & b</A></xml>`,
      `<xml><A>unclosed</xml>`,
      `<xml><A></B></xml>`,
      `<xml></xml><xml></xml>`,
      `<xml>text</xml>`,
      `<xml><A><![CDATA[open</A></xml>`,
      "<xml>" + "<a>".repeat(20) + "</a>".repeat(20) + "</xml>",
    ]
  ) {
    assertThrows(() => parseXml(bad), XmlError);
  }
});
