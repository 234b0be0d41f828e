import type { Kysely } from "kysely";
import { orderCreatedTopic, type PaymentProcessed } from "../../../shared/contracts";
import { enqueue, type QueuedMessage } from "../../../shared/messaging/outbox";
import type { OutboxRow } from "../../../shared/messaging/outbox-relay";
import { advanceStatuses, ordersSchema, type OrderRow } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { orderUpdates } from "../live/order-updates";
import { toOrderView, type OrderView } from "./order-view";

/**
 * Applies payment results inside the inbox's transaction, in one statement: each order moves to
 * PaymentCompleted or PaymentFailed (with the reason) if it has not reached a terminal status
 * yet. The new statuses go to the outbox in the same transaction, so browsers hear of them even
 * after a crash. Returns those outbox rows, for the caller to publish once the transaction has
 * committed (the relay publishes them if it does not).
 */
export async function recordPaymentResults(trx: Kysely<OrdersDatabase>, results: PaymentProcessed[]): Promise<QueuedMessage[]> {
  const moved = await advanceStatuses(
    trx,
    results.map(({ payload }) => ({
      orderId: payload.orderId,
      to: payload.status === "completed" ? ("PaymentCompleted" as const) : ("PaymentFailed" as const),
      failureReason: payload.reason ?? null,
    })),
  );
  return enqueue(trx, ordersSchema, orderUpdates(moved), { notify: false });
}

/**
 * Runs in the relay's transaction once order-created messages are published: Created →
 * PaymentPending. Returns the changes to show browsers, in order, once that transaction commits:
 * each moved order as Created, then as PaymentPending.
 */
export async function markPaymentPending(trx: Kysely<OrdersDatabase>, published: OutboxRow[]): Promise<OrderView[]> {
  const orderIds = published
    .filter((row) => row.topic === orderCreatedTopic)
    .map((row) => (JSON.parse(row.value) as { payload: { orderId: string } }).payload.orderId);
  const moved = await advanceStatuses(trx, orderIds.map((orderId) => ({ orderId, to: "PaymentPending" as const })));
  return moved.flatMap((row) => [toOrderView(asCreated(row)), toOrderView(row)]);
}

/** The order as it was when placed. */
function asCreated(row: OrderRow): OrderRow {
  return { ...row, status: "Created", failure_reason: null, updated_at: row.created_at };
}
