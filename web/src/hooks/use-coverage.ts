// Where a conversation's history comes from: conversation_coverage (docs/contract.md
// "Coverage"), read under the signed-in user's RLS. The component only renders it.
import { useQuery } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";

/** A source of a conversation's messages, as conversation_coverage answers it. */
export interface CoverageSource {
  /** export, msgstore, webhook, history, app, or unknown (stored before coverage was kept). */
  kind: string;
  /** An export's file name. */
  name: string | null;
  /** A history backfill's phase. */
  phase: string | null;
  connection_id: string | null;
  first_message_at: string;
  last_message_at: string;
  covers_from: string;
  /** null: a live webhook, covering from covers_from onwards. */
  covers_until: string | null;
  inserted: number;
  duplicates: number;
  updated: number;
  matched: number;
  batches: number;
  first_seen_at: string;
  last_seen_at: string;
}

export interface CoverageGap {
  from: string;
  to: string;
}

export interface Coverage {
  conversation_id: string;
  platform: string;
  external_conversation_id: string;
  first_message_at: string | null;
  last_message_at: string | null;
  message_count: number;
  /** Copies matched between sources, as stored. */
  matched: number;
  sources: CoverageSource[];
  gaps: CoverageGap[];
}

/**
 * The coverage of one conversation. `updatedAt` (the conversation's updated_at) is part of
 * the key: a new message, which moves it, reads the coverage again.
 */
export function useCoverage(conversationId: string, updatedAt: string | null) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["coverage", conversationId, updatedAt],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .rpc("conversation_coverage", { conversation_id: conversationId })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data as unknown as Coverage;
    },
  });
}
