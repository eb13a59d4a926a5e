// The user's messaging accounts (messaging_connections; secrets live elsewhere, unexposed).
import { useQuery } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";

export function useConnections() {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["connections"],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("messaging_connections")
        .select(
          "id, platform, account_identifier, display_name, status, last_synced_at, last_error, settings, user_id, created_at, updated_at",
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

/** The URL a platform posts its webhooks to (the messaging-ingest edge function). */
export function webhookUrl(apiUrl: string, platform: string, connectionId: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/functions/v1/messaging-ingest/${platform}/${connectionId}`;
}
