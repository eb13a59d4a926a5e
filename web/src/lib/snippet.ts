/** A search snippet split at its [[ ]] markers: odd parts are the matches. */
export function snippetParts(snippet: string): { text: string; match: boolean }[] {
  return snippet
    .split(/\[\[(.*?)\]\]/s)
    .map((text, i) => ({ text, match: i % 2 === 1 }))
    .filter((p) => p.text !== "");
}
