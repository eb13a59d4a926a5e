// Data access for the messaging screens: every read and write of the public contract
// (chat_conversation_list, get_conversation_messages, the link columns of
// chat_conversations) goes through these hooks (the search's: use-message-search.ts).
// Components only render.
import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";
import { noteListCursor, pokeInboxChanges, readCursor } from "./use-conversation-changes";
import type { ChatMessage, ConversationListItem, InboxFilters, MessageCursor, ThreadAnchor } from "../types/messaging";

/** Conversations per inbox page; more load as the list scrolls. */
export const INBOX_PAGE_SIZE = 50;
/** Messages per thread page; older pages load as the thread scrolls up. */
export const THREAD_PAGE_SIZE = 50;
/** How often an open thread's newest page is read again (useLatestMessages). */
export const INBOX_REFRESH_MS = 30_000;
/**
 * How often the inbox's loaded pages are read whole again: a safety net, since changes
 * arrive through useInboxChanges (every 2 s, or by Realtime where it runs).
 */
export const LIST_RELOAD_MS = 300_000;
/**
 * How often an open conversation's summary row is read again: a new message moves its
 * updated_at, and only then is the thread's newest page read (one small row per poll).
 */
export const THREAD_REFRESH_MS = 3_000;

// one literal (not a concatenation): supabase-js reads the rows' type out of it, which is
// ConversationListItem (the queries below check that with `satisfies`)
const LIST_COLUMNS = `id, platform, external_conversation_id, participant_identifier, participant_name,
  conversation_type, person_id, entity_table, entity_id, connection_id, message_count,
  first_message_at, last_message_at, last_message_preview, user_id, created_at, updated_at,
  person:people(id, full_name), read:chat_conversation_read_markers(last_read_at, read_message_count)`;

export const conversationKeys = {
  all: ["conversations"] as const,
  list: (filters: InboxFilters) => ["conversations", "list", filters] as const,
  byPerson: (personId: string) => ["conversations", "person", personId] as const,
  one: (id: string) => ["conversations", "one", id] as const,
  latest: (id: string) => ["conversations", "latest", id] as const,
  messages: (id: string, anchor: ThreadAnchor | null, jump: ThreadJump | null = null) =>
    [
      "conversations",
      "messages",
      id,
      anchor?.id ?? null,
      anchor?.sent_at ?? null,
      jump ? (jump.at ?? "start") : null,
    ] as const,
};

/** The keyset cursor of the inbox: (last_message_at, id), newest first. */
interface InboxCursor {
  last_message_at: string;
  id: string;
}

/**
 * The inbox, newest first, in keyset pages of INBOX_PAGE_SIZE (so 5,000 conversations
 * cost one page at a time, and a conversation that moves up never repeats a row).
 * Kept current by useInboxChanges (changed rows folded in, no re-read); read whole again
 * only every LIST_RELOAD_MS. The first page is read after a changes cursor is taken, so
 * the polls go on from a point no later than the rows: no change falls between them.
 */
export function useConversationList(filters: InboxFilters) {
  const supabase = useSupabase();
  const queryClient = useQueryClient();
  return useInfiniteQuery({
    queryKey: conversationKeys.list(filters),
    initialPageParam: null as InboxCursor | null,
    queryFn: async ({ pageParam, signal }) => {
      if (!pageParam) noteListCursor(queryClient, await readCursor(supabase, queryClient, signal));
      let query = supabase
        .from("chat_conversation_list")
        .select(LIST_COLUMNS)
        .not("last_message_at", "is", null)
        .order("last_message_at", { ascending: false })
        .order("id", { ascending: false })
        .limit(INBOX_PAGE_SIZE)
        .abortSignal(signal)
        .retry(false);
      if (filters.platform) query = query.eq("platform", filters.platform);
      if (filters.unlinkedOnly) query = query.is("person_id", null);
      if (filters.linkedOnly) query = query.not("person_id", "is", null);
      if (pageParam) {
        query = query.or(
          `last_message_at.lt."${pageParam.last_message_at}",` +
            `and(last_message_at.eq."${pageParam.last_message_at}",id.lt.${pageParam.id})`,
        );
      }
      const { data, error } = await query;
      if (error) raise(error);
      return data satisfies ConversationListItem[];
    },
    getNextPageParam: (last): InboxCursor | undefined => {
      const tail = last[last.length - 1];
      if (last.length < INBOX_PAGE_SIZE || !tail?.last_message_at) return undefined;
      return { last_message_at: tail.last_message_at, id: tail.id };
    },
    refetchInterval: LIST_RELOAD_MS,
    refetchOnWindowFocus: false,
    placeholderData: keepPreviousData,
  });
}

/** One conversation's summary (null when it does not exist or is not the user's). */
export function useConversation(id: string) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: conversationKeys.one(id),
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("chat_conversation_list")
        .select(LIST_COLUMNS)
        .eq("id", id)
        .abortSignal(signal)
        .retry(false)
        .maybeSingle();
      if (error) raise(error);
      return data satisfies ConversationListItem | null;
    },
    refetchInterval: THREAD_REFRESH_MS,
  });
}

/** A person's conversations on every platform, newest first (the Messages tab). */
export function usePersonConversations(personId: string) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: conversationKeys.byPerson(personId),
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("chat_conversation_list")
        .select(LIST_COLUMNS)
        .eq("person_id", personId)
        .order("last_message_at", { ascending: false, nullsFirst: false })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data satisfies ConversationListItem[];
    },
  });
}

/** Where a thread opens instead of its newest message: its first message (at null) or a time. */
export interface ThreadJump {
  at: string | null;
}

/**
 * A page of a thread: older than a cursor (scrolling up), newer (down from a search hit or a
 * jump), or the page a jump lands on (get_conversation_messages_at: one read).
 */
export type ThreadPageParam =
  | ({ dir: "older" } & MessageCursor)
  | { dir: "newer"; after_sent_at: string; after_id: string }
  | { dir: "jump"; at: string | null }
  | null;

/**
 * A thread, pages newest first, each page newest first. Older pages are fetched with
 * get_conversation_messages' (before_sent_at, before_id) cursor down to the first message.
 * With an anchor (a search hit) the first page ends at that message (the cursor sits just
 * after it: ids compare in "C" order, and no id can lie between `id` and `id + "\u0001"`),
 * and newer pages come from get_conversation_messages_after (fetchPreviousPage), up to the
 * newest message: the thread pages both ways around the hit.
 */
export function useConversationMessages(
  conversationId: string,
  anchor: ThreadAnchor | null,
  jump: ThreadJump | null = null,
) {
  const supabase = useSupabase();
  return useInfiniteQuery({
    queryKey: conversationKeys.messages(conversationId, anchor, jump),
    initialPageParam: (anchor
      ? { dir: "older", before_sent_at: anchor.sent_at, before_id: `${anchor.id}\u0001` }
      : jump
        ? { dir: "jump", at: jump.at }
        : null) as ThreadPageParam,
    queryFn: async ({ pageParam, signal }) => {
      if (pageParam?.dir === "jump") {
        // the page at a time (or the first page) in one read of the chunk holding it
        const { data, error } = await supabase
          .rpc("get_conversation_messages_at", {
            conversation_id: conversationId,
            max_count: THREAD_PAGE_SIZE,
            ...(pageParam.at ? { at: pageParam.at } : {}),
          })
          .abortSignal(signal)
          .retry(false);
        if (error) raise(error);
        return (data ?? []).slice().reverse();
      }
      if (pageParam?.dir === "newer") {
        const { data, error } = await supabase
          .rpc("get_conversation_messages_after", {
            conversation_id: conversationId,
            max_count: THREAD_PAGE_SIZE,
            after_sent_at: pageParam.after_sent_at,
            after_id: pageParam.after_id,
          })
          .abortSignal(signal)
          .retry(false);
        if (error) raise(error);
        // oldest first from the database: newest first like every other page
        return (data ?? []).slice().reverse();
      }
      const { data, error } = await supabase
        .rpc("get_conversation_messages", {
          conversation_id: conversationId,
          max_count: THREAD_PAGE_SIZE,
          ...(pageParam ? { before_sent_at: pageParam.before_sent_at, before_id: pageParam.before_id } : {}),
        })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data ?? [];
    },
    getNextPageParam: (last, _all, lastParam): ThreadPageParam | undefined => {
      const oldest = last[last.length - 1];
      if (last.length < THREAD_PAGE_SIZE || !oldest) return undefined;
      if (lastParam?.dir === "jump" && lastParam.at === null) return undefined; // the first page
      return { dir: "older", before_sent_at: oldest.sent_at, before_id: oldest.id };
    },
    getPreviousPageParam: (first, _all, firstParam): ThreadPageParam | undefined => {
      if (!anchor && !jump) return undefined; // a thread opened at its newest message
      if ((firstParam?.dir === "newer" || firstParam?.dir === "jump") && first.length < THREAD_PAGE_SIZE) {
        return undefined;
      }
      const newest = first[0];
      if (!newest) return undefined;
      return { dir: "newer", after_sent_at: newest.sent_at, after_id: newest.id };
    },
    refetchOnWindowFocus: false,
    staleTime: 60_000,
  });
}

/**
 * The newest page of a thread, polled like the inbox (on focus and every
 * INBOX_REFRESH_MS), so an open thread shows new and edited messages. It starts from
 * the thread's own first page, so opening a thread costs no extra request.
 */
export function useLatestMessages(
  conversationId: string,
  enabled: boolean,
  firstPage: ChatMessage[] | undefined,
  firstPageAt: number,
) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: conversationKeys.latest(conversationId),
    enabled,
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .rpc("get_conversation_messages", {
          conversation_id: conversationId,
          max_count: THREAD_PAGE_SIZE,
        })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data ?? [];
    },
    initialData: firstPage,
    initialDataUpdatedAt: firstPageAt,
    staleTime: INBOX_REFRESH_MS,
    refetchInterval: INBOX_REFRESH_MS,
    refetchOnWindowFocus: "always",
  });
}

/**
 * The thread's placeholders (get_conversation_placeholders): outbound messages the store has
 * only statuses of, sent by another tool; polled with the newest page, so one the message's
 * copy fills goes away.
 */
export function usePlaceholders(conversationId: string) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: [...conversationKeys.latest(conversationId), "placeholders"],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .rpc("get_conversation_placeholders", { conversation_id: conversationId })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data ?? [];
    },
    staleTime: INBOX_REFRESH_MS,
    refetchInterval: INBOX_REFRESH_MS,
    refetchOnWindowFocus: "always",
  });
}

/**
 * A loaded thread (oldest -> newest) with the placeholders placed by time: those a stored
 * copy has filled are left out, and so are those older than the oldest loaded message while
 * older pages remain (they show when that page is read).
 */
export function withPlaceholders(
  loaded: ChatMessage[],
  placeholders: ChatMessage[] | undefined,
  complete: boolean,
): ChatMessage[] {
  if (!placeholders || placeholders.length === 0) return loaded;
  const known = new Set(loaded.map((m) => m.id));
  const oldest = loaded[0];
  const shown = placeholders.filter(
    (p) => !known.has(p.id) && (complete || (oldest !== undefined && compareMessages(p, oldest) > 0)),
  );
  return shown.length ? [...loaded, ...shown].sort(compareMessages) : loaded;
}

/** (sent_at, id) order of messages, as the database keeps them. */
export function compareMessages(a: ChatMessage, b: ChatMessage): number {
  const t = Date.parse(a.sent_at) - Date.parse(b.sent_at);
  if (t !== 0) return t;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A loaded thread (oldest -> newest) with the newest page folded in: edited messages
 * replaced, new ones appended. `gap` is true when more arrived than one page holds.
 */
export function mergeLatest(
  loaded: ChatMessage[],
  latest: ChatMessage[] | undefined,
): { messages: ChatMessage[]; gap: boolean } {
  const newest = loaded[loaded.length - 1];
  if (!latest || latest.length === 0 || !newest) return { messages: loaded, gap: false };
  const fresh = new Map(latest.map((m) => [m.id, m]));
  const known = new Set(loaded.map((m) => m.id));
  const merged = loaded.map((m) => fresh.get(m.id) ?? m);
  const newer = latest.filter((m) => !known.has(m.id) && compareMessages(m, newest) > 0).reverse();
  const oldestLatest = latest[latest.length - 1];
  const gap =
    latest.length >= THREAD_PAGE_SIZE &&
    oldestLatest !== undefined &&
    !known.has(oldestLatest.id) &&
    compareMessages(oldestLatest, newest) > 0;
  return { messages: newer.length ? merged.concat(newer) : merged, gap };
}

/** True when the conversation has messages newer than the user's read marker. */
export function isUnread(c: Pick<ConversationListItem, "last_message_at" | "read">): boolean {
  if (!c.last_message_at) return false;
  const read = c.read?.[0]?.last_read_at;
  return !read || Date.parse(read) < Date.parse(c.last_message_at);
}

/**
 * How many messages came since the user's read marker (0 when read): message_count less
 * the count the marker was set at, at least 1 for an unread conversation.
 */
export function unreadCount(c: Pick<ConversationListItem, "last_message_at" | "read" | "message_count">): number {
  if (!isUnread(c)) return 0;
  return Math.max(1, c.message_count - (c.read?.[0]?.read_message_count ?? 0));
}

/**
 * Marks a conversation read up to its newest message (mark_conversation_read) and puts
 * the marker into every cached list, so the unread dot goes without reading the list again.
 */
export function useMarkRead() {
  const supabase = useSupabase();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (conversationId: string) => {
      const { data, error } = await supabase
        .rpc("mark_conversation_read", { conversation_id: conversationId })
        .retry(false);
      if (error) raise(error);
      return { conversationId, lastReadAt: data as string | null };
    },
    onSuccess: ({ conversationId, lastReadAt }) => {
      if (!lastReadAt) return;
      const mark = (c: ConversationListItem) =>
        c.id === conversationId
          ? { ...c, read: [{ last_read_at: lastReadAt, read_message_count: c.message_count }] }
          : c;
      pokeInboxChanges(queryClient); // the navigation's count follows at once
      // each cached list keeps its own age: the marker is not a fresh read of the list, so
      // the next focus or interval refetch still happens
      for (const q of queryClient.getQueryCache().findAll({ queryKey: ["conversations"] })) {
        const kind = q.queryKey[1];
        // (search-contacts: the search's matching conversations, use-message-search.ts)
        if (kind !== "list" && kind !== "person" && kind !== "search-contacts") continue;
        queryClient.setQueryData(
          q.queryKey,
          (old: unknown) => {
            if (!old) return old;
            if (kind === "list") {
              const o = old as { pages: ConversationListItem[][]; pageParams: unknown[] };
              return { ...o, pages: o.pages.map((p) => p.map(mark)) };
            }
            if (kind === "search-contacts") {
              const o = old as { pages: { rows: ConversationListItem[]; more: boolean }[] };
              return { ...o, pages: o.pages.map((p) => ({ ...p, rows: p.rows.map(mark) })) };
            }
            return (old as ConversationListItem[]).map(mark);
          },
          { updatedAt: q.state.dataUpdatedAt },
        );
      }
      const one = queryClient.getQueryState(conversationKeys.one(conversationId));
      queryClient.setQueryData<ConversationListItem | null>(
        conversationKeys.one(conversationId),
        (old) => (old ? mark(old) : old),
        { updatedAt: one?.dataUpdatedAt ?? 0 },
      );
    },
  });
}

/** What link_conversation_to_person and create_person_from_conversation answer. */
export interface PersonLink {
  conversation_id: string;
  person_id: string;
  /** The participant identifier recorded on the person (null for a group). */
  identifier: { kind: string; platform: string | null; value: string } | null;
  /** The person's conversations now, the others of that identifier included. */
  person_conversations: number;
  full_name?: string;
  created?: boolean;
}

/**
 * Links a conversation to a person with link_conversation_to_person, which also records the
 * conversation's participant (phone, username or id) on the person, so the person's other
 * conversations of that identifier link at once; or unlinks it with null (an update of the
 * link column `person_id`, which RLS allows only on the user's own conversations).
 */
export function useLinkConversation(conversationId: string) {
  const supabase = useSupabase();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (personId: string | null) => {
      if (personId) {
        const { data, error } = await supabase
          .rpc("link_conversation_to_person", { conversation_id: conversationId, person_id: personId })
          .retry(false);
        if (error) raise(error);
        return data as unknown as PersonLink;
      }
      const { data, error } = await supabase
        .from("chat_conversations")
        .update({ person_id: null })
        .eq("id", conversationId)
        .select("id, person_id")
        .retry(false);
      if (error) raise(error);
      if (!data || data.length === 0) {
        throw new Error("The conversation was not updated (it is not yours, or it is gone).");
      }
      return null;
    },
    onSuccess: (link) => {
      if (link === null) showLink(queryClient, conversationId, null);
      else if (link.full_name) showLink(queryClient, conversationId, { id: link.person_id, full_name: link.full_name });
      void queryClient.invalidateQueries({ queryKey: conversationKeys.all });
      void queryClient.invalidateQueries({ queryKey: ["people"] });
    },
  });
}

/**
 * Puts a new link into the conversation's cached summary at once (the thread's title and
 * the contact panel show the person without waiting for the refetch the caller asks for).
 * The summary keeps its age: this is not a fresh read of the row.
 */
function showLink(
  queryClient: ReturnType<typeof useQueryClient>,
  conversationId: string,
  person: { id: string; full_name: string } | null,
): void {
  const key = conversationKeys.one(conversationId);
  const state = queryClient.getQueryState(key);
  queryClient.setQueryData<ConversationListItem | null>(
    key,
    (old) => (old ? { ...old, person_id: person?.id ?? null, person } : old),
    { updatedAt: state?.dataUpdatedAt ?? 0 },
  );
}

/**
 * Creates a person from a conversation's contact with create_person_from_conversation: the
 * name, the phone when the contact is one, the participant's identifier recorded on the
 * person and the conversation (and the others of that identifier) linked, in one call. A
 * retry after a lost answer creates nobody twice.
 */
export function useCreatePersonFromConversation(conversation: ConversationListItem) {
  const supabase = useSupabase();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (fullName: string) => {
      const name = fullName.trim();
      if (!name) throw new Error("The person needs a name.");
      const { data, error } = await supabase
        .rpc("create_person_from_conversation", { conversation_id: conversation.id, full_name: name })
        .retry(false);
      if (error) raise(error);
      const link = data as unknown as PersonLink;
      return { id: link.person_id, full_name: link.full_name ?? name, link };
    },
    onSuccess: (person) => {
      showLink(queryClient, conversation.id, { id: person.id, full_name: person.full_name });
      void queryClient.invalidateQueries({ queryKey: conversationKeys.all });
      void queryClient.invalidateQueries({ queryKey: ["people"] });
    },
  });
}
