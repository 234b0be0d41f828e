import { z } from "zod";
import { envelopeSchema, type Envelope } from "./envelope";

/** Payments → Orders: the outcome of an order's payment. */
export const paymentProcessedTopic = "payment-processed";

export const paymentFailureReasons = ["insufficient_funds", "account_not_found"] as const;
export type PaymentFailureReason = (typeof paymentFailureReasons)[number];

export const paymentProcessedPayload = z.object({
  orderId: z.uuid(),
  userId: z.uuid(),
  status: z.enum(["completed", "failed"]),
  reason: z.enum(paymentFailureReasons).optional(),
  /** The account's balance after the debit, minor units. */
  balance: z.number().int().nonnegative().optional(),
});

export const paymentProcessedEnvelope = envelopeSchema(paymentProcessedTopic, paymentProcessedPayload);

export type PaymentProcessedPayload = z.infer<typeof paymentProcessedPayload>;
export type PaymentProcessed = Envelope<typeof paymentProcessedTopic, PaymentProcessedPayload>;
