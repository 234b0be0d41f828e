import type { z } from "zod";
import type { Subscription } from "../bus/bus";
import { RetentionJob, type RetentionRule } from "../db/retention-job";
import type { ModulePorts } from "../module";
import { recordDeadLetters } from "./dead-letters/dead-letter-recorder";
import type { DeadLetterStore } from "./dead-letters/dead-letter-store";
import type { SubjectPath } from "./dead-letters/dead-letter-subject";
import { DeadLetters } from "./dead-letters/dead-letters";
import { deadLetterStates, deadLettersRetention } from "./dead-letters/dead-letters.tables";
import { consumeInbox, type InboxApply } from "./inbox";
import { inboxRetention, outboxRetention } from "./messaging.tables";
import { OutboxWriter } from "./outbox";
import { OutboxRelay, type ClaimEffects } from "./outbox-relay";
import { CommittedPublisher } from "./publish-committed";
import type { ModuleDb } from "../db";

/**
 * One inbox consumer of a module: what it reads, and its effect, applied in the inbox's
 * transaction or as CTEs of its one statement (`InboxApply`). Declare it with `inboxConsumer` so
 * that the effect sees its envelope's type.
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
} & InboxApply<z.infer<Schema>>;

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
  ports: Pick<ModulePorts, "database" | "bus" | "logger" | "metrics" | "retention" | "tracing">;
  /** The module's name (metrics) and PostgreSQL schema (its outbox and inbox). */
  module: string;
  schema: string;
  /** The module's kysely with its schema applied. */
  db: ModuleDb;
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
 * A module's messaging, wired once: its outbox relay, its inbox consumers, its outbox writer (for
 * the rows published at commit, by the consumers' batches and the module's own transactions), the
 * recorder of the consumed topics' dead letters (`deadLetters`, for the admin API), the retention
 * job over the module's tables, and their metrics. Stopping goes in the order that loses nothing:
 * the consumers finish their batches, the publisher marks what it published, then the relay stops.
 */
export class MessagingEndpoint {
  readonly #options: MessagingEndpointOptions;
  readonly #publisher: CommittedPublisher;
  /** Writes rows for delivery at commit; each write's handle publishes them (the relay backs them up). */
  readonly outbox: OutboxWriter;
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
    this.outbox = new OutboxWriter(schema, this.#publisher);
    this.#relay = new OutboxRelay({
      database: ports.database,
      db,
      schema,
      bus: ports.bus,
      logger,
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
      this.#consumers.push(
        await consumeInbox({
          ...consume,
          bus: ports.bus,
          db,
          inboxSchema: schema,
          outbox: this.outbox,
          envelope: consume.envelope,
          observer: ports.metrics.consumerObserver(consume.topic, consume.group),
          // Checked once here: with tracing off the consumers build no trace headers at all.
          traced: ports.tracing?.enabled === true,
          logger: ports.logger,
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

  async stop(): Promise<void> {
    for (const consumer of this.#consumers.splice(0)) await consumer.close();
    await this.#publisher.flush();
    await this.#relay.stop();
    await this.#retention.stop();
  }
}
