import { Outlet } from "react-router-dom";
import { CRMSidebar } from "./CRMSidebar";

export function AppLayout() {
  return (
    <div className="app">
      <CRMSidebar />
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
