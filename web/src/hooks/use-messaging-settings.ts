// The signed-in user's messaging settings (messaging_settings: no row means the defaults)
// and set_messaging_settings, which writes them. Turning keep_deleted_text off erases the
// text deleted messages kept, so every cached thread is read again after a change.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";

export interface MessagingSettings {
  keep_deleted_text: boolean;
  updated_at: string | null;
}

const DEFAULTS: MessagingSettings = { keep_deleted_text: false, updated_at: null };

export function useMessagingSettings() {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["messaging-settings"],
    queryFn: async ({ signal }): Promise<MessagingSettings> => {
      const { data, error } = await supabase
        .from("messaging_settings")
        .select("keep_deleted_text, updated_at")
        .abortSignal(signal)
        .retry(false)
        .maybeSingle();
      if (error) raise(error);
      return data ?? DEFAULTS;
    },
  });
}

export function useSetMessagingSettings() {
  const supabase = useSupabase();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (keepDeletedText: boolean) => {
      const { data, error } = await supabase.rpc("set_messaging_settings", { keep_deleted_text: keepDeletedText });
      if (error) raise(error);
      return data;
    },
    onSuccess: () => queryClient.invalidateQueries(),
  });
}
