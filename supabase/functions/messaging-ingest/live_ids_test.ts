// The cached set of connection ids (live_ids.ts), with a clock of the test's own.
import { LiveIds } from "./live_ids.ts";
import { assertEquals } from "./test_helpers.ts";

function fixture(initial: string[]) {
  let now = 0;
  const ids = new Set(initial);
  const loads: number[] = [];
  const live = new LiveIds(
    () => {
      loads.push(now);
      return Promise.resolve([...ids]);
    },
    () => now,
    (ms) => {
      now += ms; // sleeping moves the clock
      return Promise.resolve();
    },
  );
  return { live, ids, loads, tick: (ms: number) => (now += ms) };
}

Deno.test("random ids cost at most one load a second, whatever their number", async () => {
  const f = fixture(["a"]);
  assertEquals(await f.live.has("a"), true);
  f.tick(1);
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => f.live.has(`random-${i}`)));
  assertEquals(answers.every((a) => a === false), true);
  assertEquals(f.loads.length, 2, "the first load, then one shared by all fifty");
  assertEquals(f.loads[1] - f.loads[0] >= 1000, true);
  assertEquals(await f.live.has("a"), true);
  assertEquals(f.loads.length, 2, "a known id costs no load");
});

Deno.test("a connection created a moment ago works at once: its id waits for one load", async () => {
  const f = fixture(["a"]);
  await f.live.has("nope");
  f.ids.add("fresh");
  f.tick(10);
  assertEquals(await f.live.has("fresh"), true);
  f.ids.add("fresher"); // created just after a load: the next one starts a second after it
  f.tick(1);
  assertEquals(await f.live.has("fresher"), true);
  assertEquals(f.loads.length, 3);
});

Deno.test("when the ids cannot be read, the id is let through (the store decides)", async () => {
  const live = new LiveIds(() => Promise.reject(new Error("down")), () => 0, () => Promise.resolve());
  assertEquals(await live.has("anything"), true);
});
