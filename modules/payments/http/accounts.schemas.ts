import { z } from "@hono/zod-openapi";
import { amountSchema } from "../../../shared/money";

/** User ids are UUIDs, compared in their canonical lower-case text (paths arrive lower-cased). */
export const userIdSchema = z
  .uuid()
  .transform((id) => id.toLowerCase())
  .openapi({ example: "be578685-7963-4876-8809-58b38342468f" });

export const userIdParams = z.object({ userId: userIdSchema.openapi({ param: { name: "userId", in: "path" } }) });

export const createAccountBody = z.strictObject({ userId: userIdSchema }).openapi("CreateAccountRequest");

export const depositBody = z.strictObject({ amount: amountSchema }).openapi("DepositRequest");

export const accountSchema = z
  .object({ userId: z.uuid(), balance: z.number(), createdAt: z.iso.datetime() })
  .openapi("Account");

export const balanceSchema = z.object({ userId: z.uuid(), balance: z.number() }).openapi("Balance");

export const ledgerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ param: { name: "limit", in: "query" }, example: 50 }),
  before: z.coerce.number().int().positive().optional().openapi({
    param: { name: "before", in: "query", description: "Cursor: the nextBefore of the previous page" },
  }),
});

export const ledgerEntrySchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(["deposit", "debit", "refund"]).openapi({ description: "A refund credits back its order's debit" }),
    amount: z.number(),
    orderId: z.uuid().nullable().openapi({ description: "The order of a debit or a refund; null for a deposit" }),
    balanceAfter: z.number(),
    createdAt: z.iso.datetime(),
  })
  .openapi("LedgerEntry");

export const ledgerPageSchema = z
  .object({ items: z.array(ledgerEntrySchema), nextBefore: z.number().int().nullable() })
  .openapi("LedgerPage");

export const idempotencyHeaders = z.object({
  "idempotency-key": z.string().optional().openapi({
    param: { name: "idempotency-key", in: "header", description: "Repeat a request safely: same key and body, same answer, one effect" },
  }),
});
