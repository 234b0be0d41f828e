import { sql, type ColumnType } from "kysely";
import type { RetentionRule } from "../../db/retention-job";
import { subjectOf, type SubjectPath } from "./dead-letter-subject";
import type { ModuleDb } from "../../db";

export const deadLetterStates = ["pending", "redriven", "discarded"] as const;
export type DeadLetterState = (typeof deadLetterStates)[number];

/**
 * A message the bus gave up on, one row per message id, in the schema of the module
 * that consumes its topic. Written by the dead-letter recorder, acted on by the admin API.
 */
export interface DeadLettersTable {
  /** The envelope's id; for a message without a readable one, a stable id from its transport position. */
  id: string;
  /** The topic it was consumed from (not `<topic>.dlq`). */
  topic: string;
  key: string;
  /** What the message is about, read with its topic's `SubjectPath` (the list filters by it); null when unreadable. */
  subject: string | null;
  /** The message exactly as it was published (bytes: a message need not be valid text). */
  message: Buffer;
  /** Its headers as JSON, the bus's dead-letter headers (`x-error`, …) included. */
  headers: string;
  /** The last error, from the bus's `x-error` header. */
  error: string;
  /** Tries the bus made the last time it gave up on it. */
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  /** Times an operator re-drove it; kept when it is dead-lettered again. */
  replay_count: ColumnType<number, never, number>;
  state: ColumnType<DeadLetterState, never, DeadLetterState>;
  /** When it was re-driven or discarded (retention counts from there); null while pending. */
  resolved_at: ColumnType<Date | null, never, Date | null>;
  /**
   * Which dead-lettering the row shows (where the message was and when the bus gave up): a
   * redelivery of that same dead-letter message changes nothing, a new dead-lettering does.
   */
  last_event: string;
}

export interface DeadLetterTables {
  dead_letters: DeadLettersTable;
}

/** Creates `dead_letters` in a module's schema (`db` has it applied); called from the module's migration. */
export async function createDeadLettersTable(db: ModuleDb): Promise<void> {
  await db.schema
    .createTable("dead_letters")
    .addColumn("id", "uuid", (column) => column.primaryKey())
    .addColumn("topic", "text", (column) => column.notNull())
    .addColumn("key", "text", (column) => column.notNull())
    .addColumn("message", "bytea", (column) => column.notNull())
    .addColumn("headers", "text", (column) => column.notNull())
    .addColumn("error", "text", (column) => column.notNull())
    .addColumn("attempts", "integer", (column) => column.notNull())
    .addColumn("first_failed_at", "timestamptz", (column) => column.notNull())
    .addColumn("last_failed_at", "timestamptz", (column) => column.notNull())
    .addColumn("replay_count", "integer", (column) => column.notNull().defaultTo(0))
    .addColumn("state", "text", (column) => column.notNull().defaultTo("pending").check(sql`state in ('pending', 'redriven', 'discarded')`))
    .addColumn("resolved_at", "timestamptz")
    .addColumn("last_event", "text", (column) => column.notNull())
    .addCheckConstraint("dead_letters_resolved_when_not_pending", sql`(state = 'pending') = (resolved_at is null)`)
    .execute();
  // The list: newest first, paged by (last_failed_at, id).
  await db.schema.createIndex("dead_letters_newest").on("dead_letters").columns(["last_failed_at", "id"]).execute();
  // Retention: only re-driven or discarded rows are ever deleted.
  await db.schema
    .createIndex("dead_letters_resolved")
    .on("dead_letters")
    .column("resolved_at")
    .where(sql.ref("resolved_at"), "is not", null)
    .execute();
}

/** Rows the subject backfill reads and writes per statement. */
const backfillPage = 500;

/**
 * Adds `subject` to a module's `dead_letters` (`db` has the schema applied; called from the
 * module's migration) with the index the list filtered by subject reads, newest first, and fills
 * it in for the rows already there from their stored messages, read with `subjects` (by topic) as
 * the recorder reads new ones. Dead letters are an operator's queue, not a log: a few pages.
 */
export async function addDeadLetterSubjects(db: ModuleDb, subjects: Readonly<Record<string, SubjectPath>>): Promise<void> {
  await db.schema.alterTable("dead_letters").addColumn("subject", "text").execute();
  await db.schema
    .createIndex("dead_letters_by_subject")
    .on("dead_letters")
    .columns(["subject", "last_failed_at", "id"])
    .where(sql.ref("subject"), "is not", null)
    .execute();
  for (let after: string | undefined; ; ) {
    let query = db
      .selectFrom("dead_letters")
      .select(["id", "topic", sql<string>`encode(message, 'base64')`.as("message_base64")])
      .orderBy("id")
      .limit(backfillPage);
    if (after !== undefined) query = query.where("id", ">", after);
    const rows = (await query.execute()) as { id: string; topic: string; message_base64: string }[];
    const found: Record<string, string> = {};
    for (const row of rows) {
      const subject = subjectOf(Buffer.from(row.message_base64, "base64").toString("utf8"), subjects[row.topic]);
      if (subject !== null) found[row.id] = subject;
    }
    const ids = Object.keys(found);
    if (ids.length > 0) {
      await db
        .updateTable("dead_letters")
        .set({ subject: sql`${JSON.stringify(found)}::text::json ->> id::text` })
        .where("id", "in", ids)
        .execute();
    }
    if (rows.length < backfillPage) return;
    after = rows.at(-1)!.id;
  }
}

/** Re-driven and discarded dead letters go `retentionMs` after that; a pending one never. */
export const deadLettersRetention = (retentionMs: number): RetentionRule => ({
  table: "dead_letters",
  primaryKey: ["id"],
  ageColumn: "resolved_at",
  retentionMs,
  condition: sql`state <> 'pending'`,
});
