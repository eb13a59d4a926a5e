// A person: a minimal header from `people`, and tabs; the Messages tab shows the person's
// messages from every platform inline (their timeline), each opening its thread at that
// message, and lists their conversations; Details holds their identifiers and their data
// (export, erase).
import { useState, type KeyboardEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { PersonDataActions } from "../components/crm/PersonDataActions";
import { PersonTimeline } from "../components/crm/PersonTimeline";
import { MergePeopleDialog } from "../components/crm/MergePeopleDialog";
import { PlatformIcon, platformLabel } from "../components/crm/PlatformIcon";
import { Empty, ErrorMessage, Loading } from "../components/ui/States";
import { usePersonConversations } from "../hooks/use-chat-conversations";
import { usePerson, usePersonIdentifiers } from "../hooks/use-people";
import {
  useErasePerson,
  useExportPerson,
  usePersonTimeline,
  type TimelinePosition,
} from "../hooks/use-person-timeline";
import { useDocumentTitle } from "../lib/title";
import { isUuid } from "../lib/errors";
import { formatDateTime, relativeTime } from "../lib/format";
import { threadHref } from "../lib/routes";
import { conversationTitle, type ConversationListItem } from "../types/messaging";

const TABS = ["messages", "details"] as const;
type Tab = (typeof TABS)[number];
const TAB_LABELS: Record<Tab, string> = { messages: "Messages", details: "Details" };

export function PersonDetail() {
  const { personId = "" } = useParams();
  if (!isUuid(personId)) return <Empty>No such person. It does not exist, or is not yours.</Empty>;
  return <PersonView personId={personId} />;
}

function PersonView({ personId }: { personId: string }) {
  const person = usePerson(personId);
  const [tab, setTab] = useState<Tab>("messages");
  useDocumentTitle(person.isPending ? null : (person.data?.full_name ?? "No such person"));

  if (person.isPending) return <Loading label="Loading the person" />;
  if (person.isError) return <ErrorMessage error={person.error} retry={() => void person.refetch()} />;
  if (!person.data) return <Empty>No such person. It does not exist, or is not yours.</Empty>;
  const p = person.data;

  function onKey(e: KeyboardEvent) {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const next = TABS[(TABS.indexOf(tab) + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
    if (next) {
      setTab(next);
      document.getElementById(`tab-${next}`)?.focus();
    }
  }

  return (
    <section className="page person" aria-labelledby="person-name">
      <header className="person-header">
        <div className="avatar" aria-hidden="true">
          {p.full_name.slice(0, 1)}
        </div>
        <div>
          <h1 id="person-name">{p.full_name}</h1>
          <p className="muted">{[p.email, p.phone].filter(Boolean).join(" · ") || "No email or phone"}</p>
        </div>
      </header>
      <MergePeopleDialog person={p} />
      <div role="tablist" aria-label="Person" className="tabs" onKeyDown={onKey}>
        {TABS.map((t) => (
          <button
            key={t}
            id={`tab-${t}`}
            role="tab"
            type="button"
            aria-selected={tab === t}
            aria-controls={`panel-${t}`}
            tabIndex={tab === t ? 0 : -1}
            onClick={() => setTab(t)}
          >
            {TAB_LABELS[t]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tab-panel">
        {tab === "messages" ? (
          <MessagesTab personId={p.id} />
        ) : (
          <>
            <DetailsTab personId={p.id} />
            <PersonData personId={p.id} personName={p.full_name} />
          </>
        )}
      </div>
    </section>
  );
}

function MessagesTab({ personId }: { personId: string }) {
  const conversations = usePersonConversations(personId);
  if (conversations.isPending) return <Loading label="Loading conversations" />;
  if (conversations.isError) {
    return <ErrorMessage error={conversations.error} retry={() => void conversations.refetch()} />;
  }
  if (conversations.data.length === 0) {
    return <Empty>No conversations are linked to this person yet.</Empty>;
  }
  return (
    <>
      <Timeline personId={personId} />
      <h2 className="person-conversations-title">Conversations</h2>
      <ConversationsList conversations={conversations.data} />
    </>
  );
}

/** The person's messages from every conversation, a page at a time either way. */
function Timeline({ personId }: { personId: string }) {
  const [query, setQuery] = useState("");
  const [position, setPosition] = useState<TimelinePosition>(null);
  const page = usePersonTimeline(personId, query, position);
  if (page.isPending) return <Loading label="Loading messages" />;
  if (page.isError) return <ErrorMessage error={page.error} retry={() => void page.refetch()} />;
  const { older, newer } = page.data;
  return (
    <PersonTimeline
      items={page.data.messages}
      query={query}
      onQuery={(q) => {
        setQuery(q);
        setPosition(null);
      }}
      hasOlder={older !== null}
      hasNewer={newer !== null}
      onOlder={() => older && setPosition({ before: older })}
      onNewer={() => newer && setPosition({ after: newer })}
      busy={page.isFetching}
      threadHref={threadHref}
    />
  );
}

function ConversationsList({ conversations }: { conversations: ConversationListItem[] }) {
  return (
    <ul className="conversations person-conversations" aria-label="Conversations with this person">
      {conversations.map((c) => (
        <li key={c.id}>
          <Link to={threadHref(c.id)} className="conversation-row" data-conversation-id={c.id}>
            <PlatformIcon platform={c.platform} />
            <span className="row-main">
              <span className="row-top">
                <span className="row-title">
                  {platformLabel(c.platform)} · {conversationTitle(c)}
                </span>
                <time dateTime={c.last_message_at ?? undefined} title={formatDateTime(c.last_message_at)}>
                  {relativeTime(c.last_message_at)}
                </time>
              </span>
              <span className="row-meta">
                <span className="count" aria-label={`${c.message_count} messages`}>
                  {c.message_count}
                </span>
              </span>
              <span className="preview">{c.last_message_preview ?? ""}</span>
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

function DetailsTab({ personId }: { personId: string }) {
  const identifiers = usePersonIdentifiers(personId);
  if (identifiers.isPending) return <Loading label="Loading identifiers" />;
  if (identifiers.isError) {
    return <ErrorMessage error={identifiers.error} retry={() => void identifiers.refetch()} />;
  }
  if (identifiers.data.length === 0) return <Empty>No identifiers recorded.</Empty>;
  return (
    <div className="table-scroll">
      <table className="table">
        <caption>Identifiers that link conversations to this person</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Platform</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {identifiers.data.map((i) => (
            <tr key={i.id}>
              <td>{i.kind}</td>
              <td>{i.platform ? platformLabel(i.platform) : "any"}</td>
              <td>{i.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Export and erase (the merge of two people sits beside them). */
function PersonData({ personId, personName }: { personId: string; personName: string }) {
  const navigate = useNavigate();
  const exporter = useExportPerson(personId);
  const eraser = useErasePerson(personId);
  return (
    <PersonDataActions
      personName={personName}
      onExport={() => exporter.mutateAsync()}
      exporting={exporter.isPending}
      exportError={exporter.error}
      onErase={() => eraser.mutate(undefined, { onSuccess: () => void navigate("/people") })}
      erasing={eraser.isPending}
      eraseError={eraser.error}
    />
  );
}
