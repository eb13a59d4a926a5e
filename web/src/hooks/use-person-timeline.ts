// A person's data: their timeline across every conversation (person_timeline), an export
// of everything stored about them (export_person) and their erasure (erase_person).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";
import type { ChatMessage, Platform } from "../types/messaging";

/** Messages per timeline page. */
export const TIMELINE_PAGE_SIZE = 50;

/** One message of the timeline, with the conversation it belongs to. */
export interface TimelineItem {
  conversation_id: string;
  platform: Platform;
  participant_name: string | null;
  message: ChatMessage;
  /** Where this message sits in the timeline's order (sent_at, conversation, id). */
  cursor: string;
  /** With a search: the match in [[ ]]. */
  snippet?: string;
}

/** A page, oldest first, and the cursors of the pages either side (null at an end). */
export interface TimelinePage {
  messages: TimelineItem[];
  older: string | null;
  newer: string | null;
}

/** Which page: the newest (null), the one before a cursor, or the one after it. */
export type TimelinePosition = { before: string } | { after: string } | null;

export const personKeys = {
  timeline: (personId: string, query: string, position: TimelinePosition) =>
    ["people", personId, "timeline", query, position] as const,
};

/** One page of the person's timeline; a new search starts at the newest matches. */
export function usePersonTimeline(personId: string, query: string, position: TimelinePosition) {
  const supabase = useSupabase();
  const text = query.trim();
  return useQuery({
    queryKey: personKeys.timeline(personId, text, position),
    queryFn: async ({ signal }): Promise<TimelinePage> => {
      const { data, error } = await supabase
        .rpc("person_timeline", {
          person_id: personId,
          max_count: TIMELINE_PAGE_SIZE,
          ...(text ? { query: text } : {}),
          ...(position ?? {}),
        })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      // the jsonb result has the shape docs/contract.md gives person_timeline
      return data as unknown as TimelinePage;
    },
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}

/** export_person's JSON document (the caller downloads it). */
export function useExportPerson(personId: string) {
  const supabase = useSupabase();
  return useMutation({
    mutationFn: async (): Promise<unknown> => {
      const { data, error } = await supabase.rpc("export_person", { person_id: personId });
      if (error) raise(error);
      return data;
    },
  });
}

/** Erases the person and everything stored about them; the caller leaves the page. */
export function useErasePerson(personId: string) {
  const supabase = useSupabase();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (): Promise<{ conversations: number; messages: number }> => {
      const { data, error } = await supabase.rpc("erase_person", { person_id: personId });
      if (error) raise(error);
      return data as unknown as { conversations: number; messages: number };
    },
    onSuccess: async () => {
      queryClient.removeQueries({ queryKey: ["people", personId] });
      await queryClient.invalidateQueries({ queryKey: ["people"] });
      await queryClient.invalidateQueries({ queryKey: ["conversations"] });
    },
  });
}
