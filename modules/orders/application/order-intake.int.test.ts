import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { testBackends } from "../../../shared/testing/postgres";
import { ordersSchema } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { outboxChannel } from "../../../shared/messaging/outbox";
import { OrderIntake } from "./order-intake";
import { useOrdersTestDatabase } from "../db/orders-test-database";

// Group commit of new orders, on both backends.
for (const backend of testBackends) {
  describe(`OrderIntake on ${backend}`, () => {
    const testDatabase = useOrdersTestDatabase(backend);
    /** Statements sent through `db()`, counted by a kysely plugin. */
    let statements = 0;
    const db = () =>
      testDatabase().database.kysely.withSchema(ordersSchema).withPlugin({
        transformQuery: ({ node }) => (statements++, node),
        transformResult: async ({ result }) => result,
      }) as Kysely<OrdersDatabase>;
    const count = async (query: ReturnType<typeof sql<{ count: number }>>) => (await query.execute(testDatabase().database.kysely)).rows[0]!.count;

    test("orders placed at once share statements, and each caller gets its own committed order", async () => {
      const intake = new OrderIntake(db());
      const userId = randomUUID();
      const inputs = Array.from({ length: 100 }, (_, index) => ({ userId, amount: 100 + index, description: `order ${index}` }));
      statements = 0;
      const rows = await Promise.all(inputs.map((input) => intake.place(input)));
      expect(rows.map((row) => [row.user_id, row.amount, row.description, row.status])).toEqual(
        inputs.map((input) => [input.userId, input.amount, input.description, "Created"]),
      );
      expect(new Set(rows.map((row) => row.id)).size).toBe(100);
      // At most 2 statements in flight: the rest wait and go together.
      expect(statements).toBeLessThanOrEqual(10);
      expect(await count(sql`select count(*)::int as count from orders.orders where user_id = ${userId}`)).toBe(100);
      const messages = await count(
        sql`select count(*)::int as count from orders.outbox where topic = 'order-created' and value::json->'payload'->>'userId' = ${userId}`,
      );
      expect(messages).toBe(100);
    });

    test("an order the database refuses fails alone: the others in its statement are still placed", async () => {
      const intake = new OrderIntake(db());
      const userId = randomUUID();
      // amount 0 breaks the orders table's CHECK (the API never lets it through; the intake must still isolate it).
      const inputs = [1, 2, 0, 4, 5].map((amount) => ({ userId, amount, description: `amount ${amount}` }));
      const settled = await Promise.allSettled(inputs.map((input) => intake.place(input)));
      expect(settled.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
      expect(await count(sql`select count(*)::int as count from orders.orders where user_id = ${userId}`)).toBe(4);
      expect(await count(sql`select count(*)::int as count from orders.outbox where value::json->'payload'->>'userId' = ${userId}`)).toBe(4);
    });

    test("drain waits for every order handed in, for each caller", async () => {
      const intake = new OrderIntake(db());
      const userId = randomUUID();
      const placing = Array.from({ length: 20 }, (_, index) => intake.place({ userId, amount: 10 + index, description: "drained" }));
      await Promise.all([intake.drain(), intake.drain()]);
      expect(await count(sql`select count(*)::int as count from orders.orders where user_id = ${userId}`)).toBe(20);
      await Promise.all(placing);
    });
  });
}

// Waking the relay: through the database (NOTIFY) unless this process's relay is the active one.
for (const backend of testBackends) {
  describe(`OrderIntake waking the relay on ${backend}`, () => {
    const testDatabase = useOrdersTestDatabase(backend);

    const placeWith = async (active: boolean) => {
      const notified: string[] = [];
      const unlisten = await testDatabase().database.listen(outboxChannel(ordersSchema), (payload) => void notified.push(payload));
      const wakes: number[] = [];
      const db = testDatabase().database.kysely.withSchema(ordersSchema) as Kysely<OrdersDatabase>;
      const intake = new OrderIntake(db, { relay: { active, wake: () => void wakes.push(Date.now()) } });
      const userId = randomUUID();
      await Promise.all([1, 2, 3].map((amount) => intake.place({ userId, amount, description: "wake test" })));
      // A marker NOTIFY after the orders: once it arrives, any NOTIFY of theirs has arrived before it.
      await sql`select pg_notify(${outboxChannel(ordersSchema)}, 'marker')`.execute(testDatabase().database.kysely);
      const deadline = Date.now() + 5_000;
      while (!notified.includes("marker") && Date.now() < deadline) await Bun.sleep(10);
      await unlisten();
      return { notified: notified.filter((payload) => payload !== "marker").length, wakes: wakes.length };
    };

    test("an active local relay is woken after each commit, and nothing goes through NOTIFY", async () => {
      const { notified, wakes } = await placeWith(true);
      expect(notified).toBe(0);
      expect(wakes).toBeGreaterThanOrEqual(1);
    });

    test("a relay on standby here is not woken: the statement NOTIFies whichever instance is active", async () => {
      const { notified, wakes } = await placeWith(false);
      expect(notified).toBeGreaterThanOrEqual(1);
      expect(wakes).toBe(0);
    });
  });
}
