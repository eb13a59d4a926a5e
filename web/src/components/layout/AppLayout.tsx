import { useLayoutEffect } from "react";
import { Outlet, useLocation } from "react-router-dom";
import { documentTitle } from "../../lib/title";
import { SkipLink } from "../ui/SkipLink";
import { CRMSidebar } from "./CRMSidebar";
import "./layout.css";

/** The title of a page until the page names itself (a conversation, a person: useDocumentTitle). */
function defaultTitle(pathname: string, search: string): string {
  const query = new URLSearchParams(search).get("q")?.trim();
  if (pathname.startsWith("/inbox")) return query ? `Search “${query}” · Messages` : "Messages";
  if (pathname.startsWith("/people")) return "People";
  if (pathname.startsWith("/connections")) return "Messaging connections";
  return "Not found";
}

export function AppLayout() {
  const { pathname, search } = useLocation();
  // a layout effect runs before the pages' effects: a page's own title replaces this one
  useLayoutEffect(() => {
    document.title = documentTitle(defaultTitle(pathname, search));
  }, [pathname, search]);
  return (
    <div className="app">
      <SkipLink target="main-content">Skip to content</SkipLink>
      <CRMSidebar />
      <main className="content" id="main-content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
