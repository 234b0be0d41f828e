import type { Kysely } from "kysely";
import type { RefundProcessed } from "../../../shared/contracts";
import type { ApplyContext } from "../../../shared/messaging/inbox";
import type { AtCommit } from "../../../shared/messaging/outbox";
import { advanceStatuses } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { orderUpdates } from "../live/order-updates";

/**
 * Applies Payments' answers to refund requests inside the inbox's transaction, in one statement:
 * `refunded` moves an order to Refunded, `cancelled` to Cancelled, each only from a status the
 * graph allows (a repeated answer matches no row). The changes go to the outbox in the same
 * transaction, for browsers, for delivery at commit: returns their handle. With tracing on, each
 * change's row stores its answer's trace context (`traceOf`).
 */
export async function recordRefundResults(
  trx: Kysely<OrdersDatabase>,
  results: RefundProcessed[],
  { outbox, traceOf }: ApplyContext<RefundProcessed>,
): Promise<AtCommit> {
  const moved = await advanceStatuses(
    trx,
    results.map(({ payload }) => ({ orderId: payload.orderId, to: payload.status === "refunded" ? ("Refunded" as const) : ("Cancelled" as const) })),
  );
  const byOrder = traceOf && new Map(results.map((result) => [result.payload.orderId.toLowerCase(), traceOf(result)]));
  return outbox.atCommit(trx, orderUpdates(moved, byOrder && ((row) => byOrder.get(row.id))));
}
