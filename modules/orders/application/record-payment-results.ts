import type { Kysely } from "kysely";
import { orderCreatedTopic, type PaymentProcessed } from "../../../shared/contracts";
import { enqueue } from "../../../shared/messaging/outbox";
import type { OutboxRow } from "../../../shared/messaging/outbox-relay";
import { advanceStatus, ordersSchema } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { orderUpdates } from "../live/order-updates";

/**
 * Applies payment results inside the inbox's transaction: each order moves to PaymentCompleted
 * or PaymentFailed (with the reason) if it has not reached a terminal status yet.
 */
export async function recordPaymentResults(trx: Kysely<OrdersDatabase>, results: PaymentProcessed[]): Promise<void> {
  const moved = [];
  // Lock orders in id order, as the relay's single UPDATE … WHERE id IN (…) does: two
  // transactions touching the same orders then never wait on each other in a cycle (deadlock).
  // The sort is stable, so two results for one order keep their order.
  const inLockOrder = [...results].sort((a, b) => (a.payload.orderId < b.payload.orderId ? -1 : a.payload.orderId > b.payload.orderId ? 1 : 0));
  for (const { payload } of inLockOrder) {
    const to = payload.status === "completed" ? "PaymentCompleted" : "PaymentFailed";
    moved.push(...(await advanceStatus(trx, [payload.orderId], to, payload.reason ?? null)));
  }
  await enqueue(trx, ordersSchema, orderUpdates(moved));
}

/** Runs in the relay's transaction once order-created messages are published: Created → PaymentPending. */
export async function markPaymentPending(trx: Kysely<OrdersDatabase>, published: OutboxRow[]): Promise<void> {
  const orderIds = published
    .filter((row) => row.topic === orderCreatedTopic)
    .map((row) => (JSON.parse(row.value) as { payload: { orderId: string } }).payload.orderId);
  const moved = await advanceStatus(trx, orderIds, "PaymentPending");
  await enqueue(trx, ordersSchema, orderUpdates(moved));
}
