/**
 * The bus port: the only way the Orders and Payments modules talk to each other.
 *
 * Delivery is at-least-once. Consumers must be idempotent (the modules' inboxes are); the bus
 * never promises exactly-once, only that an accepted message is not lost and that messages with
 * the same key reach one consumer group in the order they were published.
 */

/** A message as a producer hands it to the bus. */
export interface OutgoingMessage {
  /** Partition / ordering key (the user id for our events). Same key ⇒ same order for a group. */
  key: string;
  /** The serialized body (our events: a JSON envelope). The bus never parses it. */
  value: string;
  /** Optional metadata, e.g. the reason a message was dead-lettered. */
  headers?: Record<string, string>;
}

/** A message as the bus hands it to a handler. */
export interface Delivery {
  topic: string;
  /** Partition number within the topic (0 for adapters with one partition). */
  partition: number;
  /** Transport position, unique within topic + partition (a stream id or an offset). */
  position: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  /** 1 on the first try in this process, then 2, 3, … while retries last. */
  attempt: number;
}

/** Handles one message; resolving acknowledges it, throwing asks for a retry. */
export type MessageHandler = (message: Delivery) => Promise<void>;

/**
 * Handles a batch of messages, each partition's in order (an adapter may put several partitions
 * in one batch: Redis hands a member everything its partitions have, Kafka and memory one
 * partition at a time). Resolving acknowledges all of them. When it throws, the bus retries the
 * messages one at a time, each partition's in order, so one bad message can be retried and
 * dead-lettered without holding back the others (only those behind it in its partition wait).
 */
export type BatchHandler = (messages: Delivery[]) => Promise<void>;

/**
 * Thrown by a handler for a message that can never succeed (e.g. it fails schema validation):
 * the bus dead-letters it at once instead of retrying.
 */
export class PoisonMessageError extends Error {
  override name = "PoisonMessageError";
}

/**
 * Thrown by a handler when something it depends on (its database) is down: not the message's
 * fault. The bus retries it with backoff for as long as that lasts, without counting those tries
 * against the attempt limit, so an outage never dead-letters good messages.
 */
export class DependencyUnavailableError extends Error {
  override name = "DependencyUnavailableError";
}

export interface SubscribeOptions {
  /** Largest batch handed to a BatchHandler. Default 100. */
  maxBatchSize?: number;
}

export interface Subscription {
  /** Stops fetching for this subscription, lets its in-flight handler finish, then returns. */
  close(): Promise<void>;
}

/** What an adapter promises; the contract suite tests exactly these. */
export interface BusFeatures {
  /** Messages survive the process that published them (another bus instance can read them). */
  persistent: boolean;
  /** Several members of one group share a topic's messages. */
  consumerGroups: boolean;
  /** Messages with the same key are handled in publish order within a group. */
  orderedPerKey: boolean;
  /** Every broadcast subscriber receives every message. */
  broadcast: boolean;
}

export interface Bus {
  readonly features: BusFeatures;

  /**
   * Publishes messages to a topic. Resolves only once the broker has accepted all of them
   * (for Kafka: acknowledged by all in-sync replicas); rejects if any may not have been, in which
   * case the caller publishes again (duplicates are fine: consumers de-duplicate).
   */
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;

  /**
   * Joins consumer group `group` on `topic`. Members of one group share the messages; a message
   * is acknowledged only after its handler resolves. A handler that throws gets the message again
   * with exponential backoff, up to the bus's attempt limit; then the message is published to
   * `<topic>.dlq` (with `x-error`, `x-attempts`, `x-original-topic`, `x-original-partition`,
   * `x-original-position` and `x-dead-lettered-at` headers besides its own) and acknowledged, and
   * the messages behind it flow on. A PoisonMessageError goes to the dead-letter topic at once;
   * a DependencyUnavailableError is retried until it passes and never counts as an attempt.
   * A group that did not exist yet starts from the oldest retained message.
   */
  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Subscription>;

  /** As subscribe, but hands the handler batches of up to `maxBatchSize` messages (see BatchHandler). */
  subscribeBatch(topic: string, group: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription>;

  /**
   * Broadcast: every instance that subscribes receives every message published from now on
   * (used to fan WebSocket pushes out across orders instances). Nothing is retried or
   * dead-lettered: a handler error is reported and the message skipped.
   */
  subscribeBroadcast(topic: string, handler: MessageHandler): Promise<Subscription>;

  /** True when the broker answers; for readiness probes. */
  ping(): Promise<boolean>;

  /**
   * Stops fetching on every subscription, lets in-flight handlers finish (their messages are
   * acknowledged), then disconnects. Messages fetched but not started stay unacknowledged and
   * are delivered again to another member.
   */
  close(): Promise<void>;
}

/** Test hook implemented by every adapter: stop as a killed process would, acking nothing more. */
export interface Abortable {
  abort(): Promise<void>;
}

export const deadLetterTopic = (topic: string) => `${topic}.dlq`;
