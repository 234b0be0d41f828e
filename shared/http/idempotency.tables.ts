import type { ColumnType } from "kysely";
import { sql } from "kysely";
import type { RetentionRule } from "../db/retention-job";
import type { ModuleDb } from "../db";

/** A request made with an Idempotency-Key and the response it got. */
export interface IdempotencyKeysTable {
  /** What the key is unique within, e.g. "deposit:<userId>". */
  scope: string;
  key: string;
  /** SHA-256 of the request body: the same key with another body is refused (422). */
  request_hash: string;
  status: number;
  response: string;
  created_at: ColumnType<Date, never, never>;
}

export interface IdempotencyTables {
  idempotency_keys: IdempotencyKeysTable;
}

/** Creates the idempotency table in a module's schema (called from the module's migration). */
export async function createIdempotencyTable(db: ModuleDb): Promise<void> {
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("scope", "text", (column) => column.notNull())
    .addColumn("key", "text", (column) => column.notNull())
    .addColumn("request_hash", "text", (column) => column.notNull())
    .addColumn("status", "integer", (column) => column.notNull())
    .addColumn("response", "text", (column) => column.notNull())
    .addColumn("created_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["scope", "key"])
    .execute();
}

/** Retention needs the keys by age: an index on created_at (migration 004 of each module). */
export async function indexIdempotencyKeysByAge(db: ModuleDb): Promise<void> {
  await db.schema.createIndex("idempotency_keys_created_at").on("idempotency_keys").column("created_at").execute();
}

/** Keys go after `retentionMs`: the same key sent later is a new request (as Stripe does with its 24 h keys). */
export const idempotencyKeysRetention = (retentionMs: number): RetentionRule => ({
  table: "idempotency_keys",
  primaryKey: ["scope", "key"],
  ageColumn: "created_at",
  retentionMs,
});
