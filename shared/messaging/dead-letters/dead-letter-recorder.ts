import { sql } from "kysely";
import { deadLetterTopic, DependencyUnavailableError, type Bus, type Subscription } from "../../bus/bus";
import { isDatabaseUnavailable } from "../../db/unavailable";
import { deadLetterOf, type DeadLetterRecord } from "./dead-letter";
import type { SubjectPath } from "./dead-letter-subject";
import type { ModuleDb } from "../../db";

export interface DeadLetterRecorderOptions {
  bus: Bus;
  /** The module's kysely; the rows go to `<schema>.dead_letters`. */
  db: ModuleDb;
  schema: string;
  /** The topic the module consumes: the recorder reads `<topic>.dlq`. */
  topic: string;
  /** The recorder's own consumer group on `<topic>.dlq`. */
  group: string;
  /** Where the topic's messages say what they are about (the row's `subject`); none: null. */
  subject?: SubjectPath;
}

/**
 * Copies every message of `<topic>.dlq` into the module's `dead_letters` table.
 * At-least-once: a batch is acknowledged only once its rows have committed, so a process that dies
 * in between leaves the messages on the dead-letter topic for the next member, and a failure to
 * write them is retried until it passes (never dead-lettered again). Idempotent on the
 * row id (`deadLetterOf`): the same message dead-lettered again updates its row (back to pending,
 * its replay count kept), and a second delivery of the same dead-letter message changes nothing.
 */
export function recordDeadLetters(options: DeadLetterRecorderOptions): Promise<Subscription> {
  const { bus, db, schema, topic, group, subject } = options;
  return bus.subscribeBatch(deadLetterTopic(topic), group, async (batch) => {
    const records = batch.map((delivery) => deadLetterOf(delivery, subject));
    await db
      .transaction()
      .execute(async (trx) => {
        // One statement per row: a batch may hold one message twice, which one upsert cannot.
        for (const record of records) await upsert(trx, schema, record);
      })
      .catch((error: unknown) => {
        // Never the dead letter's fault, and it must not be dead-lettered once more (to a topic no
        // one reads): the bus retries it, with backoff and a warning each time, until it is written.
        const reason = isDatabaseUnavailable(error) ? "the database is unavailable" : `recording failed: ${String(error)}`;
        throw new DependencyUnavailableError(reason, { cause: error });
      });
  });
}

/**
 * Inserts the row, or updates it when this is a new dead-lettering of the same message (another
 * `last_event`): latest error, headers and attempts, state back to pending, replay count kept.
 * The message travels as base64 text, which both drivers pass alike, and is stored as bytes.
 */
async function upsert(trx: ModuleDb, schema: string, record: DeadLetterRecord): Promise<void> {
  const message = Buffer.from(record.value, "utf8").toString("base64");
  const failedAt = record.failedAt.toISOString();
  await sql`
    insert into ${sql.table(`${schema}.dead_letters`)} as d
      (id, topic, key, subject, message, headers, error, attempts, first_failed_at, last_failed_at, last_event)
    values (${record.id}::uuid, ${record.topic}, ${record.key}, ${record.subject}::text, decode(${message}, 'base64'), ${JSON.stringify(record.headers)},
      ${record.error}, ${record.attempts}::int, ${failedAt}::timestamptz, ${failedAt}::timestamptz, ${record.event})
    on conflict (id) do update set
      topic = excluded.topic, key = excluded.key, subject = excluded.subject, message = excluded.message, headers = excluded.headers,
      error = excluded.error, attempts = excluded.attempts,
      first_failed_at = least(d.first_failed_at, excluded.first_failed_at),
      last_failed_at = greatest(d.last_failed_at, excluded.last_failed_at),
      state = 'pending', resolved_at = null, last_event = excluded.last_event
    where d.last_event <> excluded.last_event`.execute(trx);
}
