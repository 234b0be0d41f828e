import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Bus, OutgoingMessage } from "../bus/bus";
import type { Envelope } from "../contracts/envelope";
import { insertOutboxRowsFromJson } from "./outbox-insert";

export interface OutboxMessage {
  topic: string;
  envelope: Envelope;
  /** The trace context of the change (DESIGN §13), published as the message's headers; none when tracing is off. */
  headers?: Record<string, string>;
}

/** The NOTIFY channel that wakes a module's relay. */
export const outboxChannel = (schema: string) => `${schema}_outbox`;

/** An outbox row as written: what the relay, or the writer itself, publishes. */
export interface QueuedMessage {
  id: number;
  topic: string;
  key: string;
  value: string;
  /** Its trace context, stored with it (null or absent when tracing was off). */
  headers?: Record<string, string> | null;
}

export interface EnqueueOptions {
  /**
   * Wake the relay at commit (default). Pass false for messages the writer publishes itself right
   * after the commit (`CommittedPublisher`): the relay then only picks up what that missed.
   */
  notify?: boolean;
}

/**
 * Adds messages to the outbox inside the caller's transaction, so they exist if and only if the
 * state change commits, and wakes the relay: NOTIFY is delivered only on commit. Returns the rows
 * written, in order.
 */
export async function enqueue(trx: Kysely<any>, schema: string, messages: OutboxMessage[], options: EnqueueOptions = {}): Promise<QueuedMessage[]> {
  if (messages.length === 0) return [];
  // One round trip: the insert runs as a data-modifying CTE beside the NOTIFY.
  const notify = options.notify ?? true;
  const values = outboxValues(messages);
  const insert = insertValues(schema, values);
  const { rows } = notify
    ? await sql<{ id: number }>`with queued as (${insert}) select queued.id from queued cross join (select ${outboxNotify(schema)}) as notified`.execute(trx)
    : await sql<{ id: number }>`with queued as (${insert}) select queued.id from queued`.execute(trx);
  // Identities are handed out in insertion order, which is the messages' order.
  const ids = rows.map((row) => row.id).sort((a, b) => a - b);
  return values.map(({ topic, key, value, headers }, index) => ({ id: ids[index]!, topic, key, value, headers }));
}

/** The outbox columns of a message, its envelope serialized once. */
interface OutboxValues {
  message_id: string;
  topic: string;
  key: string;
  value: string;
  headers?: Record<string, string>;
}

function outboxValues(messages: OutboxMessage[]): OutboxValues[] {
  return messages.map(({ topic, envelope, headers }) => ({ message_id: envelope.id, topic, key: envelope.key, value: JSON.stringify(envelope), headers }));
}

/** The JSON text `insertOutboxRowsFromJson` reads: each message's outbox columns, its envelope serialized once. */
export function outboxRowsJson(messages: OutboxMessage[]): string {
  return JSON.stringify(outboxValues(messages));
}

function insertValues(schema: string, rows: OutboxValues[]): RawBuilder<unknown> {
  return insertOutboxRowsFromJson(schema, sql`${JSON.stringify(rows)}`);
}

/** The `pg_notify` that wakes the module's relay once the statement's transaction commits (pair it with an outbox insert). */
export function outboxNotify(schema: string): RawBuilder<unknown> {
  return sql`pg_notify(${outboxChannel(schema)}, '')`;
}

/**
 * Publishes messages to their topics, in the given order within each topic (per-key order holds:
 * a key lives in one topic), one `publish` per topic. Rejects as soon as the bus refuses a topic.
 */
export async function publishByTopic(
  bus: Bus,
  messages: readonly { topic: string; key: string; value: string; headers?: Record<string, string> | null }[],
): Promise<void> {
  const topics = new Map<string, OutgoingMessage[]>();
  for (const { topic, key, value, headers } of messages) {
    const batch = topics.get(topic);
    const message = headers ? { key, value, headers } : { key, value };
    if (batch) batch.push(message);
    else topics.set(topic, [message]);
  }
  for (const [topic, batch] of topics) await bus.publish(topic, batch);
}
