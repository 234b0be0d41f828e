import { z } from "zod";
import type { Bus } from "../../../shared/bus/bus";
import { envelopeSchema, maxEnvelopeBytes, newEnvelope } from "../../../shared/contracts/envelope";
import type { Logger } from "../../../shared/logger";
import type { OutboxMessage } from "../../../shared/messaging/outbox";
import type { OrderRow } from "../db/orders.repository";
import type { OrderView } from "../db/order-view.sql";
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

/**
 * At most this many changes per message, and never more bytes than a consumer accepts
 * (`maxEnvelopeBytes`, 64 KiB): a batch that encodes larger is split. One change always fits: an
 * order's description is at most `maxDescriptionBytes` in UTF-8, six times that once JSON-escaped.
 */
export const maxChangesPerMessage = 20;

/** A message of one change: the order as the API shows it (the same schema). The outbox writes these. */
export const orderUpdatedEnvelope = envelopeSchema(orderUpdatesTopic, orderSchema);

/**
 * What the topic carries: a message of one change, or of several changes of one user's orders, in
 * order (a list): the relay's Created and PaymentPending of a round reach each user as one message.
 */
export const orderUpdatesEnvelope = envelopeSchema(orderUpdatesTopic, z.union([orderSchema, z.array(orderSchema).min(1).max(maxChangesPerMessage)]));

/** The changes a message carries, in order. */
export const changesOf = (payload: z.infer<typeof orderUpdatesEnvelope>["payload"]): OrderView[] => (Array.isArray(payload) ? payload : [payload]);

/**
 * Outbox messages announcing that these orders changed (the payment results' statement builds its
 * own in SQL), each with the trace context of the change that moved it, when there is one.
 */
export function orderUpdates(rows: OrderRow[], traceOf?: (row: OrderRow) => Record<string, string> | undefined): OutboxMessage[] {
  return rows.map((row) => ({
    topic: orderUpdatesTopic,
    envelope: newEnvelope(orderUpdatesTopic, row.user_id, row.view),
    headers: traceOf?.(row),
  }));
}

/**
 * Publishes order changes on the broadcast topic now, outside any transaction, in the given order
 * (one publish): one message per user, listing that user's changes in order (per-key order holds,
 * the message being keyed by the user). Best effort: a failure is logged, never thrown.
 */
export async function publishOrderUpdates(bus: Bus, logger: Logger, views: OrderView[]): Promise<void> {
  if (views.length === 0) return;
  const byUser = new Map<string, OrderView[]>();
  for (const view of views) {
    const changes = byUser.get(view.userId);
    if (changes) changes.push(view);
    else byUser.set(view.userId, [view]);
  }
  const messages = [...byUser].flatMap(([userId, changes]) =>
    Array.from({ length: Math.ceil(changes.length / maxChangesPerMessage) }, (_, chunk) =>
      encode(userId, changes.slice(chunk * maxChangesPerMessage, (chunk + 1) * maxChangesPerMessage)),
    ).flat(),
  );
  try {
    await bus.publish(orderUpdatesTopic, messages);
  } catch (error) {
    logger.warn("live order updates not published", { count: views.length, error: String(error) });
  }
}

/**
 * One user's changes as messages of at most `maxEnvelopeBytes`, in order: encoded whole, and halved
 * until each part fits (a single change always does). Usually one encoding, no split.
 */
function encode(userId: string, changes: OrderView[]): { key: string; value: string }[] {
  const value = JSON.stringify(newEnvelope(orderUpdatesTopic, userId, changes.length === 1 ? changes[0]! : changes));
  if (changes.length === 1 || Buffer.byteLength(value) <= maxEnvelopeBytes) return [{ key: userId, value }];
  const half = Math.ceil(changes.length / 2);
  return [...encode(userId, changes.slice(0, half)), ...encode(userId, changes.slice(half))];
}
