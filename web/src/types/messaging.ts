// The messaging shapes the CRM screens read. Row types come from the generated
// `database.ts` (`make web-types` writes it once, into supabase/functions/_shared/, for the
// screens and the edge function: `@shared/...`); the message objects inside the JSON columns
// and RPC results follow docs/contract.md and are typed here. `contract.json` is the contract
// the database publishes (make web-types), for what is data rather than a type.
import contract from "@shared/contract.json" with { type: "json" };
import { Constants } from "@shared/database";
import type { Database as GeneratedDatabase, Enums, Tables } from "@shared/database";

type GeneratedFunctions = GeneratedDatabase["public"]["Functions"];

/** A generated function whose `jsonb` result has the shape docs/contract.md gives it. */
type Returning<F extends keyof GeneratedFunctions, R> = Omit<GeneratedFunctions[F], "Returns"> & { Returns: R };

/**
 * The read functions whose results are jsonb (the generated `Json`), with their contract
 * shapes. A type alias, not an interface: supabase-js needs `Functions` to have an index
 * signature, which only aliases get implicitly.
 */
type ReadResults = {
  get_conversation_messages: Returning<"get_conversation_messages", ChatMessage[]>;
  get_conversation_messages_after: Returning<"get_conversation_messages_after", ChatMessage[]>;
  get_conversation_messages_at: Returning<"get_conversation_messages_at", ChatMessage[]>;
  get_conversation_placeholders: Returning<"get_conversation_placeholders", ChatMessage[]>;
  search_messages: Returning<"search_messages", SearchHit[]>;
  inbox_changes: Returning<"inbox_changes", InboxChanges>;
};

/**
 * The generated Database with the read functions' jsonb results typed (supabase-js types
 * `rpc()` results from it). Everything else (tables, views, enums, every function's
 * arguments) is the generated type as it is.
 */
export type Database = Omit<GeneratedDatabase, "public"> & {
  public: Omit<GeneratedDatabase["public"], "Functions"> & {
    Functions: Omit<GeneratedFunctions, keyof ReadResults> & ReadResults;
  };
};

// The vocabulary is defined once, as enum types in the database; these come from them.
export const PLATFORMS = Constants.public.Enums.messaging_platform;
export type Platform = Enums<"messaging_platform">;

/** Each platform's name for people, as the database publishes it. */
export const PLATFORM_LABELS = Object.fromEntries(
  contract.platforms.map((p) => [p.platform, p.label ?? p.platform]),
) as Record<Platform, string>;

/**
 * The secret a platform issues and the user pastes in (WhatsApp's app secret), as the
 * database publishes it (`platform_secrets.issued_by`); undefined where the store
 * generates every secret of the platform.
 */
export function issuedSecret(platform: Platform): { name: string; label: string } | undefined {
  const secret = contract.platforms
    .find((p) => p.platform === platform)
    ?.secrets.find((s) => s.issued_by === "platform");
  return secret && { name: secret.name, label: `${PLATFORM_LABELS[platform]} ${secret.name.replace(/_/g, " ")}` };
}

/** Whether deliveries to a connection in this status are stored (the contract's connection_statuses). */
export function storesDeliveries(status: string): boolean {
  return contract.connection_statuses.find((s) => s.status === status)?.stores ?? true;
}

export function isPlatform(value: string): value is Platform {
  return (PLATFORMS as readonly string[]).includes(value);
}

/** One row of the inbox: `chat_conversation_list` (every column but `messages`). */
export type ConversationSummary = Tables<"chat_conversation_list">;

/** The inbox row with its linked person's name, as the list query embeds it. */
export type ConversationListItem = ConversationSummary & {
  person: Pick<Person, "id" | "full_name"> | null;
  /**
   * The signed-in user's read marker (chat_conversation_read_markers): none, or one.
   * read_message_count: the message_count it was read at (the unread count's base).
   */
  read?: { last_read_at: string; read_message_count?: number }[] | null;
};

/** inbox_changes' answer (docs/contract.md, "The live inbox"). */
export interface InboxChanges {
  /** Ask the next time from this cursor. */
  cursor: number;
  /** Inbox rows whose conversation or read marker changed since the cursor asked with, newest first. */
  conversations: ConversationListItem[];
  /** More changed than one answer holds: read the lists again. */
  reload: boolean;
  /** Conversations with unread messages; null when nothing changed. */
  unread_conversations: number | null;
}

export type Person = Tables<"people">;
export type PersonIdentifier = Tables<"person_identifiers">;
export type MessagingConnection = Tables<"messaging_connections">;

export type MessageType = Enums<"message_type">;

export type DeliveryStatus = "sent" | "delivered" | "read" | "failed";

/** A stored message object (hot row, archive and every read function). */
export interface ChatMessage {
  id: string;
  direction: Enums<"message_direction">;
  type: MessageType;
  content: string | null;
  media_url?: string | null;
  /** ISO 8601 in UTC. */
  sent_at: string;
  sender_identifier?: string | null;
  sender_name?: string | null;
  reply_to_id?: string | null;
  edited_at?: string | null;
  metadata?: MessageMetadata | null;
}

export interface MessageMetadata {
  deleted?: boolean;
  edited?: boolean;
  recalled?: boolean;
  media_omitted?: boolean;
  status?: DeliveryStatus | string;
  file_name?: string;
  [key: string]: unknown;
}

/** One hit of `search_messages`. `snippet` wraps each match in [[ ]]. */
export interface SearchHit {
  conversation_id: string;
  platform: string;
  participant_name: string | null;
  person_id: string | null;
  message: ChatMessage;
  snippet: string | null;
  rank: number;
}

/** The (sent_at, id) cursor of `get_conversation_messages`. */
export interface MessageCursor {
  before_sent_at: string;
  before_id: string;
}

/** Where a thread opens: at its newest message, or at a given message (a search hit). */
export interface ThreadAnchor {
  sent_at: string;
  id: string;
}

export interface InboxFilters {
  platform: Platform | null;
  unlinkedOnly: boolean;
  /** Only conversations linked to a person (the search's "Linked to a person", in the URL). */
  linkedOnly?: boolean;
}

/**
 * The label a conversation shows: the linked person's name (the CRM's name for them),
 * else the other party's name on the platform, else an identifier.
 */
export function conversationTitle(c: {
  participant_name: string | null;
  participant_identifier: string | null;
  external_conversation_id: string;
  person?: { full_name: string } | null;
}): string {
  return c.person?.full_name || c.participant_name || c.participant_identifier || c.external_conversation_id;
}
