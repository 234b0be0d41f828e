import { z } from "@hono/zod-openapi";
import { amountSchema } from "../../../shared/money";
import { orderStatuses } from "../domain/order-status";

export const uuidSchema = z
  .uuid()
  .transform((id) => id.toLowerCase())
  .openapi({ example: "be578685-7963-4876-8809-58b38342468f" });

/** An order's description: at most this many characters (UTF-16 code units, as a browser's `maxlength` counts)… */
export const maxDescriptionLength = 1_000;
/**
 * …and at most this many bytes in UTF-8, which is what messages and rows carry (emoji and many
 * scripts take 3 or 4 bytes a character). At this size twenty changes of an order fit in one
 * live-update message, and one change always does (see `maxChangesPerMessage`).
 */
export const maxDescriptionBytes = 2_000;

export const createOrderBody = z
  .strictObject({
    userId: uuidSchema,
    amount: amountSchema,
    description: z
      .string()
      .trim()
      .min(1)
      .max(maxDescriptionLength)
      // PostgreSQL text cannot hold NUL, and an unpaired surrogate would be stored as U+FFFD.
      .refine((text) => !text.includes("\u0000") && text.isWellFormed(), "must be text without NUL characters or unpaired surrogates")
      .refine(
        (text) => Buffer.byteLength(text) <= maxDescriptionBytes,
        `must be at most ${maxDescriptionBytes} bytes in UTF-8 (emoji and many scripts take 3 or 4 bytes a character)`,
      )
      .openapi({ example: "A book", description: `1 to ${maxDescriptionLength} characters, at most ${maxDescriptionBytes} bytes in UTF-8` }),
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
