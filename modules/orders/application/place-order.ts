import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { newEnvelope, orderCreatedTopic } from "../../../shared/contracts";
import { insertOrders, type OrderRow } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";

export interface OrderInput {
  userId: string;
  amount: number;
  description: string;
}

/**
 * Accepts orders in one statement: each order (status Created) and its order-created message
 * commit together or not at all, in the caller's transaction or on their own. Browsers hear of
 * the new orders from the relay, once order-created is published (see markPaymentPending).
 */
export async function placeOrders(db: Kysely<OrdersDatabase>, inputs: OrderInput[], options: { notify?: boolean } = {}): Promise<OrderRow[]> {
  const orders = inputs.map((input) => ({ id: randomUUID(), ...input }));
  const messages = orders.map((order) => ({
    topic: orderCreatedTopic,
    envelope: newEnvelope(orderCreatedTopic, order.userId, {
      orderId: order.id,
      userId: order.userId,
      amount: order.amount,
      description: order.description,
    }),
  }));
  return insertOrders(db, orders, messages, options);
}
