import { z } from "@hono/zod-openapi";
import type { DeadLetterCursor } from "./dead-letter-store";
import { maxSubjectLength } from "./dead-letter-subject";
import { deadLetterStates } from "./dead-letters.tables";

/** The dead-letter admin API's shapes; the topics are those the process's modules consume. */

export const deadLetterIdParams = z.object({
  id: z
    .uuid()
    .transform((id) => id.toLowerCase())
    .openapi({ param: { name: "id", in: "path" }, example: "0b6f5c1e-3f4a-4c55-9d0e-6a7b8c9d0e1f" }),
});

/** `nextBefore`: the last item's last failure (ISO, milliseconds) and id. */
const cursorPattern = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

export const encodeCursor = (cursor: DeadLetterCursor) => `${cursor.lastFailedAt.toISOString()}_${cursor.id}`;

const topicOf = (topics: readonly string[]) =>
  z.enum(topics as [string, ...string[]], { error: `expected one of ${topics.join(", ")}` });

export function listQuery(topics: readonly string[]) {
  return z.strictObject({
    topic: topicOf(topics).optional().openapi({ param: { name: "topic", in: "query", description: "The topic it was consumed from" } }),
    subject: z
      .string()
      .min(1)
      .max(maxSubjectLength)
      .optional()
      .openapi({
        param: { name: "subject", in: "query", description: "Only the dead letters about this: their subject, exactly (e.g. an order id)" },
        example: "0b6f5c1e-3f4a-4c55-9d0e-6a7b8c9d0e1f",
      }),
    state: z.enum(deadLetterStates).optional().openapi({ param: { name: "state", in: "query" } }),
    limit: z
      .string()
      .regex(/^\d{1,3}$/, "expected an integer from 1 to 500")
      .transform(Number)
      .pipe(z.number().int().min(1).max(500))
      .optional()
      .openapi({ param: { name: "limit", in: "query", description: "Items per page, 1 to 500 (default 50)" }, example: "50" }),
    before: z
      .string()
      .regex(cursorPattern, "expected the nextBefore of the previous page")
      .refine((text) => !Number.isNaN(Date.parse(text.slice(0, text.lastIndexOf("_")))), "expected the nextBefore of the previous page")
      .transform((text): DeadLetterCursor => {
        const [, at, id] = cursorPattern.exec(text)!;
        return { lastFailedAt: new Date(at!), id: id!.toLowerCase() };
      })
      .optional()
      .openapi({ param: { name: "before", in: "query", description: "Cursor: the nextBefore of the previous page" } }),
  });
}

export function redriveFilterBody(topics: readonly string[]) {
  return z
    .strictObject({
      topic: topicOf(topics).optional(),
      errorContains: z.string().min(1).max(500).optional().openapi({ description: "Case-insensitive part of the last error" }),
    })
    .openapi("RedriveFilter");
}

export const deadLetterSummarySchema = z
  .object({
    id: z.uuid(),
    module: z.string(),
    topic: z.string(),
    key: z.string(),
    subject: z.string().nullable().openapi({
      description: "What the message is about, as the module that consumes the topic reads it from the message (our events: the order id); null when it cannot be read",
      example: "0b6f5c1e-3f4a-4c55-9d0e-6a7b8c9d0e1f",
    }),
    error: z.string(),
    attempts: z.number().int(),
    firstFailedAt: z.iso.datetime(),
    lastFailedAt: z.iso.datetime(),
    replayCount: z.number().int(),
    state: z.enum(deadLetterStates),
  })
  .openapi("DeadLetterSummary");

export const deadLetterSchema = deadLetterSummarySchema
  .extend({
    message: z.string().openapi({ description: "The message exactly as it was published (our events: the JSON envelope)" }),
    headers: z.record(z.string(), z.string()),
  })
  .openapi("DeadLetter");

export const deadLetterPageSchema = z
  .object({ items: z.array(deadLetterSummarySchema), nextBefore: z.string().nullable() })
  .openapi("DeadLetterPage");

export const redrivenCountSchema = z.object({ redriven: z.number().int() }).openapi("RedrivenCount");
