import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App } from "./App";
import { LocalAuthGate } from "./auth/LocalAuthGate";
import { SupabaseAuthGate } from "./auth/SupabaseAuthGate";
import { retryDelay, retryOnce, retryTooMany } from "./lib/errors";
import "./styles.css";

// __LOCAL_STACK__ is a build-time literal: a production build keeps only SupabaseAuthGate.
const AuthGate = __LOCAL_STACK__ ? LocalAuthGate : SupabaseAuthGate;

const queryClient = new QueryClient({
  defaultOptions: {
    queries: { staleTime: 10_000, retry: retryOnce, retryDelay, refetchOnWindowFocus: true },
    // a 429 (too many requests of this user at once) ran nothing: sent again after Retry-After
    mutations: { retry: retryTooMany, retryDelay },
  },
});

const root = document.getElementById("root");
if (!root) throw new Error("no #root element");
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AuthGate>
          <App />
        </AuthGate>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
