import { NavLink } from "react-router-dom";
import { useAuth } from "../../auth/context";
import { INBOX_PAGE_SIZE } from "../../hooks/use-chat-conversations";
import { useInboxChanges, useUnreadTotal } from "../../hooks/use-conversation-changes";

const ITEMS = [
  { to: "/inbox", label: "Messages" },
  { to: "/people", label: "People" },
  { to: "/connections", label: "Connections" },
];

export function CRMSidebar() {
  const { user, signOut } = useAuth();
  // the live inbox runs for as long as the navigation shows (every signed-in page)
  useInboxChanges(INBOX_PAGE_SIZE);
  const unread = useUnreadTotal();
  return (
    <nav className="sidebar" aria-label="CRM">
      <div className="brand">CRM</div>
      <ul>
        {ITEMS.map((item) => (
          <li key={item.to}>
            <NavLink to={item.to} className={({ isActive }) => (isActive ? "active" : undefined)}>
              {item.label}
              {item.to === "/inbox" && unread ? (
                <span
                  className="nav-count"
                  data-testid="nav-unread"
                  aria-label={`${unread} unread ${unread === 1 ? "conversation" : "conversations"}`}
                >
                  {unread > 999 ? "999+" : unread}
                </span>
              ) : null}
            </NavLink>
          </li>
        ))}
      </ul>
      <div className="account">
        <span className="muted" data-testid="signed-in-as">
          {user.email ?? user.id}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </div>
    </nav>
  );
}
