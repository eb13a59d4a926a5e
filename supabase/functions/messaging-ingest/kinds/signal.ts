// docs/kinds.md's signal examples: the platform's documented payloads and what the function
// makes of each (kinds_test.ts): one example per row of the table that names it. None yet:
// the rows come with issue 28 (docs/kinds.md), with the account the examples are sent to.
import type { KindExamples } from "./example.ts";

const kinds: KindExamples = {
  connection: {
    id: "00000000-0000-4000-8000-000000000003",
    user_id: "00000000-0000-4000-8000-0000000000aa",
    platform: "signal",
    account_identifier: "",
    status: "active",
    secrets: {},
  },
  examples: {},
};

export default kinds;
