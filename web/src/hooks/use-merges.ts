// Data access for merges (docs/contract.md, "Merges"): the candidates of a conversation
// merge, the dry-run preview, the merge itself, the record with its undo, and the store's
// duplicate suggestions. Components only render what these return.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";
import type { ConversationListItem } from "../types/messaging";
import { conversationKeys } from "./use-chat-conversations";

export type MergeKind = "conversations" | "people";

/** What merge_conversations answers (also for its dry run, the preview). */
export interface ConversationMergeAnswer {
  merge_id: string | null;
  dry_run: boolean;
  already_merged: boolean;
  keep_id: string;
  other_id: string;
  platform: string;
  other_key: string;
  moved: number;
  duplicates: number;
  replaced: number;
  first_moved_at: string | null;
  last_moved_at: string | null;
  message_count: number;
}

/** What merge_people answers; its dry run adds the messages and span of what moves. */
export interface PersonMergeAnswer {
  merge_id: string | null;
  dry_run: boolean;
  already_merged: boolean;
  keep_id: string;
  other_id: string;
  identifiers: number;
  identifiers_left?: number;
  conversations: number;
  linked?: number;
  messages?: number;
  first_message_at?: string | null;
  last_message_at?: string | null;
}

/** One row of list_merges: the record the screens show, with its undo. */
export interface MergeRecord {
  id: string;
  kind: MergeKind;
  keep_id: string;
  other_id: string;
  other_label: string | null;
  keep_label: string | null;
  moved?: number;
  duplicates?: number;
  identifiers?: number;
  conversations?: number;
  first_moved_at?: string | null;
  last_moved_at?: string | null;
  merged_at: string;
  merged_by: string | null;
  undone_at: string | null;
  undo_answer: UndoAnswer | null;
}

/** What undo_merge answers. */
export interface UndoAnswer {
  merge_id: string;
  kind: MergeKind;
  keep_id: string;
  other_id: string;
  restored?: number;
  kept_in_keep?: string[];
  identifiers?: number;
  conversations?: number;
}

/** One row of suggest_duplicates. */
export interface DuplicateSuggestion {
  kind: MergeKind;
  keep_id: string;
  other_id: string;
  platform: string | null;
  reason: string;
  label: string | null;
}

export const mergeKeys = {
  all: ["merges"] as const,
  records: (subjectId: string) => ["merges", "records", subjectId] as const,
  suggestions: ["merges", "suggestions"] as const,
  preview: (kind: MergeKind, keepId: string, otherId: string) => ["merges", "preview", kind, keepId, otherId] as const,
  candidates: (conversationId: string, text: string) => ["merges", "candidates", conversationId, text] as const,
};

/** How many conversations the merge picker lists at once (the user narrows by typing). */
export const CANDIDATE_LIMIT = 20;

/**
 * Conversations that may be merged into `c`: the user's other direct conversations of the
 * same platform, those whose name or identifier contains `text`, newest first.
 */
export function useMergeCandidates(c: ConversationListItem, text: string) {
  const supabase = useSupabase();
  const words = text.replace(/[\\%_*,()."]/g, " ").trim();
  return useQuery({
    queryKey: mergeKeys.candidates(c.id, words),
    queryFn: async ({ signal }) => {
      let query = supabase
        .from("chat_conversation_list")
        .select(
          "id, platform, external_conversation_id, participant_identifier, participant_name, message_count, first_message_at, last_message_at",
        )
        .eq("platform", c.platform)
        .eq("conversation_type", "direct")
        .neq("id", c.id)
        .order("last_message_at", { ascending: false, nullsFirst: false })
        .limit(CANDIDATE_LIMIT)
        .abortSignal(signal)
        .retry(false);
      if (words) {
        const p = `*${words.replace(/\s+/g, "*")}*`;
        query = query.or(
          `participant_name.ilike.${p},participant_identifier.ilike.${p},external_conversation_id.ilike.${p}`,
        );
      }
      const { data, error } = await query;
      if (error) raise(error);
      return data;
    },
    placeholderData: keepPreviousData,
  });
}

/** The store's duplicate suggestions (never merged by themselves). */
export function useDuplicateSuggestions() {
  const supabase = useSupabase();
  return useQuery({
    queryKey: mergeKeys.suggestions,
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase.rpc("suggest_duplicates").abortSignal(signal).retry(false);
      if (error) raise(error);
      return data as DuplicateSuggestion[];
    },
  });
}

/** The merges of one conversation or person, newest first. */
export function useMergeRecords(subjectId: string) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: mergeKeys.records(subjectId),
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .rpc("list_merges", { subject_id: subjectId })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data as unknown as MergeRecord[];
    },
  });
}

function mergeFunction(kind: MergeKind) {
  return kind === "conversations" ? "merge_conversations" : "merge_people";
}

/** The preview of a merge: the same call as a dry run, which writes nothing. */
export function useMergePreview<A>(kind: MergeKind, keepId: string, otherId: string | null) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: mergeKeys.preview(kind, keepId, otherId ?? ""),
    enabled: otherId !== null,
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .rpc(mergeFunction(kind), { keep_id: keepId, other_id: otherId ?? "", dry_run: true })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data as unknown as A;
    },
  });
}

/**
 * After a merge or an undo: the kept conversation's thread is read anew from its first page
 * (an open thread only ever adds the messages it polls, and a merge also takes some away),
 * everything else that lists conversations, people or merges is refreshed.
 */
function useRefreshAfterMerge() {
  const queryClient = useQueryClient();
  return async (answer: { kind?: MergeKind; keep_id: string }) => {
    if (answer.kind !== "people") {
      await queryClient.resetQueries({ queryKey: ["conversations", "messages", answer.keep_id] });
      await queryClient.resetQueries({ queryKey: conversationKeys.latest(answer.keep_id) });
    }
    void queryClient.invalidateQueries({ queryKey: conversationKeys.all });
    void queryClient.invalidateQueries({ queryKey: ["people"] });
    void queryClient.invalidateQueries({ queryKey: mergeKeys.all });
  };
}

/** Merges other into keep (a retry of a lost answer gets the same merge back). */
export function useMerge<A>(kind: MergeKind) {
  const supabase = useSupabase();
  const refresh = useRefreshAfterMerge();
  return useMutation({
    mutationFn: async ({ keepId, otherId }: { keepId: string; otherId: string }) => {
      const { data, error } = await supabase
        .rpc(mergeFunction(kind), { keep_id: keepId, other_id: otherId })
        .retry(false);
      if (error) raise(error);
      return data as unknown as A;
    },
    onSuccess: (answer) => refresh({ kind, keep_id: (answer as { keep_id: string }).keep_id }),
  });
}

/** Undoes a standing merge; the answer says what came back and what stayed. */
export function useUndoMerge() {
  const supabase = useSupabase();
  const refresh = useRefreshAfterMerge();
  return useMutation({
    mutationFn: async (mergeId: string) => {
      const { data, error } = await supabase.rpc("undo_merge", { merge_id: mergeId }).retry(false);
      if (error) raise(error);
      return data as unknown as UndoAnswer;
    },
    onSuccess: (answer) => refresh(answer),
  });
}
