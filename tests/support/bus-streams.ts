import type Redis from "ioredis";
import { deadLetterTopic, type OutgoingMessage } from "../../shared/bus/bus";
import { partitionOf } from "../../shared/bus/delivery";
import { entryFields, StreamKeys, toDelivery } from "../../shared/bus/redis-streams/stream-entries";
import { orderCreatedTopic, paymentProcessedTopic, refundProcessedTopic, refundRequestedTopic } from "../../shared/contracts";

/** The partition streams per topic the processes use (RedisBus's default; REDIS_PARTITIONS is not configurable). */
const partitions = 8;

/** The consumer group of each module on each topic it consumes (modules/<module>/index.ts). */
export const consumedTopics = [
  { topic: orderCreatedTopic, group: "payments" },
  { topic: paymentProcessedTopic, group: "orders" },
  { topic: refundRequestedTopic, group: "payments" },
  { topic: refundProcessedTopic, group: "orders" },
] as const;

/** What an operator sees of a system's topics in Redis. */
export class BusStreams {
  readonly #keys: StreamKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.#keys = new StreamKeys(prefix, partitions);
  }

  /** Messages in the dead-letter topics of every consumed topic. */
  async deadLetters(): Promise<number> {
    let total = 0;
    for (const { topic } of consumedTopics) {
      for (const stream of this.#keys.streams(deadLetterTopic(topic))) total += await this.redis.xlen(stream);
    }
    return total;
  }

  /**
   * Entries delivered to a group and not yet acknowledged, plus entries not yet delivered at all,
   * over every consumed topic: 0 once the bus has nothing left in flight.
   */
  async inFlight(): Promise<number> {
    let total = 0;
    for (const { topic, group } of consumedTopics) {
      for (const stream of this.#keys.streams(topic)) {
        const groups = (await this.redis.call("XINFO", "GROUPS", stream).catch(() => [])) as unknown[][];
        for (const info of groups) {
          const fields = new Map<string, unknown>();
          for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
          if (fields.get("name") !== group) continue;
          // Any entry after the last delivered one, looked up: `lag` is not to be trusted once
          // entries were deleted (`take`): Redis keeps counting a deleted entry as unread.
          const undelivered = (await this.redis.xrange(stream, `(${String(fields.get("last-delivered-id"))}`, "+", "COUNT", 1)).length;
          total += Number(fields.get("pending")) + undelivered;
        }
      }
    }
    return total;
  }

  /**
   * Publishes each message again exactly as it was (same key, same envelope, so the same message
   * id), straight into the topic's partition streams, as an operator replaying a topic would.
   */
  async republish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const message of messages) pipeline.xadd(this.#keys.stream(topic, partitionOf(message.key, partitions)), "*", ...entryFields(message));
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  /**
   * Takes the messages `wanted` picks off a topic's partition streams (XDEL) and returns them, to
   * be published again later (`republish`): a consumer group that has not read them yet never
   * sees them meanwhile. Holds a message back only while no member of the group is running (an
   * entry a member has already read stays in its pending list).
   */
  async take(topic: string, wanted: (message: OutgoingMessage) => boolean): Promise<OutgoingMessage[]> {
    const taken: OutgoingMessage[] = [];
    for (const stream of this.#keys.streams(topic)) {
      const ids: string[] = [];
      for (const [id, fields] of await this.redis.xrange(stream, "-", "+")) {
        const message = toDelivery(topic, 0, [id, fields]);
        if (!wanted(message)) continue;
        ids.push(id);
        taken.push({ key: message.key, value: message.value, headers: message.headers });
      }
      if (ids.length > 0) await this.redis.xdel(stream, ...ids);
    }
    return taken;
  }

  /** Every entry still retained in a topic's partition streams (consumed entries get trimmed). */
  async retained(topic: string): Promise<{ key: string; value: string }[]> {
    const messages = [];
    for (const stream of this.#keys.streams(topic)) {
      for (const [, fields] of await this.redis.xrange(stream, "-", "+")) {
        const map = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
        messages.push({ key: map.get("k") ?? "", value: map.get("v") ?? "" });
      }
    }
    return messages;
  }
}
