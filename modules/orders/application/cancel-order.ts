import type { Kysely } from "kysely";
import { newEnvelope, orderIdAttribute, refundRequestedTopic } from "../../../shared/contracts";
import type { AtCommit, OutboxWriter } from "../../../shared/messaging/outbox";
import type { CapturedTrace } from "../../../shared/tracing/tracing";
import { advanceStatuses, type OrderRow } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { cancellation } from "../domain/order-status";
import { orderUpdates } from "../live/order-updates";

/** What a cancel did. */
export type CancelOutcome =
  /** The order moved to CancelRequested or RefundPending; `written` publishes its outbox rows once committed. */
  | { kind: "requested"; order: OrderRow; written: AtCommit }
  /** Already cancelled or being cancelled: nothing changed. */
  | { kind: "already"; order: OrderRow }
  /** Nothing to cancel (its payment failed): nothing changed. */
  | { kind: "refused"; order: OrderRow; reason: string };

/**
 * Cancels an order inside the caller's transaction, `order` being locked in it (`lockOrder`), so
 * no payment result lands between the decision and the move. A paid order moves to
 * RefundPending, one whose payment result is not in yet to CancelRequested; in the same
 * transaction, and so only once per order, a `refund-requested` goes to the outbox with the
 * change for browsers. Payments' answer decides between Refunded and Cancelled; this side never
 * guesses whether money moved (see domain/order-status.ts). The rows are written for delivery at
 * commit: the caller publishes them (`written.publish()`) once the transaction has committed, and
 * the relay does if it does not.
 * With tracing on, both rows store the request's trace context (`trace`), the order id in its baggage.
 */
export async function cancelOrder(trx: Kysely<OrdersDatabase>, outbox: OutboxWriter, order: OrderRow, trace?: CapturedTrace): Promise<CancelOutcome> {
  const decision = cancellation(order.status);
  if (decision.kind === "already") return { kind: "already", order };
  if (decision.kind === "refused") return { kind: "refused", order, reason: decision.reason };
  const [moved] = await advanceStatuses(trx, [{ orderId: order.id, to: decision.to }]);
  if (!moved) throw new Error(`order ${order.id} did not move from ${order.status} to ${decision.to} although locked`);
  const request = newEnvelope(refundRequestedTopic, moved.user_id, { orderId: moved.id, userId: moved.user_id });
  const headers = trace?.headers({ [orderIdAttribute]: moved.id });
  const written = await outbox.atCommit(trx, [{ topic: refundRequestedTopic, envelope: request, headers }, ...orderUpdates([moved], () => headers)]);
  return { kind: "requested", order: moved, written };
}
