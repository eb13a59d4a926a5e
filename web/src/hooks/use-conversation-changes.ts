// The live inbox: what changed in the signed-in user's inbox, folded into every cached list
// without reading the lists again. inbox_changes(since) answers the rows whose conversation
// or read marker changed since a cursor (one index range scan per table; nothing when
// nothing changed) and the next cursor; the rows replace the cached ones by id and take
// their place in the list's order. How it learns that something changed:
// - polling (what runs on the local stack, which has no Realtime server): every
//   POLL_VISIBLE_MS while the tab is visible, POLL_HIDDEN_MS while it is hidden, at once
//   when it becomes visible again, and backing off after a 429 (its Retry-After, doubling)
//   or another failure;
// - Supabase Realtime where the deployment runs it (realtimeAvailable()): a postgres_changes
//   event on the user's conversations or read markers asks inbox_changes at once, and the
//   polls slow to POLL_REALTIME_MS as a safety net. This path cannot run here (no Realtime
//   server on the local stack): it is untested code; a channel that fails falls back to
//   polling.
import { useMutation, useQuery, useQueryClient, type InfiniteData, type QueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useAuth, useSupabase } from "../auth/context";
import { isTooManyRequests, raise, retryDelay } from "../lib/errors";
import type { ConversationListItem, InboxFilters } from "../types/messaging";

/** How often the inbox asks what changed while the tab is visible. */
export const POLL_VISIBLE_MS = 2_000;
/** ... while the tab is hidden (it asks at once when the tab shows again). */
export const POLL_HIDDEN_MS = 60_000;
/** ... while a Realtime channel says when something changed (a safety net). */
export const POLL_REALTIME_MS = 30_000;
/** The longest wait after failures that were not a 429. */
const MAX_BACKOFF_MS = 30_000;

/**
 * Whether the deployment runs a Realtime server: every hosted Supabase project does, the
 * local stack (`make stack`, a `__LOCAL_STACK__` build) does not. VITE_SUPABASE_REALTIME
 * ("1" / "0") overrides it, e.g. "1" for a `supabase start` stack, "0" for a self-hosted
 * one without Realtime. (A function: the unit tests import this module outside Vite.)
 */
export function realtimeAvailable(): boolean {
  const flag = (import.meta.env as ImportMetaEnv | undefined)?.VITE_SUPABASE_REALTIME;
  if (flag === "1" || flag === "0") return flag === "1";
  return typeof __LOCAL_STACK__ !== "undefined" && !__LOCAL_STACK__;
}

export const inboxKeys = {
  /** How many conversations have unread messages (the navigation's count). */
  unreadTotal: ["conversations", "unread-total"] as const,
};

/**
 * The changes cursor of each query client (one per signed-in app): the point the next poll
 * asks from. Not in the query cache, whose unobserved entries are dropped after a while.
 */
const cursors = new WeakMap<QueryClient, number>();
/** Asks the running useInboxChanges of a query client to poll now. */
const pokes = new WeakMap<QueryClient, () => void>();

/** Has useInboxChanges ask what changed now (after the user's own change: read, unread). */
export function pokeInboxChanges(queryClient: QueryClient): void {
  pokes.get(queryClient)?.();
}

/**
 * Marks a conversation unread (mark_conversation_unread: the read marker moves back before
 * its newest inbound message) and has the changes poll bring the row and the count at once.
 */
export function useMarkUnread() {
  const supabase = useSupabase();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (conversationId: string) => {
      const { data, error } = await supabase
        .rpc("mark_conversation_unread", { conversation_id: conversationId })
        .retry(false);
      if (error) raise(error);
      return data;
    },
    onSuccess: () => pokeInboxChanges(queryClient),
  });
}

/** (last_message_at desc, id desc): the inbox's order. */
export function compareInbox(
  a: Pick<ConversationListItem, "last_message_at" | "id">,
  b: Pick<ConversationListItem, "last_message_at" | "id">,
): number {
  const ta = a.last_message_at ? Date.parse(a.last_message_at) : Number.POSITIVE_INFINITY;
  const tb = b.last_message_at ? Date.parse(b.last_message_at) : Number.POSITIVE_INFINITY;
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function matches(c: ConversationListItem, filters: InboxFilters): boolean {
  if (!c.last_message_at) return false;
  if (filters.platform && c.platform !== filters.platform) return false;
  if (filters.unlinkedOnly && c.person_id !== null) return false;
  return true;
}

/**
 * A loaded inbox (pages newest first) with changed rows folded in: each changed row leaves
 * its old place and, when it matches the filters, takes its place in the order, if that
 * place lies within the loaded pages (or the list is loaded to its end). The pages keep
 * their sizes but the last, which takes what is left, so paging on goes on from the same
 * tail. Returns null when a row left the filtered list: the list must be read again.
 */
export function foldChanges(
  pages: ConversationListItem[][],
  changed: ConversationListItem[],
  filters: InboxFilters,
  pageSize: number,
): ConversationListItem[][] | null {
  if (changed.length === 0 || pages.length === 0) return pages;
  const byId = new Map(changed.map((c) => [c.id, c]));
  const rows = pages.flat();
  const last = pages[pages.length - 1]!;
  const complete = last.length < pageSize; // loaded to the end of the list
  const tail = rows[rows.length - 1];
  let left = false;
  const kept = rows.filter((c) => {
    const fresh = byId.get(c.id);
    if (fresh && !matches(fresh, filters)) left = true;
    return !fresh;
  });
  if (left) return null;
  for (const c of changed) {
    if (!matches(c, filters)) continue;
    if (!complete && tail && compareInbox(c, tail) > 0) continue; // beyond the loaded pages
    kept.push(c);
  }
  kept.sort(compareInbox);
  const out: ConversationListItem[][] = [];
  for (let i = 0; i < pages.length - 1; i++) out.push(kept.slice(i * pageSize, (i + 1) * pageSize));
  out.push(kept.slice((pages.length - 1) * pageSize));
  return out;
}

/**
 * Puts changed rows into every cached list, search result and conversation summary that was
 * read before the poll asked (askedAt, ms): one read after it may already hold a newer
 * version of a row (the refetch after the user's own change) and is left as it is.
 */
export function applyChanges(
  queryClient: QueryClient,
  changed: ConversationListItem[],
  pageSize: number,
  askedAt: number,
): void {
  if (changed.length === 0) return;
  const byId = new Map(changed.map((c) => [c.id, c]));
  const replace = (c: ConversationListItem) => byId.get(c.id) ?? c;
  for (const q of queryClient.getQueryCache().findAll({ queryKey: ["conversations"] })) {
    if (q.state.dataUpdatedAt > askedAt) continue;
    const kind = q.queryKey[1];
    // each cached list keeps its age: this is not a fresh read of the whole list
    const keepAge = { updatedAt: q.state.dataUpdatedAt };
    if (kind === "list") {
      const filters = q.queryKey[2] as InboxFilters;
      const old = q.state.data as InfiniteData<ConversationListItem[]> | undefined;
      if (!old) continue;
      const pages = foldChanges(old.pages, changed, filters, pageSize);
      if (pages === null) void queryClient.invalidateQueries({ queryKey: q.queryKey, exact: true });
      else queryClient.setQueryData(q.queryKey, { ...old, pages }, keepAge);
    } else if (kind === "one") {
      const fresh = byId.get(q.queryKey[2] as string);
      if (fresh) queryClient.setQueryData(q.queryKey, fresh, keepAge);
    } else if (kind === "person") {
      const old = q.state.data as ConversationListItem[] | undefined;
      if (old) queryClient.setQueryData(q.queryKey, old.map(replace), keepAge);
    } else if (kind === "by-name") {
      const old = q.state.data as { rows: ConversationListItem[] } | undefined;
      if (old) queryClient.setQueryData(q.queryKey, { ...old, rows: old.rows.map(replace) }, keepAge);
    }
  }
}

/** The first answer of inbox_changes: a cursor (no rows) and the unread count. */
export async function readCursor(
  supabase: ReturnType<typeof useSupabase>,
  queryClient: QueryClient,
  signal?: AbortSignal,
): Promise<number> {
  let call = supabase.rpc("inbox_changes", {}).retry(false);
  if (signal) call = call.abortSignal(signal);
  const { data, error } = await call;
  if (error) raise(error);
  queryClient.setQueryData(inboxKeys.unreadTotal, data.unread_conversations ?? 0);
  return data.cursor;
}

/**
 * Call after a list's first page is read with a cursor taken before it: the changes poll
 * goes on from the older of its own cursor and that one (a re-read list never misses a
 * change that committed between its cursor and its rows).
 */
export function noteListCursor(queryClient: QueryClient, cursor: number): void {
  const own = cursors.get(queryClient);
  cursors.set(queryClient, own === undefined ? cursor : Math.min(own, cursor));
}

/**
 * How many conversations have unread messages (undefined until the first answer): written
 * by useInboxChanges' polls and the inbox's first page, never read on its own.
 */
export function useUnreadTotal(): number | undefined {
  const queryClient = useQueryClient();
  const { data } = useQuery({
    queryKey: inboxKeys.unreadTotal,
    queryFn: () => queryClient.getQueryData<number>(inboxKeys.unreadTotal) ?? 0,
    enabled: false,
  });
  return data;
}

/**
 * Keeps the cached inbox current: polls inbox_changes (or, where Realtime runs, asks it
 * when a change event arrives) and folds the changed rows in. Mount it once, for as long
 * as the user is signed in (the navigation does).
 */
export function useInboxChanges(pageSize: number): void {
  const supabase = useSupabase();
  const { user } = useAuth();
  const queryClient = useQueryClient();

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let again = false;
    let failures = 0;
    let realtime = false;
    const controller = new AbortController();

    const delay = (error?: unknown): number => {
      if (error !== undefined) {
        failures += 1;
        if (isTooManyRequests(error)) return retryDelay(failures, error);
        return Math.min(POLL_VISIBLE_MS * 2 ** failures, MAX_BACKOFF_MS);
      }
      failures = 0;
      if (document.visibilityState === "hidden") return POLL_HIDDEN_MS;
      return realtime ? POLL_REALTIME_MS : POLL_VISIBLE_MS;
    };

    const schedule = (ms: number) => {
      if (stopped) return;
      clearTimeout(timer);
      timer = setTimeout(() => void poll(), ms);
    };

    async function poll(): Promise<void> {
      if (stopped) return;
      if (running) {
        again = true; // a poll is on its way: ask once more when it answers
        return;
      }
      running = true;
      let wait: number;
      try {
        const since = cursors.get(queryClient);
        if (since === undefined) {
          noteListCursor(queryClient, await readCursor(supabase, queryClient, controller.signal));
        } else {
          const askedAt = Date.now();
          const { data, error } = await supabase
            .rpc("inbox_changes", { since })
            .abortSignal(controller.signal)
            .retry(false);
          if (error) raise(error);
          // a list re-read meanwhile may have set an older cursor: keep the older one
          const now = cursors.get(queryClient) ?? since;
          cursors.set(queryClient, now < since ? now : data.cursor);
          if (data.reload) {
            // the lists and summaries, not the threads' pages (their own polls see new messages)
            const lists = new Set<unknown>(["list", "person", "by-name", "one"]);
            void queryClient.invalidateQueries({
              queryKey: ["conversations"],
              predicate: (q) => lists.has(q.queryKey[1]),
            });
          } else {
            applyChanges(queryClient, data.conversations, pageSize, askedAt);
          }
          if (data.unread_conversations !== null) {
            queryClient.setQueryData(inboxKeys.unreadTotal, data.unread_conversations);
          }
        }
        wait = delay();
      } catch (error) {
        if (stopped) return;
        wait = delay(error);
      } finally {
        running = false;
      }
      if (again) {
        again = false;
        wait = 0;
      }
      schedule(wait);
    }

    const onVisible = () => {
      if (document.visibilityState === "visible") schedule(0);
    };
    document.addEventListener("visibilitychange", onVisible);

    // Realtime where it runs (not on the local stack: this block is not run by its tests)
    let channel: ReturnType<typeof supabase.channel> | undefined;
    if (realtimeAvailable()) {
      const ask = () => schedule(150); // a burst of events asks once
      channel = supabase
        .channel(`inbox-changes:${user.id}`)
        .on(
          "postgres_changes",
          { event: "*", schema: "public", table: "chat_conversations", filter: `user_id=eq.${user.id}` },
          ask,
        )
        .on(
          "postgres_changes",
          { event: "*", schema: "public", table: "chat_conversation_read_markers", filter: `user_id=eq.${user.id}` },
          ask,
        )
        .subscribe((status) => {
          // SUBSCRIBED: events say when to ask; CHANNEL_ERROR, TIMED_OUT, CLOSED: poll
          realtime = status === "SUBSCRIBED";
          if (!realtime) schedule(0);
        });
    }

    pokes.set(queryClient, () => void poll());
    schedule(0);
    return () => {
      stopped = true;
      pokes.delete(queryClient);
      clearTimeout(timer);
      controller.abort();
      document.removeEventListener("visibilitychange", onVisible);
      if (channel) void supabase.removeChannel(channel);
    };
  }, [supabase, user.id, queryClient, pageSize]);
}
