import {
  type Abortable,
  type BatchHandler,
  type Bus,
  type BusFeatures,
  type Delivery,
  type MessageHandler,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
} from "../bus";
import { deliveryContext } from "../delivery-context";
import { deliverAcrossPartitions, defaultRetryPolicy, describeMessage, type BusObserver, type RetryPolicy } from "../delivery";
import type { BusLogger } from "../logger";
import { MemoryBroker, type GroupMember } from "./memory-broker";

export interface MemoryBusOptions {
  /** Share one broker between bus instances to stand up several members in one process. */
  broker?: MemoryBroker;
  retryPolicy?: RetryPolicy;
  logger?: BusLogger;
  observer?: BusObserver;
}

/**
 * The zero-setup bus for a single process (`MODE=mono`, the default): same semantics as the
 * Redis and Kafka adapters — partitions, groups, retries, dead letters, broadcast — but nothing
 * survives the process, so it is never used between processes.
 */
export class MemoryBus implements Bus, Abortable {
  readonly features: BusFeatures = { persistent: false, consumerGroups: true, orderedPerKey: true, broadcast: true };
  readonly #broker: MemoryBroker;
  readonly #policy: RetryPolicy;
  readonly #logger: BusLogger | undefined;
  readonly #observer: BusObserver | undefined;
  /** Aborted by abort(): this member is dead and nothing it does counts any more. */
  readonly #dead = new AbortController();
  /** Each subscription's leave (stop taking messages) and drain (await what is in flight). */
  readonly #subscriptions = new Set<{ leave(): void; drain(): Promise<unknown> }>();
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#broker = options.broker ?? new MemoryBroker();
    this.#policy = options.retryPolicy ?? defaultRetryPolicy;
    this.#logger = options.logger;
    this.#observer = options.observer;
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.#closed) throw new Error("bus is closed");
    this.#broker.publish(topic, messages);
  }

  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#join(topic, group, ([message]) => handler(message!), false, options);
  }

  subscribeBatch(topic: string, group: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#join(topic, group, handler, true, options);
  }

  async #join(topic: string, group: string, handler: BatchHandler, batched: boolean, options?: SubscribeOptions) {
    if (this.#closed) throw new Error("bus is closed");
    const stop = new AbortController();
    this.#dead.signal.addEventListener("abort", () => stop.abort(), { once: true });
    const inFlight = new Set<Promise<Delivery[]>>();
    const context = deliveryContext({
      group,
      policy: this.#policy,
      signal: stop.signal,
      observer: this.#observer,
      logger: this.#logger,
      publish: async (deadLetters, message) => this.#broker.publish(deadLetters, [message]),
    });
    const member: GroupMember = {
      signal: this.#dead.signal,
      // A per-message subscription is also fetched in batches: its handler gets them one by one.
      maxBatchSize: options?.maxBatchSize ?? 100,
      run: (batch) => {
        const work = deliverAcrossPartitions(batch, handler, context, batched);
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work)).catch(() => {});
        return work;
      },
    };
    this.#broker.join(topic, group, member);
    return this.#track({
      leave: () => {
        this.#broker.leave(topic, group, member);
        stop.abort(); // ends retry backoff early; what is not done is handed to another member
      },
      drain: () => Promise.allSettled(inFlight),
    });
  }

  async subscribeBroadcast(topic: string, handler: MessageHandler): Promise<Subscription> {
    if (this.#closed) throw new Error("bus is closed");
    let chain = Promise.resolve();
    // Handled one after another in publish order, each error reported and skipped.
    const unlisten = this.#broker.listen(topic, (message) => {
      chain = chain.then(() =>
        this.#dead.signal.aborted
          ? undefined
          : handler(message).catch((error) => this.#logger?.error("broadcast handler failed", { ...describeMessage(message), error: String(error) })),
      );
    });
    return this.#track({ leave: unlisten, drain: () => chain });
  }

  #track(entry: { leave(): void; drain(): Promise<unknown> }): Subscription {
    this.#subscriptions.add(entry);
    return {
      close: async () => {
        entry.leave();
        this.#subscriptions.delete(entry);
        await entry.drain();
      },
    };
  }

  async ping(): Promise<boolean> {
    return !this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#subscriptions];
    this.#subscriptions.clear();
    for (const entry of entries) entry.leave();
    await Promise.all(entries.map((entry) => entry.drain()));
  }

  /** Dies at once: leaves every group without waiting for handlers, whose results are dropped. */
  async abort(): Promise<void> {
    this.#closed = true;
    this.#dead.abort();
    for (const entry of this.#subscriptions) entry.leave();
    this.#subscriptions.clear();
  }
}
