import { z } from "zod";
import { envelopeSchema, type Envelope } from "./envelope";

/**
 * Orders → Payments: the customer cancelled this order; return whatever was charged for it and
 * never charge it afterwards. Sent at most once per order by Orders (its status moves forward
 * once), yet Payments must treat a repeat as the same request. It may reach Payments before,
 * after or while the order's `order-created` is handled: the two travel on different topics.
 */
export const refundRequestedTopic = "refund-requested";

export const refundRequestedPayload = z.object({
  orderId: z.uuid(),
  userId: z.uuid(),
});

export const refundRequestedEnvelope = envelopeSchema(refundRequestedTopic, refundRequestedPayload);

export type RefundRequestedPayload = z.infer<typeof refundRequestedPayload>;
export type RefundRequested = Envelope<typeof refundRequestedTopic, RefundRequestedPayload>;
