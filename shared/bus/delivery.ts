import { traceLogFields } from "../tracing/trace-headers";
import { DependencyUnavailableError, PoisonMessageError, type BatchHandler, type Delivery } from "./bus";

/** How a failing handler is retried before its message is dead-lettered. */
export interface RetryPolicy {
  /** Tries per message, the first included. */
  maxAttempts: number;
  /** Backoff before try n+1 is min(maxBackoffMs, baseBackoffMs * 2^(n-1)). */
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, baseBackoffMs: 100, maxBackoffMs: 5_000 };

/** Counts what happens to deliveries (the process's metrics implement it). */
export interface BusObserver {
  retried(topic: string, group: string): void;
  deadLettered(topic: string, group: string): void;
}

export interface DeliveryContext {
  policy: RetryPolicy;
  /** Publishes the message to the dead-letter topic; must resolve only once that is durable. */
  deadLetter(message: Delivery, error: unknown, attempts: number): Promise<void>;
  /** Aborted when the consumer stops: backoff waits end early and no further try starts. */
  signal: AbortSignal;
  onRetry?(message: Delivery, error: unknown, attempt: number): void;
  /** The consumer group, for the observer. */
  group: string;
  observer?: BusObserver;
}

/**
 * Runs a batch (each partition's messages in order; one partition or several) through the handler
 * with the bus's retry rules and returns the messages that are done (handled or dead-lettered)
 * and may be acknowledged: per partition, a prefix of its messages. The whole batch goes to the
 * handler at once; if that throws, each partition's messages are retried one at a time, in order,
 * the partitions side by side, so a failing message holds back only the messages behind it in its
 * own partition. Messages not done (the consumer stopped meanwhile) are not returned and stay
 * unacknowledged, to be delivered again. With `batched` false the handler is given one message at
 * a time (a per-message subscription).
 */
export async function deliverAcrossPartitions(
  batch: Delivery[],
  handler: BatchHandler,
  context: DeliveryContext,
  batched = true,
): Promise<Delivery[]> {
  if (batch.length === 0 || context.signal.aborted) return [];
  if (batched && batch.length > 1) {
    try {
      await handler(batch);
      return batch;
    } catch {
      // Isolate the failure: one message at a time, so only the bad one is retried and dead-lettered.
    }
  }
  const partitions = new Map<number, Delivery[]>();
  for (const message of batch) {
    const messages = partitions.get(message.partition) ?? [];
    messages.push(message);
    partitions.set(message.partition, messages);
  }
  const done = new Set<Delivery>();
  await Promise.all(
    [...partitions.values()].map(async (messages) => {
      for (const message of messages) {
        if (!(await deliverOne(message, handler, context))) return;
        done.add(message);
      }
    }),
  );
  return batch.filter((message) => done.has(message));
}

async function deliverOne(message: Delivery, handler: BatchHandler, context: DeliveryContext): Promise<boolean> {
  const { policy, signal } = context;
  // Failures that count against maxAttempts: a dependency being down is not the message's fault.
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) return false;
    try {
      await handler([{ ...message, attempt }]);
      return true;
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError)) failures++;
      if (error instanceof PoisonMessageError || failures >= policy.maxAttempts) {
        if (signal.aborted) return false;
        await context.deadLetter(message, error, attempt);
        context.observer?.deadLettered(message.topic, context.group);
        return true;
      }
      context.onRetry?.(message, error, attempt);
      context.observer?.retried(message.topic, context.group);
      const wait = Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** (attempt - 1));
      await sleep(wait, signal);
    }
  }
}

/**
 * The shortest time between two fetches of one consumer (a coalescing window, like Kafka's
 * fetch.max.wait.ms or a producer's linger.ms): a message that arrives when the consumer has been
 * idle is fetched at once, but one that arrives soon after a fetch waits until this long after it,
 * with whatever else arrived meanwhile. At a moderate rate the consumer so handles a few messages
 * per batch (one statement, one ack) instead of one, for at most this much latency.
 */
export const defaultFetchIntervalMs = 5;

/** Waits until `intervalMs` has passed since `since` (performance.now()); at once when it has, or when the signal aborts. */
export async function spaceOut(since: number, intervalMs: number, signal?: AbortSignal): Promise<void> {
  const wait = since + intervalMs - performance.now();
  if (wait >= 1) await sleep(wait, signal);
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Headers a dead-lettered message carries, so an operator can see why and replay it. */
export function deadLetterHeaders(message: Delivery, error: unknown, attempts: number): Record<string, string> {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    ...message.headers,
    "x-error": text.slice(0, 2_000),
    "x-attempts": String(attempts),
    "x-original-topic": message.topic,
    "x-original-partition": String(message.partition),
    "x-original-position": message.position,
    // When it was given up on: tells two dead-letterings of one message apart (dead-letter tables).
    "x-dead-lettered-at": new Date().toISOString(),
  };
}

/** Partition of a key: a stable FNV-1a hash, the same in every process and adapter that uses it. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/**
 * Log fields for a line about a message, for every such line (retries, dead letters, poison,
 * skipped duplicates, failed broadcasts): where it is; the trace context it carries (`traceId`,
 * `spanId`: see `traceLogFields`), so the line can be found from its trace and the other way
 * round; and, when its body is one of our envelopes, its message id and order id. Parsing is
 * best-effort and only done on the failure paths.
 */
export function describeMessage(message: Pick<Delivery, "topic" | "partition" | "position" | "value" | "headers">): Record<string, unknown> {
  const fields: Record<string, unknown> = { topic: message.topic, partition: message.partition, position: message.position, ...traceLogFields(message.headers) };
  try {
    const envelope = JSON.parse(message.value) as { id?: unknown; payload?: { orderId?: unknown } };
    if (typeof envelope.id === "string") fields.messageId = envelope.id;
    if (typeof envelope.payload?.orderId === "string") fields.orderId = envelope.payload.orderId;
  } catch {
    // Not JSON: the position is all there is.
  }
  return fields;
}
