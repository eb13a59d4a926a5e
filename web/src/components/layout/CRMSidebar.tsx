import { NavLink } from "react-router-dom";
import { useAuth } from "../../auth/context";

const ITEMS = [
  { to: "/inbox", label: "Messages" },
  { to: "/people", label: "People" },
  { to: "/connections", label: "Connections" },
];

export function CRMSidebar() {
  const { user, signOut } = useAuth();
  return (
    <nav className="sidebar" aria-label="CRM">
      <div className="brand">CRM</div>
      <ul>
        {ITEMS.map((item) => (
          <li key={item.to}>
            <NavLink to={item.to} className={({ isActive }) => (isActive ? "active" : undefined)}>
              {item.label}
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
