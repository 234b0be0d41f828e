import { z } from "zod";
import { envelopeSchema, newEnvelope } from "../../../shared/contracts/envelope";
import type { OutboxMessage } from "../../../shared/messaging/outbox";
import type { OrderRow } from "../db/orders.repository";
import { toOrderView } from "../application/order-view";

/**
 * The Orders module's own broadcast topic: every status change, written to the outbox with the
 * change itself, so every orders instance can push it to its WebSocket clients. Internal to the
 * module (not a cross-module contract).
 */
export const orderUpdatesTopic = "orders.order-updated";

export const orderUpdatedEnvelope = envelopeSchema(
  orderUpdatesTopic,
  z.object({
    id: z.uuid(),
    userId: z.uuid(),
    amount: z.number(),
    description: z.string(),
    status: z.enum(["Created", "PaymentPending", "PaymentCompleted", "PaymentFailed"]),
    failureReason: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
);

/** Outbox messages announcing that these orders changed. */
export function orderUpdates(rows: OrderRow[]): OutboxMessage[] {
  return rows.map((row) => ({ topic: orderUpdatesTopic, envelope: newEnvelope(orderUpdatesTopic, row.user_id, toOrderView(row)) }));
}
