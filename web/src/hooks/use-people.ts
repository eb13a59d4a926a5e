// People and their identifiers, as the CRM's own tables hold them. Lists are searched and
// paged on the server: a CRM of thousands of people never meets PostgREST's row cap.
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useSupabase } from "../auth/context";
import { raise } from "../lib/errors";

/** People per page of the People page and per answer of the person picker. */
export const PEOPLE_PAGE_SIZE = 50;
export const PICKER_LIMIT = 20;

const PERSON_COLUMNS = "id, full_name, email, phone, user_id, created_at";

/** PostgREST's ilike pattern of a user's words (its own wildcards taken out). */
function pattern(text: string): string {
  return `*${text
    .replace(/[\\%_*,()."]/g, " ")
    .trim()
    .replace(/\s+/g, "*")}*`;
}

/**
 * The People page: name, email or phone containing `search`, by name, in pages of
 * PEOPLE_PAGE_SIZE (offset pages, with the exact total of matches).
 */
export function usePeoplePages(search: string) {
  const supabase = useSupabase();
  const text = search.trim();
  return useInfiniteQuery({
    queryKey: ["people", "pages", text],
    initialPageParam: 0,
    queryFn: async ({ pageParam, signal }) => {
      let query = supabase
        .from("people")
        .select(PERSON_COLUMNS, { count: "exact" })
        .order("full_name")
        .order("id")
        .range(pageParam, pageParam + PEOPLE_PAGE_SIZE - 1)
        .abortSignal(signal)
        .retry(false);
      if (text) {
        const p = pattern(text);
        query = query.or(`full_name.ilike.${p},email.ilike.${p},phone.ilike.${p}`);
      }
      const { data, error, count } = await query;
      if (error) raise(error);
      return { rows: data, total: count ?? data.length, offset: pageParam };
    },
    getNextPageParam: (last) =>
      last.offset + last.rows.length < last.total ? last.offset + last.rows.length : undefined,
    placeholderData: keepPreviousData,
  });
}

/** The person picker: the first PICKER_LIMIT people whose name contains `search`. */
export function usePeopleSearch(search: string) {
  const supabase = useSupabase();
  const text = search.trim();
  return useQuery({
    queryKey: ["people", "search", text],
    queryFn: async ({ signal }) => {
      let query = supabase
        .from("people")
        .select("id, full_name, email, phone", { count: "exact" })
        .order("full_name")
        .order("id")
        .limit(PICKER_LIMIT)
        .abortSignal(signal)
        .retry(false);
      if (text) query = query.ilike("full_name", pattern(text));
      const { data, error, count } = await query;
      if (error) raise(error);
      return { rows: data, total: count ?? data.length };
    },
    placeholderData: keepPreviousData,
  });
}

/** Why the picker lists a person where it does (suggest_people's reason). */
export type SuggestionReason = "identifier" | "recent" | "name";

export interface PickerPerson {
  id: string;
  full_name: string;
  email: string | null;
  phone: string | null;
  reason: SuggestionReason;
}

/**
 * The person picker of a conversation: suggest_people's first PICKER_LIMIT people, those
 * whose identifiers match the conversation's participant (national phone variants
 * included) first, then recent ones, then by name, keeping names with `search`'s words in
 * order; and how many people have such a name (`total`, in the same answer).
 */
export function usePeopleSuggestions(conversationId: string | null, search: string) {
  const supabase = useSupabase();
  const text = search.trim();
  return useQuery({
    queryKey: ["people", "suggest", conversationId, text],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .rpc("suggest_people", {
          ...(conversationId ? { conversation_id: conversationId } : {}),
          query: text,
          max_count: PICKER_LIMIT,
        })
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      const rows: PickerPerson[] = data.map((p) => ({
        id: p.id,
        full_name: p.full_name,
        email: p.email,
        phone: p.phone,
        reason: p.reason as SuggestionReason,
      }));
      return { rows, total: data[0]?.total ?? 0 };
    },
    placeholderData: keepPreviousData,
  });
}

export function usePerson(personId: string) {
  const supabase = useSupabase();
  return useQuery({
    queryKey: ["people", personId],
    queryFn: async ({ signal }) => {
      const { data, error } = await supabase
        .from("people")
        .select(PERSON_COLUMNS)
        .eq("id", personId)
        .abortSignal(signal)
        .retry(false)
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
        .abortSignal(signal)
        .retry(false);
      if (error) raise(error);
      return data;
    },
  });
}
