import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import { HttpProblem } from "./problem";
import type { IdempotencyTables } from "./idempotency.tables";
import type { ModuleDb } from "../db";

export const idempotencyKeyHeader = "idempotency-key";

export interface StoredResponse<Body> {
  status: number;
  body: Body;
  /** True when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/** Reads and checks the Idempotency-Key header; undefined when the request has none. */
export function readIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw new HttpProblem(400, "Idempotency-Key must be 1 to 255 visible ASCII characters");
  }
  return value;
}

/**
 * Runs `effect` at most once per (scope, key), inside the caller's transaction: the key row, the
 * effect and its stored response commit together. The insert is the check: a concurrent request
 * with the same key waits on the key until the first commits, then gets the stored response
 * (or, if the first rolled back, runs the effect itself). The same key with another body is 422.
 */
export async function once<Body>(
  trx: ModuleDb,
  request: { scope: string; key: string | undefined; body: unknown },
  effect: () => Promise<{ status: number; body: Body }>,
): Promise<StoredResponse<Body>> {
  if (request.key === undefined) return { ...(await effect()), replayed: false };
  const db = trx as Kysely<IdempotencyTables>;
  const hash = createHash("sha256").update(JSON.stringify(request.body)).digest("hex");
  const claimed = await db
    .insertInto("idempotency_keys")
    .values({ scope: request.scope, key: request.key, request_hash: hash, status: 0, response: "" })
    .onConflict((conflict) => conflict.columns(["scope", "key"]).doNothing())
    .returning("key")
    .executeTakeFirst();
  if (claimed) {
    const result = await effect();
    await db
      .updateTable("idempotency_keys")
      .set({ status: result.status, response: JSON.stringify(result.body) })
      .where("scope", "=", request.scope)
      .where("key", "=", request.key)
      .execute();
    return { ...result, replayed: false };
  }
  const stored = await db
    .selectFrom("idempotency_keys")
    .select(["request_hash", "status", "response"])
    .where("scope", "=", request.scope)
    .where("key", "=", request.key)
    .executeTakeFirstOrThrow();
  if (stored.request_hash !== hash) {
    throw new HttpProblem(422, "this Idempotency-Key was already used with a different request body");
  }
  return { status: stored.status, body: JSON.parse(stored.response) as Body, replayed: true };
}
