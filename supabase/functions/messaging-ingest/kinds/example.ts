// The shape of docs/kinds.md's examples: one module per platform (kinds/<platform>.ts)
// exports a connection and, for every kind the table names with an example, the platform's
// documented payload and what the function must make of it (kinds_test.ts runs them).
import type { Connection } from "../store.ts";

export interface KindExample {
  /** the webhook body as the platform's documentation shows it: a JSON value, or a string sent as is (WeChat's XML) */
  body: unknown;
  /**
   * What the delivery must hold: each listed message (update, refusal) is a subset of the
   * mapped one at the same position, and the lists are as long as these (an empty list: none).
   * A key left out is not checked.
   */
  expect: {
    messages?: Record<string, unknown>[];
    updates?: Record<string, unknown>[];
    refused?: Record<string, unknown>[];
    /** what the delivery says of the connection (a subset of its ConnectionState) */
    state?: Record<string, unknown>;
  };
}

export interface KindExamples {
  /** the connection the examples are delivered to (its account_identifier is the business's) */
  connection: Connection;
  /** by the example name docs/kinds.md's `example` column gives */
  examples: Record<string, KindExample>;
}
