import { describe, test } from "bun:test";
import { claimStatement } from "../../../shared/messaging/outbox-relay";
import { compilingDatabase, expectSqlSnapshot } from "../../../shared/testing/sql-snapshot";
import { ordersSchema } from "../db/orders.repository";
import { paymentPendingEffects } from "./mark-payment-pending";

// The SQL of every Orders relay round, as compiled, checked in beside the code
// (UPDATE_SQL_SNAPSHOTS=1 rewrites the file): a review sees what a change makes the database run.
describe("the Orders relay's claim as compiled", () => {
  test("claiming outbox rows and moving their orders to PaymentPending (the relay's default batch size and grace)", async () => {
    const statement = claimStatement({
      schema: ordersSchema,
      batchSize: 500,
      atCommitGraceMs: 2_000,
      effects: paymentPendingEffects,
    });
    await expectSqlSnapshot(statement.compiledText(compilingDatabase), new URL("./mark-payment-pending.compiled.sql", import.meta.url));
  });
});
