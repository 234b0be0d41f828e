import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { newEnvelope, orderCreatedTopic, orderIdAttribute } from "../../../shared/contracts";
import type { CapturedTrace } from "../../../shared/tracing/tracing";
import { insertOrders, type OrderRow } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";

export interface OrderInput {
  userId: string;
  amount: number;
  description: string;
  /** The placing request's trace context (tracing on), stored with the order's message. */
  trace?: CapturedTrace;
}

/**
 * Accepts orders in one statement: each order (status Created) and its order-created message
 * commit together or not at all, in the caller's transaction or on their own. Browsers hear of
 * the new orders from the relay, once order-created is published (see paymentPendingEffects).
 * With tracing on, each message stores its request's trace context, the order id in its baggage.
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
    headers: order.trace?.headers({ [orderIdAttribute]: order.id }),
  }));
  return insertOrders(db, orders, messages, options);
}
