import { deadLetterTopic, type Delivery, type OutgoingMessage } from "./bus";
import { deadLetterHeaders, describeMessage, type BusObserver, type DeliveryContext, type RetryPolicy } from "./delivery";
import type { BusLogger } from "./logger";

export interface DeliveryContextOptions {
  /** The consumer group the messages are delivered to. */
  group: string;
  policy: RetryPolicy;
  /** Aborted when the consumer stops. */
  signal: AbortSignal;
  observer?: BusObserver;
  logger?: BusLogger;
  /**
   * Publishes one message to a topic through the adapter; resolves only once it is durable, so the
   * original is acknowledged after its dead letter exists (a crash in between dead-letters twice,
   * never loses).
   */
  publish(topic: string, message: OutgoingMessage): Promise<void>;
}

/**
 * The delivery context every adapter hands `deliverAcrossPartitions`: a message given up on goes
 * to `<topic>.dlq` with its headers and `deadLetterHeaders`, and each retry and dead letter is
 * logged (with the message's `describeMessage` fields and the group) and counted by the observer.
 */
export function deliveryContext(options: DeliveryContextOptions): DeliveryContext {
  const { group, logger } = options;
  const fields = (message: Delivery) => ({ ...describeMessage(message), group });
  return {
    policy: options.policy,
    signal: options.signal,
    group,
    observer: options.observer,
    async deadLetter(message, error, attempts) {
      logger?.error("message dead-lettered", { ...fields(message), attempts, error: String(error) });
      const deadLetter = { key: message.key, value: message.value, headers: deadLetterHeaders(message, error, attempts) };
      await options.publish(deadLetterTopic(message.topic), deadLetter).catch((publishError: unknown) => {
        logger?.error("dead letter not published; the message will be delivered again", { ...fields(message), error: String(publishError) });
        throw publishError;
      });
    },
    onRetry: (message, error, attempt) => logger?.warn("handler failed, will retry", { ...fields(message), attempt, error: String(error) }),
  };
}
