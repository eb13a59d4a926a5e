// Small assertion helpers for the unit tests (std/assert is on jsr, which cannot be fetched here).

export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  if (!cond) throw new Error(message);
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  const a = JSON.stringify(canonical(actual));
  const e = JSON.stringify(canonical(expected));
  if (a !== e) throw new Error(`${message ?? "not equal"}\n  actual:   ${a}\n  expected: ${e}`);
}

export function assertThrows(fn: () => unknown, errorClass: new (...a: never[]) => Error, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof errorClass)) throw new Error(`expected ${errorClass.name}, got ${e}`);
    if (includes && !e.message.includes(includes)) {
      throw new Error(`expected a message with "${includes}", got "${e.message}"`);
    }
    return e;
  }
  throw new Error(`expected ${errorClass.name}, nothing was thrown`);
}
