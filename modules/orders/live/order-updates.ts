import type { Bus } from "../../../shared/bus/bus";
import { envelopeSchema, newEnvelope } from "../../../shared/contracts/envelope";
import type { Logger } from "../../../shared/logger";
import type { OutboxMessage } from "../../../shared/messaging/outbox";
import type { OrderRow } from "../db/orders.repository";
import { toOrderView, type OrderView } from "../application/order-view";
import { orderSchema } from "../http/orders.schemas";

/**
 * The Orders module's own broadcast topic: every status change, so every orders instance can push
 * it to its WebSocket clients. Internal to the module (not a cross-module contract).
 *
 * A terminal status travels through the outbox with the change itself: it reaches browsers even
 * if the process dies right after the commit. Created and PaymentPending are published straight
 * after the relay's commit (see `publishOrderUpdates`): a crash at that instant loses those two
 * pushes, never the final one, which shows the order in its final state anyway.
 */
export const orderUpdatesTopic = "orders.order-updated";

/** Each message carries the order as the API shows it (the same schema). */
export const orderUpdatedEnvelope = envelopeSchema(orderUpdatesTopic, orderSchema);

/**
 * Outbox messages announcing that these orders changed (the payment results' statement builds its
 * own in SQL), each with the trace context of the change that moved it, when there is one.
 */
export function orderUpdates(rows: OrderRow[], traceOf?: (row: OrderRow) => Record<string, string> | undefined): OutboxMessage[] {
  return rows.map((row) => ({
    topic: orderUpdatesTopic,
    envelope: newEnvelope(orderUpdatesTopic, row.user_id, toOrderView(row)),
    headers: traceOf?.(row),
  }));
}

/**
 * Publishes order changes on the broadcast topic now, outside any transaction, in the given order
 * (one publish). Best effort: a failure is logged, never thrown.
 */
export async function publishOrderUpdates(bus: Bus, logger: Logger, views: OrderView[]): Promise<void> {
  if (views.length === 0) return;
  const messages = views.map((view) => ({ key: view.userId, value: JSON.stringify(newEnvelope(orderUpdatesTopic, view.userId, view)) }));
  try {
    await bus.publish(orderUpdatesTopic, messages);
  } catch (error) {
    logger.warn("live order updates not published", { count: views.length, error: String(error) });
  }
}
