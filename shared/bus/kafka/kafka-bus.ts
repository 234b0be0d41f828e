import { randomUUID } from "node:crypto";
import { Kafka, type Consumer, type ConsumerRunConfig, type EachBatchPayload, type SASLOptions } from "kafkajs";
import type { ICustomPartitioner, IHeaders, KafkaMessage, Producer } from "kafkajs";
import { deadLetterTopic, type Abortable, type BatchHandler, type Bus, type BusFeatures, type Delivery } from "../bus";
import type { MessageHandler, OutgoingMessage, SubscribeOptions, Subscription } from "../bus";
import { deliveryContext } from "../delivery-context";
import { deliverAcrossPartitions, defaultRetryPolicy, describeMessage, partitionOf, sleep } from "../delivery";
import type { BusObserver, DeliveryContext, RetryPolicy } from "../delivery";
import type { BusLogger } from "../logger";
import { kafkajsLogLevel, kafkaLogCreator } from "./kafka-log";
import { KafkaTopics } from "./kafka-topics";
import "./kafkajs-request-queue"; // no negative timeout, no 1 ms polling per connection (see there)

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** TLS to the brokers, verified against the system's CAs. */
  ssl: boolean;
  /** SASL credentials for a managed Kafka; never logged. */
  sasl?: { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string };
  /** Partitions of each topic this bus creates. Default 8, as on Redis. */
  partitions?: number;
  retryPolicy?: RetryPolicy;
  logger?: BusLogger;
  observer?: BusObserver;
}

const PING_TIMEOUT_MS = 2_000;
const CONSUMER = {
  sessionTimeout: 10_000, // a crashed member's partitions move to another member after this
  heartbeatInterval: 3_000,
  maxWaitTimeInMs: 1_000, // a fetch long-polls at most this long, which bounds how long stop() waits
  allowAutoTopicCreation: false,
};

interface Member {
  consumer: Consumer;
  /** Aborted when the member stops: retry backoff ends and no further try starts. */
  stopping: AbortController;
  afterStop?: () => Promise<void>;
  stopped?: Promise<void>;
}

/**
 * The bus over Kafka (docs/architecture.md#bus), thin on purpose: kafkajs consumer groups give
 * partition ownership, rebalancing and committed offsets; retries and dead letters are the shared
 * mechanics of delivery.ts, so it behaves as the Redis and memory adapters do.
 */
export class KafkaBus implements Bus, Abortable {
  readonly features: BusFeatures = { persistent: true, consumerGroups: true, orderedPerKey: true, broadcast: true };
  readonly #kafka: Kafka;
  readonly #producer: Producer;
  readonly #topics: KafkaTopics;
  readonly #partitions: number;
  readonly #policy: RetryPolicy;
  readonly #observer: BusObserver | undefined;
  readonly #logger: BusLogger;
  /** Aborted by abort(): the member is dead and acknowledges nothing more. */
  readonly #killed = new AbortController();
  readonly #members = new Set<Member>();
  #producerConnecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: KafkaBusOptions) {
    this.#partitions = options.partitions ?? 8;
    this.#policy = options.retryPolicy ?? defaultRetryPolicy;
    this.#observer = options.observer;
    this.#logger = options.logger ?? console;
    this.#kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl as SASLOptions | undefined, // TypeScript does not spread the mechanism union
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      // Transient broker errors (leader moves, restarts) are retried for ~10 s before an operation fails.
      retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 5 },
      logLevel: kafkajsLogLevel,
      logCreator: kafkaLogCreator(this.#logger),
    });
    // Not kafkajs's idempotent mode: it rolls a failed batch's sequence numbers back and, once its
    // retries give up, reuses them for the next batch, which the broker may then drop as a
    // duplicate of a batch it did write. One request in flight keeps per-key order without it;
    // a retried batch may be written twice, which the consumers' inboxes absorb.
    this.#producer = this.#kafka.producer({
      createPartitioner: keyPartitioner,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    this.#topics = new KafkaTopics(this.#kafka.admin(), this.#partitions);
  }

  /** Resolves once every in-sync replica has the messages (acks = all); rejects after the client's retries. */
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    await this.#topics.ensure([topic]);
    await this.#send(topic, messages);
  }

  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#join(topic, group, ([message]) => handler(message!), false, options?.maxBatchSize ?? 100);
  }

  subscribeBatch(topic: string, group: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#join(topic, group, handler, true, options?.maxBatchSize ?? 100);
  }

  async #join(topic: string, group: string, handler: BatchHandler, batched: boolean, maxBatchSize: number) {
    this.#assertOpen();
    await Promise.all([this.#topics.ensure([topic, deadLetterTopic(topic)]), this.#connectProducer()]);
    // A bus group belongs to one topic (as a Redis stream group does), a Kafka group id is
    // cluster-wide: kafkajs's assigner would hand a member partitions of another topic of the same
    // group that it never subscribed to. Hence one Kafka group per (group, topic).
    const member = this.#member(this.#kafka.consumer({ groupId: `${group}.${topic}`, ...CONSUMER }));
    const context = this.#context(group, member.stopping.signal);
    const eachBatch = (payload: EachBatchPayload) =>
      consumeBatch(payload, maxBatchSize, context.signal, (chunk) =>
        // A kafkajs batch is one partition's: what is done is a prefix of it.
        this.#whileAlive(deliverAcrossPartitions(chunk, handler, context, batched).then((done) => done.length), payload.heartbeat),
      );
    await this.#start(member, topic, true, {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#partitions,
      eachBatch,
    });
    return { close: () => this.#stop(member) };
  }

  /**
   * Each subscriber is a consumer group of its own, so it sees every message. It starts at the end
   * of the log as of this call: a new group takes the end as of its first fetch, which comes a
   * moment after run() returns, and would miss a message published in between.
   */
  async subscribeBroadcast(topic: string, handler: MessageHandler): Promise<Subscription> {
    this.#assertOpen();
    await this.#topics.ensure([topic]);
    const ends = await this.#topics.endOffsets(topic);
    const groupId = `${topic}.broadcast.${randomUUID()}`;
    const deleteGroup = () =>
      this.#topics.deleteGroup(groupId).catch((error) => {
        this.#logger.warn("could not delete a broadcast consumer group", { groupId, error: String(error) });
      });
    const member = this.#member(this.#kafka.consumer({ groupId, ...CONSUMER }), deleteGroup);
    const eachMessage: ConsumerRunConfig["eachMessage"] = async ({ partition, message, heartbeat }) => {
      const delivery = toDelivery(topic, partition, message);
      const report = (error: unknown) => this.#logger.error("broadcast handler failed", { ...describeMessage(delivery), error: String(error) });
      await this.#whileAlive(handler(delivery).catch(report), heartbeat);
    };
    await this.#start(member, topic, false, { partitionsConsumedConcurrently: this.#partitions, eachMessage }, (consumer) => {
      for (const { partition, offset } of ends) consumer.seek({ topic, partition, offset });
    });
    return { close: () => this.#stop(member) };
  }

  /** True when the cluster answers a metadata request within 2 s; never throws. */
  async ping(): Promise<boolean> {
    if (this.#closing) return false;
    const timeout = new AbortController();
    const answered = this.#topics.probe().then(() => true, () => false);
    try {
      return await Promise.race([answered, sleep(PING_TIMEOUT_MS, timeout.signal).then(() => false)]);
    } finally {
      timeout.abort();
    }
  }

  /** Stops every consumer (each finishes and commits its chunk in hand), then disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#members].map((member) => this.#stop(member)));
      await Promise.allSettled([this.#producer.disconnect(), this.#topics.disconnect()]);
    })();
    return this.#closing;
  }

  /** Dies: handlers in flight are abandoned and nothing more is committed; then disconnects. */
  abort(): Promise<void> {
    this.#killed.abort();
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closing) throw new Error("bus is closed");
  }

  #connectProducer(): Promise<void> {
    this.#producerConnecting ??= this.#producer.connect().catch((error: unknown) => {
      this.#producerConnecting = undefined; // the next use tries again
      throw error;
    });
    return this.#producerConnecting;
  }

  async #send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    await this.#connectProducer();
    const records = messages.map(({ key, value, headers }) => ({ key, value, headers }));
    await this.#producer.send({ topic, messages: records, acks: -1, timeout: 10_000 });
  }

  #member(consumer: Consumer, afterStop?: () => Promise<void>): Member {
    const member: Member = { consumer, stopping: new AbortController(), afterStop };
    this.#members.add(member);
    return member;
  }

  async #start(
    member: Member,
    topic: string,
    fromBeginning: boolean,
    run: ConsumerRunConfig,
    joined?: (consumer: Consumer) => void,
  ): Promise<void> {
    const { consumer } = member;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning });
      // run() resolves once the member has joined the group, or after a failed join that kafkajs
      // only logs as a crash (and may retry later): subscribing resolves only on a real join.
      let hasJoined = false;
      const stopListening = consumer.on(consumer.events.GROUP_JOIN, () => (hasJoined = true));
      await consumer.run(run).finally(stopListening);
      if (!hasJoined) throw new Error(`could not join the consumer group for ${topic} (see the kafkajs crash logged)`);
      joined?.(consumer);
      this.#assertOpen(); // closed meanwhile: this member was not among those close() stopped
    } catch (error) {
      await this.#stop(member);
      throw error;
    }
  }

  /** Stops fetching, lets the batch in hand finish (it commits what is done), leaves the group. */
  #stop(member: Member): Promise<void> {
    member.stopped ??= (async () => {
      member.stopping.abort();
      await member.consumer.disconnect().catch((error) => {
        this.#logger.warn("kafka consumer did not stop cleanly", { error: String(error) });
      });
      this.#members.delete(member);
      await member.afterStop?.();
    })();
    return member.stopped;
  }

  /** The work's result, or undefined once the bus is killed (the work is then abandoned). */
  async #whileAlive<T>(work: Promise<T>, heartbeat: () => Promise<void>): Promise<T | undefined> {
    const killed = this.#killed.signal;
    work.catch(() => {}); // an abandoned work's failure must not surface as an unhandled rejection
    if (killed.aborted) return undefined;
    let onKill!: () => void;
    const dead = new Promise<undefined>((resolve) => (onKill = () => resolve(undefined)));
    killed.addEventListener("abort", onKill, { once: true });
    // kafkajs heartbeats only when asked; a long chunk (retry backoff included) must not outlast the session.
    const keepAlive = setInterval(() => void heartbeat().catch(() => {}), CONSUMER.heartbeatInterval);
    try {
      const result = await Promise.race([work, dead]);
      return killed.aborted ? undefined : result;
    } finally {
      clearInterval(keepAlive);
      killed.removeEventListener("abort", onKill);
    }
  }

  #context(group: string, signal: AbortSignal): DeliveryContext {
    return deliveryContext({
      group,
      policy: this.#policy,
      signal,
      observer: this.#observer,
      logger: this.#logger,
      // Acknowledged by the broker (acks=all) before the offset is committed.
      publish: (deadLetters, message) => this.#send(deadLetters, [message]),
    });
  }
}

/**
 * Builds the Kafka bus and starts connecting in the background: a process starts while Kafka is
 * still unreachable (readiness reports it through ping) and connects on first use.
 */
export async function createKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const bus = new KafkaBus(options);
  void bus.ping();
  return bus;
}

/**
 * Runs one fetched batch of a partition through `run` in chunks of `size`, committing each chunk's
 * done prefix before the next chunk starts, so an acknowledgement never runs ahead of a handler.
 * `run` answers how many from the front of a chunk are done, or undefined when the member was
 * killed (nothing more is committed). A chunk not wholly done means the member is stopping: what
 * is not committed is fetched again by the partition's next owner.
 */
export async function consumeBatch(
  payload: EachBatchPayload,
  size: number,
  stopping: AbortSignal,
  run: (chunk: Delivery[]) => Promise<number | undefined>,
): Promise<void> {
  const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
  const { topic, partition } = batch;
  const messages = batch.messages.map((message) => toDelivery(topic, partition, message));
  for (let start = 0; start < messages.length; start += size) {
    if (!isRunning() || isStale() || stopping.aborted) return;
    const chunk = messages.slice(start, start + size);
    const done = await run(chunk);
    if (done === undefined) return;
    if (done > 0) {
      const last = chunk[done - 1]!.position;
      resolveOffset(last); // kafkajs keeps last + 1: the next fetch of this partition starts there
      // With explicit offsets this commits at once. A committed offset is the next one to read.
      const offset = String(BigInt(last) + 1n);
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
    }
    if (done < chunk.length) return;
    await heartbeat(); // throws when the group rebalances, which makes kafkajs rejoin
  }
}

/**
 * Key → partition by partitionOf (FNV-1a) rather than kafkajs's murmur2: the same mapping as the
 * Redis and memory adapters; an explicit partitioner also silences kafkajs v2's partitioner warning.
 */
export const keyPartitioner: ICustomPartitioner = () => ({ partitionMetadata, message }) =>
  partitionOf(message.key?.toString() ?? "", partitionMetadata.length);

export function toDelivery(topic: string, partition: number, message: KafkaMessage): Delivery {
  const key = message.key?.toString() ?? "";
  const value = message.value?.toString() ?? "";
  return { topic, partition, position: message.offset, key, value, headers: toHeaders(message.headers), attempt: 1 };
}

/** Kafka headers are bytes and may repeat; a repeated one keeps its last value (Java's lastHeader). */
export function toHeaders(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) result[name] = last.toString();
  }
  return result;
}
