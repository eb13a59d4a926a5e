// People and their identifiers, as the CRM's own tables hold them.
import { useQuery } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";

export function usePeople() {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["people"],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("people")
        .select("id, full_name, email, phone, user_id, created_at")
        .order("full_name")
        .abortSignal(signal);
      if (error) raise(error);
      return data;
    },
  });
}

export function usePerson(personId: string) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["people", personId],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("people")
        .select("id, full_name, email, phone, user_id, created_at")
        .eq("id", personId)
        .abortSignal(signal)
        .maybeSingle();
      if (error) raise(error);
      return data;
    },
  });
}

export function usePersonIdentifiers(personId: string) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["people", personId, "identifiers"],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("person_identifiers")
        .select("id, kind, platform, value, person_id, user_id, created_at")
        .eq("person_id", personId)
        .order("kind")
        .abortSignal(signal);
      if (error) raise(error);
      return data;
    },
  });
}
