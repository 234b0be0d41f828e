import { z } from "@hono/zod-openapi";
import { amountSchema } from "../../../shared/money";
import { orderStatuses } from "../domain/order-status";

export const uuidSchema = z
  .uuid()
  .transform((id) => id.toLowerCase())
  .openapi({ example: "be578685-7963-4876-8809-58b38342468f" });

export const createOrderBody = z
  .strictObject({
    userId: uuidSchema,
    amount: amountSchema,
    description: z
      .string()
      .trim()
      .min(1)
      .max(1_000)
      // PostgreSQL text cannot hold NUL, and an unpaired surrogate would be stored as U+FFFD.
      .refine((text) => !text.includes("\u0000") && text.isWellFormed(), "must be text without NUL characters or unpaired surrogates")
      .openapi({ example: "A book" }),
  })
  .openapi("CreateOrderRequest");

export const orderSchema = z
  .object({
    id: z.uuid(),
    userId: z.uuid(),
    amount: z.number(),
    description: z.string(),
    status: z.enum(orderStatuses),
    failureReason: z.string().optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Order");

export const orderIdParams = z.object({ id: uuidSchema.openapi({ param: { name: "id", in: "path" } }) });

export const listOrdersQuery = z.object({
  userId: uuidSchema.openapi({ param: { name: "userId", in: "query" } }),
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ param: { name: "limit", in: "query" }, example: 50 }),
  before: z.coerce.number().int().positive().optional().openapi({
    param: { name: "before", in: "query", description: "Cursor: the nextBefore of the previous page" },
  }),
});

export const orderPageSchema = z
  .object({ items: z.array(orderSchema), nextBefore: z.number().int().nullable() })
  .openapi("OrderPage");

export const idempotencyHeaders = z.object({
  "idempotency-key": z.string().optional().openapi({
    param: { name: "idempotency-key", in: "header", description: "Repeat a request safely: same key and body, same answer, one order" },
  }),
});
