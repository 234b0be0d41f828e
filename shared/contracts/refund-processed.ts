import { z } from "zod";
import { envelopeSchema, type Envelope } from "./envelope";

/**
 * Payments → Orders: the answer to a `refund-requested`, final for the order. `refunded`: the
 * order had been debited and `amount` was credited back (one refund per order), leaving
 * `balance`. `cancelled`: the order was not debited and never will be (a later `order-created`
 * for it is not charged). A repeated request gets the same answer again.
 */
export const refundProcessedTopic = "refund-processed";

export const refundStatuses = ["refunded", "cancelled"] as const;

export const refundProcessedPayload = z.object({
  orderId: z.uuid(),
  userId: z.uuid(),
  status: z.enum(refundStatuses),
  /** The amount credited back, minor units (with `refunded`). */
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  /** The account's balance after the refund, minor units (with `refunded`). */
  balance: z.number().int().nonnegative().optional(),
});

export const refundProcessedEnvelope = envelopeSchema(refundProcessedTopic, refundProcessedPayload);

export type RefundProcessedPayload = z.infer<typeof refundProcessedPayload>;
export type RefundProcessed = Envelope<typeof refundProcessedTopic, RefundProcessedPayload>;
