import { Navigate, Route, Routes } from "react-router-dom";
import { AppLayout } from "./components/layout/AppLayout";
import { Empty } from "./components/ui/States";
import { InboxPage } from "./pages/InboxPage";
import { MessagingConnections } from "./pages/MessagingConnections";
import { PeoplePage } from "./pages/PeoplePage";
import { PersonDetail } from "./pages/PersonDetail";

export function App() {
  return (
    <Routes>
      <Route element={<AppLayout />}>
        <Route index element={<Navigate to="/inbox" replace />} />
        <Route path="inbox" element={<InboxPage />} />
        <Route path="inbox/:conversationId" element={<InboxPage />} />
        <Route path="people" element={<PeoplePage />} />
        <Route path="people/:personId" element={<PersonDetail />} />
        <Route path="connections" element={<MessagingConnections />} />
        <Route path="*" element={<Empty>No such page.</Empty>} />
      </Route>
    </Routes>
  );
}
