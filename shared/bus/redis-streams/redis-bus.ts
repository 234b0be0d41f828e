import Redis from "ioredis";
import { randomUUID } from "node:crypto";
import {
  type Abortable,
  type BatchHandler,
  type Bus,
  type BusFeatures,
  type MessageHandler,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
} from "../bus";
import { deliveryContext } from "../delivery-context";
import { defaultFetchIntervalMs, defaultRetryPolicy, partitionOf, type BusObserver, type DeliveryContext, type RetryPolicy } from "../delivery";
import type { BusLogger } from "../logger";
import { BroadcastReader } from "./broadcast-reader";
import { GroupConsumer } from "./group-consumer";
import { entryFields, StreamKeys } from "./stream-entries";

export interface RedisBusOptions {
  /** `redis://` or `rediss://` (TLS) URL; a password in the URL is used and never logged. */
  url: string;
  /** Prefix of every key, so several systems or test runs can share one Redis. */
  prefix?: string;
  /** Partition streams per topic. Every process of a system must agree on it. Default 8. */
  partitions?: number;
  /** How long a partition lease lasts without renewal; a dead member's partitions move after it. */
  leaseMs?: number;
  /** Longest a blocking read waits, which bounds how long close() takes. */
  blockMs?: number;
  /** Shortest time between two reads of one consumer (a coalescing window; `defaultFetchIntervalMs`). */
  fetchIntervalMs?: number;
  retryPolicy?: RetryPolicy;
  logger?: BusLogger;
  observer?: BusObserver;
}

/**
 * The bus over Redis Streams (docs/architecture.md#bus): a topic is N partition streams, each read
 * for a group by one lease-holding member at a time, with XREADGROUP/XACK for at-least-once
 * delivery and XAUTOCLAIM to take over a dead member's pending entries.
 */
export class RedisBus implements Bus, Abortable {
  readonly features: BusFeatures = { persistent: true, consumerGroups: true, orderedPerKey: true, broadcast: true };
  readonly #commands: Redis;
  readonly #keys: StreamKeys;
  readonly #memberId = randomUUID();
  readonly #options: Required<Omit<RedisBusOptions, "logger" | "prefix" | "observer">> & Pick<RedisBusOptions, "logger" | "observer">;
  readonly #consumers = new Set<GroupConsumer>();
  readonly #broadcasts = new Set<BroadcastReader>();
  #closed = false;

  constructor(options: RedisBusOptions) {
    this.#options = {
      partitions: 8,
      leaseMs: 10_000,
      blockMs: 1_000,
      fetchIntervalMs: defaultFetchIntervalMs,
      retryPolicy: defaultRetryPolicy,
      ...options,
    };
    this.#keys = new StreamKeys(options.prefix ?? "gozon:", this.#options.partitions);
    // Fail commands fast while Redis is unreachable (the outbox relay retries) instead of
    // queueing them without bound; ioredis keeps reconnecting in the background.
    this.#commands = new Redis(options.url, { maxRetriesPerRequest: 2, connectTimeout: 5_000 });
    this.#commands.on("error", (error) => this.#options.logger?.warn("redis connection error", { error: error.message }));
  }

  /**
   * Resolves once Redis has appended every message: one round trip, and one MULTI/EXEC, so the
   * messages land together and a consumer waiting on the topic is woken once for all of them (its
   * read returns the whole batch, across partitions, not the first message and then the rest).
   */
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.#closed) throw new Error("bus is closed");
    if (messages.length === 0) return;
    const batch = messages.length > 1 ? this.#commands.multi() : this.#commands.pipeline();
    for (const message of messages) {
      const stream = this.#keys.stream(topic, partitionOf(message.key, this.#keys.partitions));
      batch.call("XADD", stream, "*", ...entryFields(message));
    }
    const replies = (await batch.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed || replies.length !== messages.length) throw failed?.[0] ?? new Error("redis did not answer every XADD");
  }

  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#join(topic, group, ([message]) => handler(message!), false, options?.maxBatchSize ?? 100);
  }

  subscribeBatch(topic: string, group: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#join(topic, group, handler, true, options?.maxBatchSize ?? 100);
  }

  async #join(topic: string, group: string, handler: BatchHandler, batched: boolean, maxBatchSize: number) {
    if (this.#closed) throw new Error("bus is closed");
    const consumer = new GroupConsumer({
      commands: this.#commands,
      keys: this.#keys,
      topic,
      group,
      memberId: this.#memberId,
      handler,
      batched,
      maxBatchSize,
      blockMs: this.#options.blockMs,
      fetchIntervalMs: this.#options.fetchIntervalMs,
      leaseMs: this.#options.leaseMs,
      logger: this.#options.logger,
      context: (signal) => this.#context(group, signal),
    });
    await consumer.start();
    this.#consumers.add(consumer);
    return {
      close: async () => {
        this.#consumers.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async subscribeBroadcast(topic: string, handler: MessageHandler): Promise<Subscription> {
    if (this.#closed) throw new Error("bus is closed");
    const connection = this.#commands.duplicate();
    // Its failures reach the reader through its commands; the shared connection logs the errors.
    connection.on("error", () => {});
    const reader = new BroadcastReader(
      connection, this.#commands, topic, this.#keys.streams(topic), handler,
      this.#options.blockMs, this.#options.fetchIntervalMs, this.#options.logger,
    );
    await reader.start();
    this.#broadcasts.add(reader);
    return {
      close: async () => {
        this.#broadcasts.delete(reader);
        await reader.stop();
      },
    };
  }

  async ping(): Promise<boolean> {
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref());
    return Promise.race([this.#commands.ping().then((reply) => reply === "PONG", () => false), timeout]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((consumer) => consumer.stop()));
    await Promise.all([...this.#broadcasts].map((reader) => reader.stop()));
    this.#consumers.clear();
    this.#broadcasts.clear();
    await this.#commands.quit().catch(() => this.#commands.disconnect());
  }

  async abort(): Promise<void> {
    this.#closed = true;
    for (const consumer of this.#consumers) consumer.abort();
    for (const reader of this.#broadcasts) reader.abort();
    this.#consumers.clear();
    this.#broadcasts.clear();
    this.#commands.disconnect();
  }

  #context(group: string, signal: AbortSignal): DeliveryContext {
    return deliveryContext({
      group,
      policy: this.#options.retryPolicy,
      signal,
      observer: this.#options.observer,
      logger: this.#options.logger,
      publish: (deadLetters, message) => this.publish(deadLetters, [message]),
    });
  }
}
