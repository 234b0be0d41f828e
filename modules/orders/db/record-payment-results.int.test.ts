import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { newEnvelope, paymentProcessedTopic, type PaymentProcessed } from "../../../shared/contracts";
import { consumerStatement, runConsumerStatement } from "../../../shared/messaging/inbox";
import { testBackends } from "../../../shared/testing/postgres";
import { toOrderView } from "./order-view.oracle";
import { orderUpdatedEnvelope } from "../live/order-updates";
import { findOrder, insertOrders, ordersSchema } from "./orders.repository";
import type { OrdersDatabase } from "./orders.tables";
import { recordPaymentResultsEffects } from "./record-payment-results.statement";
import { useOrdersTestDatabase } from "./orders-test-database";

// The orders consumer's one statement, on both backends: statuses move forward only, and each
// moved order's live update (built by SQL) is the order exactly as the API shows it.
for (const backend of testBackends) {
  describe(`payment results in one statement on ${backend}`, () => {
    const testDatabase = useOrdersTestDatabase(backend);
    const db = () => testDatabase().database.kysely.withSchema(ordersSchema) as Kysely<OrdersDatabase>;

    const place = async (amount: number, description = "a book") => {
      const order = { id: randomUUID(), userId: randomUUID(), amount, description };
      const [row] = await insertOrders(db(), [order], []);
      return row!;
    };
    const result = (orderId: string, userId: string, status: "completed" | "failed", reason?: "insufficient_funds"): PaymentProcessed =>
      newEnvelope(paymentProcessedTopic, userId, { orderId, userId, status, ...(reason && { reason }) });
    const statement = consumerStatement(ordersSchema, paymentProcessedTopic, recordPaymentResultsEffects);
    const run = (results: PaymentProcessed[]) => runConsumerStatement(db(), statement, recordPaymentResultsEffects, results);

    test("each moved order's update is toOrderView of its new row, in the outbox with the move", async () => {
      // Amounts that stress the conversion back to major units, a text with quotes and non-ASCII.
      const paid = await place(25_050, `"Quoted" — ünïcödé ✓ \\ back`);
      const big = await place(99_999_999_999_999);
      const cent = await place(1);
      const failed = await place(1_234_567);
      const results = [
        result(paid.id, paid.user_id, "completed"),
        result(big.id, big.user_id, "completed"),
        result(cent.id, cent.user_id, "completed"),
        result(failed.id, failed.user_id, "failed", "insufficient_funds"),
      ];
      const { rows } = await run(results);
      expect(rows[0]!.fresh).toBe(4);
      const updates = rows.map((row) => orderUpdatedEnvelope.parse(JSON.parse(row.value!)));
      for (const order of [paid, big, cent, failed]) {
        const now = (await findOrder(db(), order.id))!;
        expect(now.status).toBe(order === failed ? "PaymentFailed" : "PaymentCompleted");
        const update = updates.find((candidate) => candidate.payload.id === order.id)!;
        expect(update.payload).toEqual(toOrderView(now));
        expect(update.key).toBe(order.user_id);
        expect(Date.parse(update.occurredAt)).toBeGreaterThan(0);
      }
      expect(updates.find((update) => update.payload.id === failed.id)!.payload.failureReason).toBe("insufficient_funds");
      // The rows the statement answered are the outbox rows, unpublished, with their envelope ids.
      const outbox = await db().selectFrom("outbox").select(["id", "message_id", "published_at"]).where("id", "in", rows.map((row) => row.id!)).orderBy("id").execute();
      expect(outbox.map((row) => row.message_id)).toEqual(updates.map((update) => update.id));
      expect(outbox.every((row) => row.published_at === null)).toBe(true);
      // Written for delivery at commit: the consumer publishes them, the relay only after its grace period.
      expect(rows.map((row) => row.delivery)).toEqual(rows.map(() => "at-commit"));
    });

    test("a repeated message is skipped by the inbox; a late result for a terminal order moves nothing and writes nothing", async () => {
      const order = await place(500);
      const first = result(order.id, order.user_id, "failed", "insufficient_funds");
      expect((await run([first])).rows.map((row) => row.fresh)).toEqual([1]);
      const again = await run([first]);
      expect(again.rows).toEqual([{ fresh: 0, duplicates: [first.id], id: null, topic: null, key: null, value: null, headers: null, delivery: null }]);
      // A new message (new id) saying otherwise: fresh for the inbox, but the status only moves forward.
      const late = await run([result(order.id, order.user_id, "completed")]);
      expect(late.rows).toEqual([{ fresh: 1, duplicates: null, id: null, topic: null, key: null, value: null, headers: null, delivery: null }]);
      expect((await findOrder(db(), order.id))!.status).toBe("PaymentFailed");
    });

    test("with trace headers: each live update's outbox row stores its result's trace context, written and returned by the same statement", async () => {
      const traced = await place(300);
      const untraced = await place(400);
      const tracedResult = result(traced.id, traced.user_id, "completed");
      const untracedResult = result(untraced.id, untraced.user_id, "completed");
      const headers = { traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01`, baggage: `gozon.order_id=${traced.id}` };
      const traceOf = (message: PaymentProcessed) => (message === tracedResult ? headers : undefined);
      const { rows } = await runConsumerStatement(db(), statement, recordPaymentResultsEffects, [tracedResult, untracedResult], traceOf);
      const byOrder = new Map(rows.map((row) => [orderUpdatedEnvelope.parse(JSON.parse(row.value!)).payload.id, row]));
      expect(byOrder.get(traced.id)!.headers).toEqual(headers);
      expect(byOrder.get(untraced.id)!.headers).toBeNull();
      const stored = await db().selectFrom("outbox").select(["id", "headers"]).where("id", "in", rows.map((row) => row.id!)).execute();
      expect(stored.find((row) => row.id === byOrder.get(traced.id)!.id)!.headers).toEqual(headers);
      expect(stored.find((row) => row.id === byOrder.get(untraced.id)!.id)!.headers).toBeNull();
    });

    test("two results for one order in one batch: the first wins", async () => {
      const order = await place(700);
      const { rows } = await run([result(order.id, order.user_id, "completed"), result(order.id, order.user_id, "failed", "insufficient_funds")]);
      expect(rows).toHaveLength(1);
      expect(orderUpdatedEnvelope.parse(JSON.parse(rows[0]!.value!)).payload.status).toBe("PaymentCompleted");
      const inbox = await sql<{ count: number }>`select count(*)::int as count from orders.inbox`.execute(db());
      expect(inbox.rows[0]!.count).toBeGreaterThan(0);
    });
  });
}
