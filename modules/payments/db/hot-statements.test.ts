import { describe, test } from "bun:test";
import { orderCreatedTopic } from "../../../shared/contracts";
import { consumerStatement } from "../../../shared/messaging/inbox";
import { claimStatement } from "../../../shared/messaging/outbox-relay";
import { compilingDatabase, expectSqlSnapshot } from "../../../shared/testing/sql-snapshot";
import { paymentsSchema } from "./accounts.repository";
import { payOrdersEffects } from "./pay-orders.statement";
import { refundOrdersStatement } from "./refunds.repository";

// The SQL Payments runs on every consumed batch, as compiled, checked in beside the code
// (UPDATE_SQL_SNAPSHOTS=1 rewrites the files): a review sees what a change makes the database run.
describe("the Payments statements as compiled", () => {
  test("paying a batch of order-created messages: the consumer's statement with payOrdersEffects", async () => {
    const statement = consumerStatement(paymentsSchema, orderCreatedTopic, payOrdersEffects);
    await expectSqlSnapshot(statement.compiledText(compilingDatabase), new URL("./pay-orders.compiled.sql", import.meta.url));
  });

  test("the Payments relay's claim (no claim effects; the relay's default batch size and grace)", async () => {
    const statement = claimStatement({ schema: paymentsSchema, batchSize: 500, atCommitGraceMs: 2_000, effects: undefined });
    await expectSqlSnapshot(statement.compiledText(compilingDatabase), new URL("./relay-claim.compiled.sql", import.meta.url));
  });

  test("answering a batch of refund requests", async () => {
    await expectSqlSnapshot(refundOrdersStatement.compiledText(compilingDatabase), new URL("./refund-orders.compiled.sql", import.meta.url));
  });
});
