import { sql, type Kysely } from "kysely";
import type { Bus, OutgoingMessage } from "../bus/bus";
import { arrayLiteral } from "../db/array-literal";
import type { Logger } from "../logger";
import type { QueuedMessage } from "./outbox";

export interface PublishCommittedOptions {
  db: Kysely<any>;
  bus: Bus;
  schema: string;
  logger?: Logger;
}

/**
 * Publishes outbox rows whose transaction has just committed, then marks them published, so they
 * need not wait for a relay round. Best effort, never throws: whatever this misses (the bus
 * refused, the process died before the mark) stays unpublished and the relay publishes it after
 * its grace period (`OutboxRelayOptions.writerPublishedTopics`). A message can so be published
 * twice; consumers de-duplicate on the message id.
 *
 * Only for messages whose order relative to other messages of the same key does not matter
 * (each concerns its own order), since two writers may publish in either order.
 */
export async function publishCommitted(options: PublishCommittedOptions, messages: QueuedMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const { db, bus, schema, logger } = options;
  try {
    const topics = new Map<string, OutgoingMessage[]>();
    for (const { topic, key, value } of messages) {
      const batch = topics.get(topic) ?? [];
      batch.push({ key, value });
      topics.set(topic, batch);
    }
    for (const [topic, batch] of topics) await bus.publish(topic, batch);
    // SKIP LOCKED: a row the relay is publishing right now is the relay's to mark; never wait on it.
    await sql`
      update ${sql.table(`${schema}.outbox`)} set published_at = now()
      where id in (
        select id from ${sql.table(`${schema}.outbox`)}
        where id = any(${arrayLiteral(messages.map((message) => message.id))}::text::bigint[]) and published_at is null
        for update skip locked
      )`.execute(db);
  } catch (error) {
    logger?.warn("outbox rows not published at commit; the relay will", { schema, count: messages.length, error: String(error) });
  }
}
