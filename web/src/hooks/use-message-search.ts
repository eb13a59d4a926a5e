// Data access of the inbox's search: conversations whose contact matches
// (search_conversations: the exact name first, keyset pages), messages whose words match
// (search_messages), and the search's state in the URL (query and every filter), so a
// reload, a shared link and back / forward keep them. Components only render.
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useCallback, useRef, useState } from "react";
import { useSearchParams } from "react-router-dom";
import contract from "@shared/contract.json" with { type: "json" };
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";
import { isPlatform, type ConversationListItem, type Platform, type SearchHit } from "../types/messaging";

/** Conversations per page of the contact search; "Show more conversations" asks for the next. */
export const CONVERSATION_SEARCH_PAGE_SIZE = 20;
/** Search hits per page: "Show more results" asks for this many more. */
export const SEARCH_PAGE_SIZE = 50;
/** search_messages answers at most this many hits (its max_count bound, a contract limit). */
export const SEARCH_MAX_HITS = contract.limits.search_max_hits.value;

/** How a conversation matched the query: its name equals it, starts with it, or holds its words. */
export type ContactMatch = "exact" | "prefix" | "contains";

/** One row of search_conversations: the inbox's row, and how it matched. */
export type ConversationHit = ConversationListItem & { match: ContactMatch };

/** One hit of search_messages, with where it matched (only the sender's name ranks last). */
export type MessageHit = SearchHit & { matched_in?: "text" | "sender_name" };

export type LinkedFilter = "linked" | "unlinked";
export type DirectionFilter = "inbound" | "outbound";

/** The search box and every filter, as the URL holds them. */
export interface SearchState {
  q: string;
  platform: Platform | null;
  linked: LinkedFilter | null;
  /** First day (YYYY-MM-DD, local), inclusive. */
  from: string | null;
  /** Last day (YYYY-MM-DD, local), inclusive. */
  to: string | null;
  direction: DirectionFilter | null;
  /** A person's id: their conversations and messages only. */
  person: string | null;
}

/** The URL's names of the search state (beside the thread's own `msg` and `at`). */
export const SEARCH_PARAMS = ["q", "platform", "linked", "from", "to", "dir", "person"] as const;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The search state of a URL's query string; a value that means nothing is left out. */
export function parseSearchState(params: URLSearchParams): SearchState {
  const platform = params.get("platform") ?? "";
  const linked = params.get("linked");
  const dir = params.get("dir");
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const person = params.get("person") ?? "";
  return {
    q: params.get("q") ?? "",
    platform: isPlatform(platform) ? platform : null,
    linked: linked === "linked" || linked === "unlinked" ? linked : null,
    from: DAY.test(from) && !Number.isNaN(Date.parse(from)) ? from : null,
    to: DAY.test(to) && !Number.isNaN(Date.parse(to)) ? to : null,
    direction: dir === "inbound" || dir === "outbound" ? dir : null,
    person: UUID.test(person) ? person : null,
  };
}

/** The query string of a search state (only what is set). */
export function searchStateParams(state: SearchState): URLSearchParams {
  const out = new URLSearchParams();
  if (state.q.trim()) out.set("q", state.q);
  if (state.platform) out.set("platform", state.platform);
  if (state.linked) out.set("linked", state.linked);
  if (state.from) out.set("from", state.from);
  if (state.to) out.set("to", state.to);
  if (state.direction) out.set("dir", state.direction);
  if (state.person) out.set("person", state.person);
  return out;
}

/** A link with the current search state added to its query string (a thread keeps the search). */
export function withSearchState(href: string, state: SearchState): string {
  const extra = searchStateParams(state);
  if ([...extra.keys()].length === 0) return href;
  const [path, query = ""] = href.split("?", 2);
  const params = new URLSearchParams(query);
  extra.forEach((value, key) => params.set(key, value));
  return `${path}?${params.toString()}`;
}

/**
 * The search state in the URL, and a setter. A filter change is a history entry (back
 * undoes it); typing in the search box replaces the entry (`replace`), so back does not
 * walk through every letter. The router applies a navigation as a transition, so the
 * state is also kept here and changed at once: a checkbox shows its tick on the click,
 * and two quick changes both land (each builds on the last, not on the URL not yet updated).
 */
export function useSearchState(): [SearchState, (patch: Partial<SearchState>, replace?: boolean) => void] {
  const [params, setParams] = useSearchParams();
  const key = params.toString();
  const [local, setLocal] = useState(() => parseSearchState(params));
  const [seenKey, setSeenKey] = useState(key);
  const latest = useRef(local);
  if (seenKey !== key) {
    // the URL changed (this setter's navigation landing, back / forward, a link): follow it
    const fromUrl = parseSearchState(params);
    setSeenKey(key);
    setLocal(fromUrl);
    latest.current = fromUrl;
  }
  const update = useCallback(
    (patch: Partial<SearchState>, replace = false) => {
      const next = { ...latest.current, ...patch };
      latest.current = next;
      setLocal(next);
      setParams(
        (prev) => {
          const out = new URLSearchParams(prev);
          for (const name of SEARCH_PARAMS) out.delete(name);
          searchStateParams(next).forEach((v, k) => out.set(k, v));
          return out;
        },
        { replace },
      );
    },
    [setParams],
  );
  return [local, update];
}

/** The local day's start as an instant (the date filters are the user's days). */
function dayStart(day: string, plusDays = 0): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y!, m! - 1, d! + plusDays).toISOString();
}

/** The RPC arguments of the filters both searches share. */
function filterArgs(state: SearchState) {
  return {
    ...(state.platform ? { platform: state.platform } : {}),
    ...(state.linked ? { linked: state.linked === "linked" } : {}),
    ...(state.person ? { person_id: state.person } : {}),
  };
}

/** The filters a query key depends on (the query text aside). */
function filterKey(state: SearchState) {
  return [state.platform, state.linked, state.from, state.to, state.direction, state.person] as const;
}

export const searchKeys = {
  conversations: (q: string, state: SearchState) =>
    ["conversations", "search-contacts", q, ...filterKey(state)] as const,
  messages: (q: string, state: SearchState, limit: number) =>
    ["conversations", "search", q, ...filterKey(state), limit] as const,
};

interface ContactCursor {
  after_match: ContactMatch;
  after_last_message_at: string | null;
  after_id: string;
}

/**
 * Conversations whose contact matches: the participant's name or identifier, the
 * conversation's id (a group's name) or the linked person's name; the exact name first,
 * then names starting with the query, then the rest, newest first within each. Keyset
 * pages of CONVERSATION_SEARCH_PAGE_SIZE (the last row's match, time and id are the next
 * page's cursor). Platform, linked, person and the date range (conversations active in
 * it) apply; a direction belongs to messages and does not.
 */
export function useSearchConversations(state: SearchState) {
  const supabase = useSupabase();
  const text = state.q.trim();
  return useInfiniteQuery({
    queryKey: searchKeys.conversations(text, state),
    enabled: text.length > 0,
    initialPageParam: null as ContactCursor | null,
    queryFn: async ({ pageParam, signal }) => {
      const { data, error } = await supabase
        .rpc("search_conversations", {
          query: text,
          // one more than a page: whether there is a next page, without asking for it
          max_count: CONVERSATION_SEARCH_PAGE_SIZE + 1,
          ...filterArgs(state),
          ...(state.from ? { active_after: dayStart(state.from) } : {}),
          ...(state.to ? { active_before: dayStart(state.to, 1) } : {}),
          ...(pageParam
            ? {
                after_match: pageParam.after_match,
                after_id: pageParam.after_id,
                // a conversation without messages sorts last: no time in its cursor
                ...(pageParam.after_last_message_at ? { after_last_message_at: pageParam.after_last_message_at } : {}),
              }
            : {}),
        })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      const rows = (data ?? []) as unknown as ConversationHit[];
      return { rows: rows.slice(0, CONVERSATION_SEARCH_PAGE_SIZE), more: rows.length > CONVERSATION_SEARCH_PAGE_SIZE };
    },
    getNextPageParam: (last): ContactCursor | undefined => {
      const tail = last.rows[last.rows.length - 1];
      if (!last.more || !tail) return undefined;
      return { after_match: tail.match, after_last_message_at: tail.last_message_at, after_id: tail.id };
    },
    placeholderData: keepPreviousData,
  });
}

/**
 * Full-text search over every message the user can read (hot rows and archive), with
 * every filter. `limit` grows by SEARCH_PAGE_SIZE as the user asks for more:
 * search_messages ranks the first matches it finds, so a larger call returns the earlier
 * hits again plus the next ones. Fewer hits than asked for means that is all.
 */
export function useSearchMessages(state: SearchState, limit: number = SEARCH_PAGE_SIZE) {
  const supabase = useSupabase();
  const text = state.q.trim();
  return useQuery({
    queryKey: searchKeys.messages(text, state, limit),
    enabled: text.length > 0,
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .rpc("search_messages", {
          query: text,
          max_count: limit,
          ...filterArgs(state),
          ...(state.from ? { sent_after: dayStart(state.from) } : {}),
          ...(state.to ? { sent_before: dayStart(state.to, 1) } : {}),
          ...(state.direction ? { direction: state.direction } : {}),
        })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      const hits = (data ?? []) as MessageHit[];
      return { hits, complete: hits.length < limit };
    },
    placeholderData: keepPreviousData,
  });
}
