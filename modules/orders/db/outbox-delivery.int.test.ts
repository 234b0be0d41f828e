import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { newEnvelope, orderCreatedTopic } from "../../../shared/contracts";
import { OutboxWriter } from "../../../shared/messaging/outbox";
import { testBackends } from "../../../shared/testing/postgres";
import { insertOrders, ordersSchema } from "./orders.repository";
import type { OrdersDatabase } from "./orders.tables";
import { useOrdersTestDatabase } from "./orders-test-database";

// order-created keeps per-key order by going through the relay alone: the outbox table refuses it
// written for delivery at commit, and the intake writes it for the relay.
for (const backend of testBackends) {
  describe(`order-created's delivery on ${backend}`, () => {
    const testDatabase = useOrdersTestDatabase(backend);
    const db = () => testDatabase().database.kysely.withSchema(ordersSchema) as Kysely<OrdersDatabase>;
    const orderCreated = () => {
      const userId = randomUUID();
      return { topic: orderCreatedTopic, envelope: newEnvelope(orderCreatedTopic, userId, { orderId: randomUUID(), userId, amount: 100, description: "a book" }) };
    };

    test("an order-created row written for delivery at commit is refused, and nothing of its transaction commits", async () => {
      const outbox = new OutboxWriter(ordersSchema, { publish: async () => {} });
      const message = orderCreated();
      await expect(db().transaction().execute((trx) => outbox.atCommit(trx, [message]))).rejects.toThrow(/outbox_relay_only_topics/);
      const rows = await db().selectFrom("outbox").select("id").where("message_id", "=", message.envelope.id).execute();
      expect(rows).toEqual([]);
    });

    test("the intake's statement writes order-created for the relay", async () => {
      const message = orderCreated();
      const { userId, orderId } = message.envelope.payload;
      await insertOrders(db(), [{ id: orderId, userId, amount: 100, description: "a book" }], [message]);
      const row = await db().selectFrom("outbox").select(["topic", "delivery"]).where("message_id", "=", message.envelope.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ topic: orderCreatedTopic, delivery: "relay" });
    });
  });
}
