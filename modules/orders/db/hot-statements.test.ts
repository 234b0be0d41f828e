import { describe, expect, test } from "bun:test";
import { paymentProcessedTopic } from "../../../shared/contracts";
import { consumerStatement } from "../../../shared/messaging/inbox";
import { compilingDatabase, expectSqlSnapshot } from "../../../shared/testing/sql-snapshot";
import { insertOrdersAndNotify, insertOrdersQuietly, ordersSchema } from "./orders.repository";
import { recordPaymentResultsEffects } from "./record-payment-results.statement";

// The SQL Orders runs for every intake window and consumed batch, as compiled, checked in beside
// the code (UPDATE_SQL_SNAPSHOTS=1 rewrites the files): a review sees what a change makes the
// database run.
describe("the Orders statements as compiled", () => {
  test("the intake's insert, waking the relay", async () => {
    await expectSqlSnapshot(insertOrdersAndNotify.compiledText(compilingDatabase), new URL("./insert-orders.compiled.sql", import.meta.url));
  });

  test("the intake's insert when the process wakes its own relay: the same, without the NOTIFY", () => {
    const notifying = insertOrdersAndNotify.compiledText(compilingDatabase);
    const withoutNotify = notifying.replace(" cross join (select pg_notify($3, '')) as notified", "").replace('\n-- $3: constant "orders_outbox"', "");
    expect(withoutNotify).not.toBe(notifying);
    expect(insertOrdersQuietly.compiledText(compilingDatabase)).toBe(withoutNotify);
  });

  test("recording a batch of payment results: the consumer's statement with recordPaymentResultsEffects", async () => {
    const statement = consumerStatement(ordersSchema, paymentProcessedTopic, recordPaymentResultsEffects);
    await expectSqlSnapshot(statement.compiledText(compilingDatabase), new URL("./record-payment-results.compiled.sql", import.meta.url));
  });
});
