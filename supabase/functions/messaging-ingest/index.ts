// The messaging-ingest edge function: Deno.serve wired to the handler (see handler.ts).
import { handler } from "./handler.ts";

Deno.serve(handler);
