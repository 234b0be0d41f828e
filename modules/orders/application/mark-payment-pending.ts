import type { Kysely } from "kysely";
import { orderCreatedTopic } from "../../../shared/contracts";
import type { OutboxRow } from "../../../shared/messaging/outbox-relay";
import { advanceStatuses, type OrderRow } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { toOrderView, type OrderView } from "./order-view";

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
