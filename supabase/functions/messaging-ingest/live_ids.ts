// The ids of the connections that exist, kept in memory, so a webhook URL naming a random
// id is answered 404 without a database lookup of that id.
//
// An id in the set goes on to the store's per-connection read (cached there). An id not in
// it waits for a reload of the whole set that starts after the request arrived, and is 404
// if the reload does not have it either. Reloads start at most once per MIN_INTERVAL_MS
// whatever the number of unknown ids asking (all requests waiting share one), so a flood
// of random ids costs at most one read of the ids per second, and a connection created a
// moment ago works at once (its first delivery waits for one reload, at most about a
// second). A deleted connection stays in the set until the next reload; the store's read
// of it answers that it is gone.

/** The fewest milliseconds between the starts of two reloads. */
export const MIN_INTERVAL_MS = 1000;

export class LiveIds {
  private ids: Set<string> | null = null;
  /** when the reload whose ids are in `ids` started */
  private loadedFrom = -Infinity;
  /** the last reload started or scheduled: when it starts, and its promise */
  private next: { start: number; done: Promise<void> } | null = null;

  constructor(
    private readonly load: () => Promise<Iterable<string>>,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly minIntervalMs = MIN_INTERVAL_MS,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  /**
   * Whether the id names a connection. True (the store decides) when the ids cannot be
   * read: a failure to reload never refuses a real connection.
   */
  async has(id: string): Promise<boolean> {
    if (this.ids?.has(id)) return true;
    const arrived = this.now();
    try {
      await this.reloadStartingAfter(arrived);
    } catch (e) {
      this.onError(e);
      return true;
    }
    return this.ids?.has(id) ?? true;
  }

  /** A reload that starts at or after `t` (shared by every request that needs one). */
  private reloadStartingAfter(t: number): Promise<void> {
    if (this.next && this.next.start >= t) return this.next.done;
    const previous = this.next?.start ?? -Infinity;
    const start = Math.max(t, previous + this.minIntervalMs);
    const done = (async () => {
      const wait = start - this.now();
      if (wait > 0) await this.sleep(wait);
      const began = this.now();
      const ids = new Set(await this.load());
      // an older reload finishing after a newer one never replaces its ids
      if (began >= this.loadedFrom) {
        this.ids = ids;
        this.loadedFrom = began;
      }
    })();
    this.next = { start, done };
    return done;
  }
}
