import type { Kysely, Transaction } from "kysely";
import type { z } from "zod";
import type { Subscription } from "../bus/bus";
import { RetentionJob, type RetentionRule } from "../db/retention-job";
import type { ModulePorts } from "../module";
import { recordDeadLetters } from "./dead-letters/dead-letter-recorder";
import type { DeadLetterStore } from "./dead-letters/dead-letter-store";
import { DeadLetters } from "./dead-letters/dead-letters";
import { deadLetterStates, deadLettersRetention } from "./dead-letters/dead-letters.tables";
import { consumeOnce } from "./inbox";
import { inboxRetention, outboxRetention } from "./messaging.tables";
import type { QueuedMessage } from "./outbox";
import { OutboxRelay, type OutboxRow } from "./outbox-relay";
import { CommittedPublisher } from "./publish-committed";

export interface MessagingEndpointOptions<Schema extends z.ZodType<{ id: string }>> {
  ports: Pick<ModulePorts, "db" | "bus" | "logger" | "metrics" | "retention">;
  /** The module's name (metrics) and PostgreSQL schema (its outbox and inbox). */
  module: string;
  schema: string;
  /** The module's kysely with its schema applied. */
  db: Kysely<any>;
  /** Topics the consumer's batches write and publish themselves at commit; the relay backs them up. */
  publishedAtCommit: string[];
  /** The relay's hook in the transaction that publishes a batch (see OutboxRelayOptions.onPublished). */
  onPublished?(trx: Transaction<any>, rows: OutboxRow[]): Promise<(() => Promise<void>) | void>;
  /**
   * Tables of the module's own to expire besides the outbox, the inbox and the dead letters
   * (e.g. `idempotencyKeysRetention(ports.retention.idempotencyKeyMs)`).
   */
  expireAlso?: RetentionRule[];
  /** The module's one consumer: what it reads, and its effect. */
  consume: {
    topic: string;
    group: string;
    envelope: Schema;
    /**
     * Applies the new messages inside the inbox's transaction and returns the outbox rows it wrote
     * on `publishedAtCommit` topics: they are published as soon as that transaction commits.
     */
    apply(trx: Kysely<any>, messages: z.infer<Schema>[]): Promise<QueuedMessage[]>;
  };
}

/**
 * A module's messaging, wired once: its outbox relay, its inbox consumer, the publisher of what the
 * consumer's batches write, the recorder of the consumer's dead letters (`deadLetters`, for the
 * admin API), the retention job over the module's tables, and their metrics. Stopping goes in the
 * order that loses nothing: the consumer finishes its batch, the publisher marks what it
 * published, then the relay stops.
 */
export class MessagingEndpoint<Schema extends z.ZodType<{ id: string }>> {
  readonly #options: MessagingEndpointOptions<Schema>;
  readonly #publisher: CommittedPublisher;
  readonly #relay: OutboxRelay;
  readonly #retention: RetentionJob;
  /** The dead letters of the consumed topic, in the module's `dead_letters` table. */
  readonly deadLetters: DeadLetterStore;
  #consumer: Subscription | undefined;
  #deadLetterRecorder: Subscription | undefined;

  constructor(options: MessagingEndpointOptions<Schema>) {
    this.#options = options;
    const { ports, schema, db } = options;
    const logger = ports.logger;
    this.#publisher = new CommittedPublisher({ db, bus: ports.bus, schema, logger });
    this.#relay = new OutboxRelay({
      database: ports.db,
      db,
      schema,
      bus: ports.bus,
      logger,
      writerPublishedTopics: options.publishedAtCommit,
      ...(options.onPublished ? { onPublished: options.onPublished } : {}),
    });
    ports.metrics.watchOutbox(options.module, () => this.#relay.state());
    const topics = [options.consume.topic];
    this.deadLetters = new DeadLetters({ module: options.module, db, schema, bus: ports.bus, topics });
    ports.metrics.watchDeadLetters(options.module, { topics, states: deadLetterStates, counts: () => this.deadLetters.counts() });
    const { inboxMs, outboxMs, deadLetterMs } = ports.retention;
    this.#retention = new RetentionJob({
      db,
      schema,
      rules: [inboxRetention(inboxMs), outboxRetention(outboxMs), deadLettersRetention(deadLetterMs), ...(options.expireAlso ?? [])],
      logger,
      onDeleted: (table, count) => ports.metrics.rowsDeleted.inc({ module: options.module, table }, count),
    });
  }

  /** Starts the relay, the consumer, the dead-letter recorder, then the retention job. */
  async start(): Promise<void> {
    const { ports, schema, db, consume } = this.#options;
    await this.#relay.start();
    this.#consumer = await consumeOnce({
      bus: ports.bus,
      db,
      inboxSchema: schema,
      topic: consume.topic,
      group: consume.group,
      schema: consume.envelope,
      apply: async (trx, messages) => {
        const written = await consume.apply(trx, messages);
        return () => this.#publisher.publish(written);
      },
      observer: ports.metrics.consumerObserver(consume.topic, consume.group),
    });
    this.#deadLetterRecorder = await recordDeadLetters({ bus: ports.bus, db, schema, topic: consume.topic, group: `${consume.group}.dead-letters` });
    this.#retention.start();
  }

  async stop(): Promise<void> {
    await this.#consumer?.close();
    await this.#deadLetterRecorder?.close();
    await this.#publisher.flush();
    await this.#relay.stop();
    await this.#retention.stop();
  }
}
