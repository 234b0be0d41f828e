import { z } from "zod";
import { envelopeSchema, type Envelope } from "./envelope";

/** Orders → Payments: an order was accepted and must be paid. Amount in minor units. */
export const orderCreatedTopic = "order-created";

export const orderCreatedPayload = z.object({
  orderId: z.uuid(),
  userId: z.uuid(),
  /** Integer minor units (cents), > 0. */
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  description: z.string().max(1_000),
});

export const orderCreatedEnvelope = envelopeSchema(orderCreatedTopic, orderCreatedPayload);

export type OrderCreatedPayload = z.infer<typeof orderCreatedPayload>;
export type OrderCreated = Envelope<typeof orderCreatedTopic, OrderCreatedPayload>;
