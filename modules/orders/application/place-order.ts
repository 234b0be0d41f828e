import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { newEnvelope, orderCreatedTopic } from "../../../shared/contracts";
import { enqueue } from "../../../shared/messaging/outbox";
import { insertOrder, ordersSchema, type OrderRow } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { orderUpdates } from "../live/order-updates";

/**
 * Accepts an order inside the caller's transaction: the order (status Created), its
 * order-created message and its first live update commit together or not at all.
 */
export async function placeOrder(
  trx: Kysely<OrdersDatabase>,
  input: { userId: string; amount: number; description: string },
): Promise<OrderRow> {
  const row = await insertOrder(trx, { id: randomUUID(), ...input });
  const payload = { orderId: row.id, userId: row.user_id, amount: row.amount, description: row.description };
  await enqueue(trx, ordersSchema, [
    { topic: orderCreatedTopic, envelope: newEnvelope(orderCreatedTopic, row.user_id, payload) },
    ...orderUpdates([row]),
  ]);
  return row;
}
