import { Outlet } from "react-router-dom";
import { SkipLink } from "../ui/SkipLink";
import { CRMSidebar } from "./CRMSidebar";

export function AppLayout() {
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
