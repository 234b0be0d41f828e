import type { ColumnType, Generated } from "kysely";
import { sql } from "kysely";
import type { RetentionRule } from "../db/retention-job";
import type { OutboxDelivery } from "./outbox";
import type { ModuleDb } from "../db";

/** Outbox rows: written in the transaction of the state change, published by the relay. */
export interface OutboxTable {
  id: Generated<number>;
  message_id: string;
  topic: string;
  key: string;
  /** The serialized envelope, published as is. */
  value: string;
  /**
   * The trace context of the change that wrote the row (W3C traceparent, tracestate, baggage),
   * published as the message's headers; null when tracing was off.
   */
  headers: ColumnType<Record<string, string> | null, Record<string, string> | null | undefined, never>;
  /** Who publishes the row: the relay, or its writer at commit with the relay as the fallback (see `OutboxDelivery`). */
  delivery: ColumnType<OutboxDelivery, OutboxDelivery, never>;
  created_at: ColumnType<Date, never, never>;
  published_at: ColumnType<Date | null, never, Date>;
}

/** Inbox rows: one per message applied; the primary key is what makes a consumer idempotent. */
export interface InboxTable {
  message_id: string;
  topic: string;
  received_at: ColumnType<Date, never, never>;
}

export interface MessagingTables {
  outbox: OutboxTable;
  inbox: InboxTable;
}

/**
 * Creates the outbox and inbox of a module in its own schema (`db` has the schema applied with
 * `withSchema`). Called from each module's first migration, so the tables belong to the module.
 */
export async function createMessagingTables(db: ModuleDb): Promise<void> {
  await db.schema
    .createTable("outbox")
    .addColumn("id", "bigint", (column) => column.primaryKey().generatedAlwaysAsIdentity())
    .addColumn("message_id", "uuid", (column) => column.notNull().unique())
    .addColumn("topic", "text", (column) => column.notNull())
    .addColumn("key", "text", (column) => column.notNull())
    .addColumn("value", "text", (column) => column.notNull())
    .addColumn("created_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
    .addColumn("published_at", "timestamptz")
    .execute();
  // The relay's claim reads unpublished rows in id order: keep that scan on a small index.
  await db.schema.createIndex("outbox_unpublished").on("outbox").column("id").where(sql.ref("published_at"), "is", null).execute();
  await db.schema.createIndex("outbox_published_at").on("outbox").column("published_at").where(sql.ref("published_at"), "is not", null).execute();

  await db.schema
    .createTable("inbox")
    .addColumn("message_id", "uuid", (column) => column.primaryKey())
    .addColumn("topic", "text", (column) => column.notNull())
    .addColumn("received_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
    .execute();
}

/**
 * The outbox's `headers` column: the trace context written with the row, in the same statement,
 * and published with it. Nullable without a default, so adding it rewrites nothing.
 */
export async function addOutboxHeaders(db: ModuleDb): Promise<void> {
  await db.schema.alterTable("outbox").addColumn("headers", "jsonb").execute();
}

/**
 * The outbox's `delivery` column (`OutboxDelivery`): the relay reads it to know which rows their
 * writers publish at commit (it leaves those alone for a grace period). Rows already written are
 * the relay's. `relayOnly` are topics whose rows must keep per-key order, and so go through the
 * relay alone: a row of theirs written for delivery at commit is refused by the table.
 */
export async function addOutboxDelivery(db: ModuleDb, relayOnly: readonly string[] = []): Promise<void> {
  await db.schema
    .alterTable("outbox")
    .addColumn("delivery", "text", (column) => column.notNull().defaultTo("relay").check(sql`delivery in ('relay', 'at-commit')`))
    .execute();
  if (relayOnly.length === 0) return;
  const topics = sql.join(relayOnly.map((topic) => sql.lit(topic)));
  await db.schema.alterTable("outbox").addCheckConstraint("outbox_relay_only_topics", sql`delivery = 'relay' or topic not in (${topics})`).execute();
}

/** Retention needs the inbox's rows by age: an index on received_at (migration 004 of each module). */
export async function indexInboxByAge(db: ModuleDb): Promise<void> {
  await db.schema.createIndex("inbox_received_at").on("inbox").column("received_at").execute();
}

/**
 * Inbox rows go after `retentionMs`. Safe because a message redelivered after that is applied
 * again only as far as the effects allow it: each module's effects refuse a second time on their
 * own (see the README, "Retention").
 */
export const inboxRetention = (retentionMs: number): RetentionRule => ({
  table: "inbox",
  primaryKey: ["message_id"],
  ageColumn: "received_at",
  retentionMs,
});

/** Published outbox rows go after `retentionMs`; an unpublished row (published_at null) never. */
export const outboxRetention = (retentionMs: number): RetentionRule => ({
  table: "outbox",
  primaryKey: ["id"],
  ageColumn: "published_at",
  retentionMs,
});
