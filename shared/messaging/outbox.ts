import { sql, type Kysely } from "kysely";
import type { Envelope } from "../contracts/envelope";
import type { MessagingTables } from "./messaging.tables";

export interface OutboxMessage {
  topic: string;
  envelope: Envelope;
}

/** The NOTIFY channel that wakes a module's relay. */
export const outboxChannel = (schema: string) => `${schema}_outbox`;

/**
 * Adds messages to the outbox inside the caller's transaction, so they exist if and only if the
 * state change commits, and wakes the relay: NOTIFY is delivered only on commit.
 */
export async function enqueue(trx: Kysely<any>, schema: string, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  // One round trip: the insert runs as a data-modifying CTE beside the NOTIFY.
  await (trx as Kysely<MessagingTables>)
    .with("queued", (db) =>
      db
        .insertInto("outbox")
        .values(
          messages.map(({ topic, envelope }) => ({
            message_id: envelope.id,
            topic,
            key: envelope.key,
            value: JSON.stringify(envelope),
          })),
        )
        .returning("id"),
    )
    .selectNoFrom(sql`pg_notify(${outboxChannel(schema)}, '')`.as("notified"))
    .execute();
}
