// The user's messaging accounts (messaging_connections; secrets live elsewhere, unexposed)
// and their management: create, rotate secrets, pause/resume, delete (RPCs that generate
// the secrets in the database and return them once).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";
import { issuedSecret, type Platform } from "../types/messaging";

export function useConnections() {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["connections"],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("messaging_connections")
        .select(
          "id, platform, account_identifier, display_name, status, last_synced_at, settings, user_id, created_at, updated_at, refused_count, refused_by_reason, last_refused_at, last_refused_reason, last_error, last_error_at, last_error_resolved_at, paused_dropped_count, last_dropped_at, history_backfill, business_connection, unknown_kinds",
        )
        .order("platform")
        .order("account_identifier")
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data;
    },
    refetchInterval: 30_000,
  });
}

/** Which connections have webhook secrets (import-made ones have none): id -> true/false. */
export function useConnectionWebhooks() {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["connections", "webhooks"],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase.rpc("messaging_connection_webhooks").abortSignal(signal).retry(false);
      if (error) raise(error);
      return new Map((data ?? []).map((r) => [r.connection_id, r.has_secrets]));
    },
  });
}

/** What a create or rotate call returns, once: the new secrets by name. */
export interface IssuedSecrets {
  id: string;
  platform: Platform;
  secrets: Record<string, string>;
}

function useConnectionMutation<A>(call: (args: A) => PromiseLike<{ data: unknown; error: unknown }>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (args: A) => {
      const { data, error } = await call(args);
      if (error) raise(error);
      return data;
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["connections"] }),
  });
}

export function useCreateConnection() {
  const supabase = useSupabase();
  return useConnectionMutation((a: { platform: Platform; account: string; name: string; appSecret: string }) =>
    supabase
      .rpc("create_messaging_connection", {
        platform: a.platform,
        account_identifier: a.account,
        ...(a.name.trim() ? { display_name: a.name.trim() } : {}),
        ...(issuedSecret(a.platform) ? { app_secret: a.appSecret } : {}),
      })
      .retry(false),
  );
}

export function useRotateConnection() {
  const supabase = useSupabase();
  return useConnectionMutation((a: { id: string; appSecret?: string }) =>
    supabase
      .rpc("rotate_messaging_connection_secrets", {
        connection_id: a.id,
        ...(a.appSecret ? { app_secret: a.appSecret } : {}),
      })
      .retry(false),
  );
}

export function useSetConnectionStatus() {
  const supabase = useSupabase();
  return useConnectionMutation((a: { id: string; status: "active" | "paused" }) =>
    supabase.rpc("set_messaging_connection_status", { connection_id: a.id, status: a.status }).retry(false),
  );
}

export function useDeleteConnection() {
  const supabase = useSupabase();
  return useConnectionMutation((id: string) =>
    supabase.rpc("delete_messaging_connection", { connection_id: id }).retry(false),
  );
}

/** The URL a platform posts its webhooks to (the messaging-ingest edge function). */
export function webhookUrl(apiUrl: string, platform: string, connectionId: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/functions/v1/messaging-ingest/${platform}/${connectionId}`;
}

/** One connection's name, for a conversation's "via" link (null when gone or not the user's). */
export function useConnection(id: string) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["connections", "one", id],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("messaging_connections")
        .select("id, platform, account_identifier, display_name")
        .eq("id", id)
        .abortSignal(signal)
        .retry(false)
        .maybeSingle();
      if (error) raise(error);
      return data;
    },
    staleTime: 5 * 60_000,
  });
}

/** Per connection: how many conversations came in on it, their messages, the newest one's time. */
export function useConnectionConversationCounts() {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["connections", "conversation-counts"],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase.rpc("messaging_connection_conversations").abortSignal(signal).retry(false);
      if (error) raise(error);
      return new Map((data ?? []).map((r) => [r.connection_id, r]));
    },
  });
}

/** At most this many of a connection's conversations are listed (newest first). */
export const CONNECTION_CONVERSATIONS_LIMIT = 50;

/** A connection's conversations, newest first (chat_conversation_list under the user's RLS). */
export function useConnectionConversations(connectionId: string, enabled: boolean) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["connections", "conversations", connectionId],
    enabled,
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("chat_conversation_list")
        .select(
          "id, platform, external_conversation_id, participant_name, participant_identifier, conversation_type, message_count, last_message_at, person:people(id, full_name)",
        )
        .eq("connection_id", connectionId)
        .order("last_message_at", { ascending: false, nullsFirst: false })
        .limit(CONNECTION_CONVERSATIONS_LIMIT)
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data;
    },
  });
}

/** A connected business app's name for a number (contact_name_suggestions). */
export interface ContactNameSuggestion {
  connection_id: string;
  identifier: string;
  full_name: string;
  first_name: string | null;
  changed_at: string;
}

/**
 * The names the user's connected business apps give a conversation's number (WhatsApp
 * Business app contacts): suggestions for the person picker, never links by themselves.
 */
export function useContactNameSuggestions(identifier: string | null) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["contact-names", identifier],
    enabled: identifier !== null && identifier !== "",
    queryFn: async ({ signal }): Promise<ContactNameSuggestion[]> => {
      const { data, error } = await supabase
        .from("contact_name_suggestions")
        .select("connection_id, identifier, full_name, first_name, changed_at")
        .eq("identifier", identifier ?? "")
        .order("changed_at", { ascending: false })
        .limit(3)
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data;
    },
  });
}
