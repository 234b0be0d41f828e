import { z } from "@hono/zod-openapi";

/** Largest amount accepted in one request, in major units. */
export const maxAmount = 1_000_000_000_000;

/**
 * Money in the API is a JSON number > 0 with at most two fraction digits; inside it is an integer
 * count of minor units (cents), stored as BIGINT and never computed in floating point.
 */
export function toMinorUnits(amount: number): number | undefined {
  if (!Number.isFinite(amount) || amount <= 0 || amount > maxAmount) return undefined;
  const minor = Math.round(amount * 100);
  // Exactly representable with two decimals: 10.25 passes, 10.255 and 1e-7 do not.
  return minor / 100 === amount ? minor : undefined;
}

/** Minor units back to the API's number (exact for every integer below 2^53). */
export const toMajorUnits = (minor: number): number => minor / 100;

/** zod schema of an API amount; parses to minor units. */
export const amountSchema = z
  .number()
  .refine((amount) => toMinorUnits(amount) !== undefined, {
    message: `must be a number > 0 and ≤ ${maxAmount} with at most 2 fraction digits`,
  })
  .transform((amount) => toMinorUnits(amount)!)
  .openapi({ type: "number", example: 100.5, exclusiveMinimum: 0, maximum: maxAmount, multipleOf: 0.01 });
