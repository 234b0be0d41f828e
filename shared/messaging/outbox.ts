import { sql, type RawBuilder } from "kysely";
import type { Bus, OutgoingMessage } from "../bus/bus";
import type { Envelope } from "../contracts/envelope";
import { insertOutboxRowsFromJson } from "./outbox-insert";
import type { CommittedPublisher } from "./publish-committed";
import type { ModuleDb } from "../db";

export interface OutboxMessage {
  topic: string;
  envelope: Envelope;
  /** The trace context of the change, published as the message's headers; none when tracing is off. */
  headers?: Record<string, string>;
}

/** The NOTIFY channel that wakes a module's relay. */
export const outboxChannel = (schema: string) => `${schema}_outbox`;

/**
 * How an outbox row reaches the bus, stored with it (the `delivery` column):
 * - `relay`: the module's relay publishes it, in id order with the other relayed rows, so per-key
 *   order holds (order-created must go this way; orders' outbox refuses it otherwise);
 * - `at-commit`: the writer publishes it right after its commit (`OutboxWriter.atCommit`, whose
 *   handle is the only way to do so); the relay leaves it alone for a grace period, then publishes
 *   whatever the writer missed. Only for rows whose order against other rows of their key does not
 *   matter (each concerns its own order): two writers may publish in either order.
 */
export type OutboxDelivery = "relay" | "at-commit";

/** An outbox row as written: what the relay, or the writer itself, publishes. */
export interface QueuedMessage {
  id: number;
  topic: string;
  key: string;
  value: string;
  /** Its trace context, stored with it (null or absent when tracing was off). */
  headers?: Record<string, string> | null;
  delivery: OutboxDelivery;
}

/**
 * Adds messages for the relay to the outbox inside the caller's transaction, so they exist if and
 * only if the state change commits, and wakes the relay: NOTIFY is delivered only on commit.
 */
export async function enqueueForRelay(trx: ModuleDb, schema: string, messages: OutboxMessage[]): Promise<void> {
  await insertMessages(trx, schema, messages, "relay");
}

/** Inserts the rows in one round trip (a data-modifying CTE, beside the NOTIFY for relayed rows); returns them in order. */
async function insertMessages(trx: ModuleDb, schema: string, messages: OutboxMessage[], delivery: OutboxDelivery): Promise<QueuedMessage[]> {
  if (messages.length === 0) return [];
  const values = outboxValues(messages, delivery);
  const insert = insertOutboxRowsFromJson(schema, sql`${JSON.stringify(values)}`);
  const { rows } =
    delivery === "relay"
      ? await sql<{ id: number }>`with queued as (${insert}) select queued.id from queued cross join (select ${outboxNotify(schema)}) as notified`.execute(trx)
      : await sql<{ id: number }>`with queued as (${insert}) select queued.id from queued`.execute(trx);
  // Identities are handed out in insertion order, which is the messages' order.
  const ids = rows.map((row) => row.id).sort((a, b) => a - b);
  return values.map(({ topic, key, value, headers }, index) => ({ id: ids[index]!, topic, key, value, headers, delivery }));
}

/** The rows a writer wrote for delivery at commit, and the one way to send them (`OutboxWriter`). */
export interface AtCommit {
  /**
   * Publishes the rows; call it once their transaction has committed. Best effort, never throws:
   * what it misses (the bus refused, the process died) the relay publishes after its grace period.
   */
  publish(): Promise<void>;
}

/**
 * A module's writer of rows for delivery at commit: each write returns the handle that publishes
 * them, so the intent travels with the rows (their `delivery` column says it to the relay too).
 */
export class OutboxWriter {
  readonly #publisher: Pick<CommittedPublisher, "publish">;

  constructor(
    readonly schema: string,
    publisher: Pick<CommittedPublisher, "publish">,
  ) {
    this.#publisher = publisher;
  }

  /** Adds messages to the outbox inside the caller's transaction; `publish()` the handle after its commit. No NOTIFY: the relay is the fallback. */
  async atCommit(trx: ModuleDb, messages: OutboxMessage[]): Promise<AtCommit> {
    return this.written(await insertMessages(trx, this.schema, messages, "at-commit"));
  }

  /** The handle for rows a statement of the module wrote itself (its `insertOutboxRows`): those for delivery at commit. */
  written(rows: readonly QueuedMessage[]): AtCommit {
    const atCommit = rows.filter((row) => row.delivery === "at-commit");
    return { publish: () => this.#publisher.publish(atCommit) };
  }
}

/** The outbox columns of a message, its envelope serialized once. */
interface OutboxValues {
  message_id: string;
  topic: string;
  key: string;
  value: string;
  headers?: Record<string, string>;
  delivery: OutboxDelivery;
}

function outboxValues(messages: OutboxMessage[], delivery: OutboxDelivery): OutboxValues[] {
  return messages.map(({ topic, envelope, headers }) => ({ message_id: envelope.id, topic, key: envelope.key, value: JSON.stringify(envelope), headers, delivery }));
}

/** The JSON text `insertOutboxRowsFromJson` reads: each message's outbox columns, its envelope serialized once. */
export function outboxRowsJson(messages: OutboxMessage[], delivery: OutboxDelivery): string {
  return JSON.stringify(outboxValues(messages, delivery));
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
