// docs/contract.md's table of the function's answers is the STATUS map, both ways: every
// answer the function gives is documented with its status, and the document names no
// answer or status the function does not give.
import contractDoc from "../../../docs/contract.md" with { type: "text" };
import handlerSource from "./handler.ts" with { type: "text" };
import { STATUS } from "./answers.ts";
import { assert, assertEquals } from "./test_helpers.ts";

/** The rows of the Markdown table whose header is `| answer | status | when |`: [answer, status]. */
function answerTable(markdown: string): [string, number][] {
  const lines = markdown.split("\n");
  const header = lines.findIndex((l) => /^\|\s*answer\s*\|\s*status\s*\|\s*when\s*\|\s*$/.test(l));
  assert(header >= 0, "docs/contract.md has no table headed | answer | status | when |");
  assert(/^\|(\s*-+\s*\|){3}\s*$/.test(lines[header + 1] ?? ""), "the answer table has no |---| line");
  const rows: [string, number][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const m = /^`([a-z_]+)`$/.exec(cells[0] ?? "");
    assert(m !== null && /^\d{3}$/.test(cells[1] ?? ""), `not an answer row: ${line}`);
    rows.push([m[1], Number(cells[1])]);
  }
  return rows;
}

Deno.test("docs/contract.md's answer table is the function's STATUS map, both ways", () => {
  const rows = answerTable(contractDoc);
  const documented = new Map(rows);
  assertEquals(documented.size, rows.length, "an answer is documented twice");
  const undocumented = Object.keys(STATUS).filter((k) => !documented.has(k));
  assertEquals(undocumented, [], "answers the function gives that docs/contract.md's table lacks");
  const unknown = rows.filter(([k]) => !Object.hasOwn(STATUS, k)).map(([k]) => k);
  assertEquals(unknown, [], "answers docs/contract.md's table names that the function's STATUS lacks");
  const wrong = rows.filter(([k, s]) => STATUS[k as keyof typeof STATUS] !== s);
  assertEquals(wrong, [], "answers docs/contract.md's table gives another status than STATUS");
});

Deno.test("the table parser reads rows and stops at the table's end", () => {
  const md =
    "text\n\n| answer | status | when |\n|---|---|---|\n| `stored` | 200 | a | b |\n| `too_large` | 413 | x |\n\nafter\n| `x` | 1 | y |\n";
  assertEquals(answerTable(md), [["stored", 200], ["too_large", 413]]);
});

Deno.test("handler.ts answers only statuses of the STATUS map (no literal status codes)", () => {
  const code = handlerSource.split("\n").filter((l) => !/^\s*(\/\/|\*|\/\*\*)/.test(l)).join("\n");
  const literal = /(status:\s*|json\(\s*|text\(\s*|answer\(\s*)[1-5]\d\d\b/.exec(code);
  assertEquals(literal?.[0] ?? null, null, "a status written as a number in handler.ts");
});
