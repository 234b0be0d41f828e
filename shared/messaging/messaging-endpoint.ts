import type { Kysely } from "kysely";
import type { z } from "zod";
import type { Subscription } from "../bus/bus";
import { RetentionJob, type RetentionRule } from "../db/retention-job";
import type { ModulePorts } from "../module";
import { recordDeadLetters } from "./dead-letters/dead-letter-recorder";
import type { DeadLetterStore } from "./dead-letters/dead-letter-store";
import type { SubjectPath } from "./dead-letters/dead-letter-subject";
import { DeadLetters } from "./dead-letters/dead-letters";
import { deadLetterStates, deadLettersRetention } from "./dead-letters/dead-letters.tables";
import { consumeInOneStatement, consumeOnce, type BatchEffects } from "./inbox";
import { inboxRetention, outboxRetention } from "./messaging.tables";
import type { QueuedMessage } from "./outbox";
import { OutboxRelay, type ClaimEffects } from "./outbox-relay";
import { CommittedPublisher } from "./publish-committed";
import type { TraceOf } from "../tracing/trace-headers";

/**
 * One inbox consumer of a module: what it reads, and its effect, in one of two forms. Declare it
 * with `inboxConsumer` so that the effect sees its envelope's type.
 */
export type EndpointConsumer<Schema extends z.ZodType<{ id: string }> = any> = {
  topic: string;
  group: string;
  envelope: Schema;
  /**
   * Where the topic's messages say what they are about: the dead letters of the topic are listed
   * with it and can be looked up by it. Without it their subject is null.
   */
  subject?: SubjectPath;
} & (
  | {
      /**
       * Applies the new messages inside the inbox's transaction and returns the outbox rows it
       * wrote on `publishedAtCommit` topics: they are published as soon as that transaction commits.
       * With tracing on, `traceOf` gives each message's trace headers, for the rows it causes.
       */
      apply(trx: Kysely<any>, messages: z.infer<Schema>[], traceOf?: TraceOf<z.infer<Schema>>): Promise<QueuedMessage[]>;
    }
  | {
      /**
       * The batch's effects in one statement (`consumerStatement` in ./inbox): one round trip per
       * batch, for the hot paths. The outbox rows of its CTE `queued` are published as soon as it
       * commits. With tracing on, its `batch` gets each message's trace headers, for the
       * `headers` column of the rows it causes.
       */
      effects: BatchEffects<z.infer<Schema>>;
    }
);

/** What a writer in the module's process needs of its relay (see `MessagingEndpoint.relay`). */
export interface LocalRelay {
  /** True while this process's relay is the one publishing. */
  readonly active: boolean;
  /** Starts a round now (or as soon as the coalescing window allows). */
  wake(): void;
}

/** Declares a consumer of the endpoint (typing only). */
export function inboxConsumer<Schema extends z.ZodType<{ id: string }>>(consumer: EndpointConsumer<Schema>): EndpointConsumer<Schema> {
  return consumer;
}

export interface MessagingEndpointOptions {
  ports: Pick<ModulePorts, "db" | "bus" | "logger" | "metrics" | "retention" | "tracing">;
  /** The module's name (metrics) and PostgreSQL schema (its outbox and inbox). */
  module: string;
  schema: string;
  /** The module's kysely with its schema applied. */
  db: Kysely<any>;
  /** Topics the consumers' batches (or `publish`'s callers) publish themselves at commit; the relay backs them up. */
  publishedAtCommit: string[];
  /** What the relay's claim statement does besides claiming (see ClaimEffects). */
  claimEffects?: ClaimEffects;
  /**
   * Tables of the module's own to expire besides the outbox, the inbox and the dead letters
   * (e.g. `idempotencyKeysRetention(ports.retention.idempotencyKeyMs)`).
   */
  expireAlso?: RetentionRule[];
  /** The module's consumers, one subscription each (each topic with its own inbox transactions). */
  consume: readonly EndpointConsumer[];
}

/**
 * A module's messaging, wired once: its outbox relay, its inbox consumers, the publisher of what
 * the consumers' batches write, the recorder of the consumed topics' dead letters (`deadLetters`,
 * for the admin API), the retention job over the module's tables, and their metrics. Stopping goes
 * in the order that loses nothing: the consumers finish their batches, the publisher marks what it
 * published, then the relay stops.
 */
export class MessagingEndpoint {
  readonly #options: MessagingEndpointOptions;
  readonly #publisher: CommittedPublisher;
  readonly #relay: OutboxRelay;
  readonly #retention: RetentionJob;
  /** The dead letters of the consumed topics, in the module's `dead_letters` table. */
  readonly deadLetters: DeadLetterStore;
  readonly #consumers: Subscription[] = [];

  constructor(options: MessagingEndpointOptions) {
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
      ...(options.claimEffects ? { claimEffects: options.claimEffects } : {}),
    });
    ports.metrics.watchOutbox(options.module, () => this.#relay.state());
    const topics = options.consume.map((consume) => consume.topic);
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

  /** Starts the relay, the consumers and their dead-letter recorders, then the retention job. */
  async start(): Promise<void> {
    const { ports, schema, db } = this.#options;
    await this.#relay.start();
    for (const consume of this.#options.consume) {
      const common = {
        bus: ports.bus,
        db,
        inboxSchema: schema,
        topic: consume.topic,
        group: consume.group,
        schema: consume.envelope,
        observer: ports.metrics.consumerObserver(consume.topic, consume.group),
        // Checked once here: with tracing off the consumers build no trace headers at all.
        traced: ports.tracing?.enabled === true,
        logger: ports.logger,
      };
      this.#consumers.push(
        "effects" in consume
          ? await consumeInOneStatement({ ...common, effects: consume.effects, afterCommit: (queued) => this.#publisher.publish(queued) })
          : await consumeOnce({
              ...common,
              apply: async (trx, messages, traceOf) => {
                const written = await consume.apply(trx, messages, traceOf);
                return () => this.#publisher.publish(written);
              },
            }),
      );
    }
    for (const consume of this.#options.consume) {
      const recorder = { bus: ports.bus, db, schema, topic: consume.topic, group: `${consume.group}.dead-letters`, subject: consume.subject };
      this.#consumers.push(await recordDeadLetters(recorder));
    }
    this.#retention.start();
  }

  /**
   * The relay of this process, for writers of relayed rows that commit on their own: while it is
   * the active one, they skip NOTIFY and wake it after their commit (no round trip through the
   * database); otherwise they NOTIFY whichever instance is active.
   */
  get relay(): LocalRelay {
    return this.#relay;
  }

  /**
   * Publishes outbox rows on `publishedAtCommit` topics that another transaction of the module
   * (an HTTP route's) has just committed. Best effort, never throws: the relay publishes what this
   * misses once the grace period has passed.
   */
  publish(written: QueuedMessage[]): Promise<void> {
    return this.#publisher.publish(written);
  }

  async stop(): Promise<void> {
    for (const consumer of this.#consumers.splice(0)) await consumer.close();
    await this.#publisher.flush();
    await this.#relay.stop();
    await this.#retention.stop();
  }
}
