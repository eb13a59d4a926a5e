// docs/kinds.md's whatsapp examples: the platform's documented payloads and what the function
// makes of each (kinds_test.ts). Fill in one example per row of the table that names it.
import type { KindExamples } from "./example.ts";

const kinds: KindExamples = {
  connection: {
    id: "00000000-0000-4000-8000-000000000001",
    user_id: "00000000-0000-4000-8000-0000000000aa",
    platform: "whatsapp",
    account_identifier: "TODO",
    status: "active",
    secrets: {},
  },
  examples: {},
};

export default kinds;
