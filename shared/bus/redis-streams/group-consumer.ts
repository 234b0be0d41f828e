import type { ChainableCommander, default as Redis } from "ioredis";
import { sleep, type DeliveryContext } from "../delivery";
import type { BusLogger } from "../logger";
import { MemberReader, type ReadingOptions } from "./member-reader";
import type { StreamKeys } from "./stream-entries";

// Lease scripts compare the owner before touching the key, so a member whose lease lapsed and
// was taken over can neither renew nor delete the new owner's lease.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Runs a pipeline and returns the replies at `indexes`; throws the first error any command had. */
async function inOneRoundTrip<T extends unknown[]>(pipeline: ChainableCommander, indexes: number[]): Promise<T> {
  const replies = (await pipeline.exec()) ?? [];
  const failed = replies.find(([error]) => error);
  if (failed) throw failed[0];
  return indexes.map((index) => replies[index]?.[1]) as T;
}

export interface GroupConsumerOptions extends ReadingOptions {
  commands: Redis;
  keys: StreamKeys;
  topic: string;
  group: string;
  memberId: string;
  /** Builds the delivery context of the member's reader; its signal is aborted when the subscription stops or the bus dies. */
  context(stop: AbortSignal): DeliveryContext;
  logger?: BusLogger;
}

/**
 * One member of a consumer group on a partitioned topic. Partitions are spread over the live
 * members (a sorted set of member heartbeats): each member holds leases on about N/M partitions,
 * renews them every third of the lease time, takes free ones up to its fair share and hands back
 * extras. Only the lease holder reads a partition, which is what keeps per-key order; when a
 * member dies its leases lapse and the others take its partitions over, pending entries first.
 * One MemberReader reads all the member's partitions with one blocking read.
 */
export class GroupConsumer {
  readonly #stopping = new AbortController();
  /** Aborted when the bus dies or the subscription stops: retries end, nothing new starts. */
  readonly #delivering = new AbortController();
  readonly #connection: Redis;
  readonly #reader: MemberReader;
  #loop: Promise<void> = Promise.resolve();

  constructor(private readonly options: GroupConsumerOptions) {
    const { commands, keys, topic, group, memberId } = options;
    this.#connection = commands.duplicate();
    this.#reader = new MemberReader({
      ...options,
      connection: this.#connection,
      consumer: memberId,
      keys,
      topic,
      group,
      context: options.context(this.#delivering.signal),
    });
  }

  async start(): Promise<void> {
    const { commands, keys, topic, group } = this.options;
    for (const stream of keys.streams(topic)) {
      // A new group starts from the oldest retained entry ("0"), like Kafka's fromBeginning.
      await commands.call("XGROUP", "CREATE", stream, group, "0", "MKSTREAM").catch((error: Error) => {
        if (!String(error.message).includes("BUSYGROUP")) throw error;
      });
    }
    await this.#balance();
    this.#reader.start();
    this.#loop = this.#heartbeat();
  }

  /** Stops reading: the in-flight batch finishes and is acknowledged, leases are handed back. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#delivering.abort();
    await this.#loop;
    const owned = this.#reader.partitions;
    await this.#reader.stop();
    this.#connection.disconnect();
    const { commands, keys, topic, group, memberId } = this.options;
    await Promise.all(owned.map((partition) => commands.eval(RELEASE, 1, keys.lease(topic, group, partition), memberId).catch(() => {})));
    await commands.zrem(keys.members(topic, group), memberId).catch(() => {});
  }

  /** Dies: no more acks, no lease hand-back; others take over when the leases lapse. */
  abort(): void {
    this.#stopping.abort();
    this.#delivering.abort();
    this.#reader.abort();
  }

  async #heartbeat(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      await sleep(this.options.leaseMs / 3, this.#stopping.signal);
      if (this.#stopping.signal.aborted) return;
      await this.#balance().catch((error) =>
        this.options.logger?.warn("redis group heartbeat failed", { topic: this.options.topic, error: String(error) }),
      );
    }
  }

  async #balance(): Promise<void> {
    const { commands, keys, topic, group, memberId, leaseMs } = this.options;
    const members = keys.members(topic, group);
    const now = Date.now();
    // One round trip for the heartbeat and the member list, one for every renewal: a member owns
    // up to all the partitions, and an idle process runs a heartbeat per subscription.
    const [live] = await inOneRoundTrip<[string[]]>(
      commands.pipeline().zadd(members, now + leaseMs, memberId).zremrangebyscore(members, "-inf", now).zrange(members, 0, -1),
      [2],
    );
    const fairShare = Math.ceil(keys.partitions / Math.max(1, live.length));

    const renewing = this.#reader.partitions;
    const renewals = commands.pipeline();
    for (const partition of renewing) renewals.eval(RENEW, 1, keys.lease(topic, group, partition), memberId, leaseMs);
    const renewed = renewing.length > 0 ? await inOneRoundTrip<number[]>(renewals, renewing.map((_, index) => index)) : [];
    for (const [index, partition] of renewing.entries()) {
      if (renewed[index] !== 1) {
        // Our lease lapsed and someone else may be reading: stop reading it at once.
        this.#reader.drop(partition);
        this.options.logger?.warn("redis partition lease lost", { topic, partition });
      }
    }
    for (const partition of this.#reader.partitions.slice(fairShare)) await this.#release(partition);

    // Start looking at a member-specific offset so members do not all race for partition 0.
    const offset = Math.max(0, live.indexOf(memberId)) * fairShare;
    const owned = new Set(this.#reader.partitions);
    for (let i = 0; i < keys.partitions && owned.size < fairShare; i++) {
      const partition = (offset + i) % keys.partitions;
      if (owned.has(partition) || this.#stopping.signal.aborted) continue;
      const taken = await commands.set(keys.lease(topic, group, partition), memberId, "PX", leaseMs, "NX");
      if (taken === "OK") {
        owned.add(partition);
        this.#reader.add(partition);
      }
    }
  }

  /** Hands a partition back once the reader has finished with it (its messages acknowledged). */
  async #release(partition: number): Promise<void> {
    await this.#reader.remove(partition);
    const { commands, keys, topic, group, memberId } = this.options;
    await commands.eval(RELEASE, 1, keys.lease(topic, group, partition), memberId).catch(() => {});
  }
}
