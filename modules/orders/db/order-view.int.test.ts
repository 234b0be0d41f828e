import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { testBackends } from "../../../shared/testing/postgres";
import { toOrderView } from "./order-view.oracle";
import { advanceStatuses, findOrder, insertOrders, listOrders, lockOrder, ordersSchema } from "./orders.repository";
import type { OrdersDatabase } from "./orders.tables";
import { useOrdersTestDatabase } from "./orders-test-database";

// The order view is built by SQL (orderViewJson) for every query of the repository; the oracle
// computes it in JavaScript from the same row's columns. They must agree, to the digit and the
// millisecond, for amounts and texts that stress the conversion.
for (const backend of testBackends) {
  describe(`the order view on ${backend}`, () => {
    const testDatabase = useOrdersTestDatabase(backend);
    const db = () => testDatabase().database.kysely.withSchema(ordersSchema) as Kysely<OrdersDatabase>;
    const userId = randomUUID();
    const orders = [1, 10, 25_050, 1_234_567, 99_999_999_999_999].map((amount, index) => ({
      id: randomUUID(),
      userId,
      amount,
      description: index === 0 ? `"Quoted" — ünïcödé ✓ \\ back` : `order ${index}`,
    }));

    test("each query's view is the oracle's view of its row", async () => {
      const inserted = await insertOrders(db(), orders, []);
      for (const row of inserted) expect(row.view).toEqual(toOrderView(row));
      expect(inserted.map((row) => row.view.amount)).toEqual([0.01, 0.1, 250.5, 12_345.67, 999_999_999_999.99]);

      const failed = await advanceStatuses(db(), [{ orderId: orders[1]!.id, to: "PaymentFailed", failureReason: "insufficient_funds" }]);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.view).toEqual(toOrderView(failed[0]!));
      expect(failed[0]!.view.failureReason).toBe("insufficient_funds");

      const listed = await listOrders(db(), userId, { limit: 10 });
      expect(listed).toHaveLength(orders.length);
      for (const row of listed) expect(row.view).toEqual(toOrderView(row));

      const found = (await findOrder(db(), orders[0]!.id))!;
      expect(found.view).toEqual(toOrderView(found));
      expect(found.view).not.toHaveProperty("failureReason");
      const locked = (await db().transaction().execute((trx) => lockOrder(trx, orders[1]!.id)))!;
      expect(locked.view).toEqual(toOrderView(locked));
    });
  });
}
