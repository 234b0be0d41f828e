import { randomUUID } from "node:crypto";
import { z } from "zod";

/**
 * The largest serialized envelope a consumer accepts (UTF-8 bytes). Ours stay below it (the
 * biggest field, an order's description, is at most 2 000 bytes; a producer that batches splits
 * by size); anything larger is poison, refused before it is parsed, whatever it holds.
 */
export const maxEnvelopeBytes = 64 * 1024;

/** Every message on the bus is one of these; the inbox de-duplicates on `id`. */
export function envelopeSchema<Type extends string, Payload extends z.ZodType>(type: Type, payload: Payload) {
  return z.object({
    id: z.uuid(),
    type: z.literal(type),
    key: z.string().min(1).max(200),
    occurredAt: z.iso.datetime({ offset: true }),
    version: z.literal(1),
    payload,
  });
}

export interface Envelope<Type extends string = string, Payload = unknown> {
  id: string;
  type: Type;
  key: string;
  occurredAt: string;
  version: 1;
  payload: Payload;
}

/** A new envelope with a fresh message id. */
export function newEnvelope<Type extends string, Payload>(
  type: Type,
  key: string,
  payload: Payload,
  now: Date = new Date(),
): Envelope<Type, Payload> {
  return { id: randomUUID(), type, key, occurredAt: now.toISOString(), version: 1, payload };
}

/** The message id of a serialized envelope, or undefined when it is not one (for logs and traces; best effort). */
export function envelopeIdOf(value: string): string | undefined {
  if (value.length > maxEnvelopeBytes) return undefined;
  try {
    const id = (JSON.parse(value) as { id?: unknown } | null)?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
