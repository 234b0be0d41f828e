import type { Delivery, OutgoingMessage } from "../bus";
import { partitionOf } from "../delivery";
import { Notifier } from "../notifier";

/** One member's claim on a group: the handler that runs a batch, and how to stop it. */
export interface GroupMember {
  /** Runs a batch; resolves with how many from the front are done (may be acknowledged). */
  run(batch: Delivery[]): Promise<number>;
  /** Aborted when the member dies (abort) — its results no longer count. */
  readonly signal: AbortSignal;
  readonly maxBatchSize: number;
}

interface PartitionLog {
  /** Offset of entries[0]; entries before it were consumed by every group and dropped. */
  base: number;
  entries: Delivery[];
}

interface GroupState {
  /** Next offset to hand out, per partition (the committed position). */
  committed: number[];
  members: GroupMember[];
  /** Whether the partition's loop is running; it stops when the group has no member left. */
  running: boolean[];
}

class TopicState {
  readonly partitions: PartitionLog[];
  readonly groups = new Map<string, GroupState>();
  readonly broadcast = new Set<(message: Delivery) => void>();
  readonly changed = new Notifier();

  constructor(readonly name: string, partitionCount: number) {
    this.partitions = Array.from({ length: partitionCount }, () => ({ base: 0, entries: [] }));
  }
}

/**
 * The in-process broker behind MemoryBus: a partitioned, append-only log per topic with a
 * committed offset per consumer group and partition, like Kafka in miniature. Every bus instance
 * created over the same broker sees the same topics, which is how tests stand up several members.
 * Nothing survives the process.
 */
export class MemoryBroker {
  readonly #topics = new Map<string, TopicState>();

  constructor(readonly partitionCount = 8) {}

  publish(topicName: string, messages: OutgoingMessage[]): void {
    const topic = this.#topic(topicName);
    for (const message of messages) {
      const partition = partitionOf(message.key, this.partitionCount);
      const log = topic.partitions[partition]!;
      const delivery: Delivery = {
        topic: topicName,
        partition,
        position: String(log.base + log.entries.length),
        key: message.key,
        value: message.value,
        headers: { ...message.headers },
        attempt: 1,
      };
      log.entries.push(delivery);
      for (const listener of topic.broadcast) listener(delivery);
    }
    topic.changed.notify();
  }

  /** Registers a broadcast listener; it is called for every message published afterwards. */
  listen(topicName: string, listener: (message: Delivery) => void): () => void {
    const topic = this.#topic(topicName);
    topic.broadcast.add(listener);
    return () => topic.broadcast.delete(listener);
  }

  /** Adds a member to a group; the partitions are spread over the members round-robin. */
  join(topicName: string, groupName: string, member: GroupMember): void {
    const topic = this.#topic(topicName);
    let group = topic.groups.get(groupName);
    if (!group) {
      // A new group starts from the oldest retained message.
      group = { committed: topic.partitions.map((log) => log.base), members: [], running: [] };
      topic.groups.set(groupName, group);
    }
    group.members.push(member);
    for (let partition = 0; partition < this.partitionCount; partition++) {
      if (!group.running[partition]) {
        group.running[partition] = true;
        void this.#runPartition(topic, group, partition);
      }
    }
    topic.changed.notify();
  }

  leave(topicName: string, groupName: string, member: GroupMember): void {
    const group = this.#topic(topicName).groups.get(groupName);
    if (!group) return;
    group.members = group.members.filter((candidate) => candidate !== member);
    this.#topic(topicName).changed.notify();
  }

  #topic(name: string): TopicState {
    let topic = this.#topics.get(name);
    if (!topic) {
      topic = new TopicState(name, this.partitionCount);
      this.#topics.set(name, topic);
    }
    return topic;
  }

  /**
   * One loop per group and partition, so a partition's batches run strictly one after another
   * whichever member owns it: that is what keeps per-key order across a change of owner.
   */
  async #runPartition(topic: TopicState, group: GroupState, partition: number): Promise<void> {
    const log = topic.partitions[partition]!;
    while (group.members.length > 0) {
      const owner = group.members[partition % group.members.length]!;
      const start = group.committed[partition]! - log.base;
      if (start >= log.entries.length) {
        await topic.changed.wait(1_000);
        continue;
      }
      const batch = log.entries.slice(start, start + owner.maxBatchSize);
      const done = await untilAborted(owner.run(batch), owner.signal).catch(() => 0);
      // Let I/O in between batches: with PGlite every step can resolve as a microtask, and a
      // busy partition would otherwise starve HTTP and the other partitions.
      await new Promise((resolve) => setImmediate(resolve));
      if (owner.signal.aborted) continue; // a dead member's work does not count: hand it out again
      group.committed[partition]! += done;
      if (done < batch.length) await topic.changed.wait(10);
      this.#trim(topic, partition);
    }
    group.running[partition] = false;
  }

  /** Drops entries every group has consumed, so a long-running process does not grow forever. */
  #trim(topic: TopicState, partition: number): void {
    const log = topic.partitions[partition]!;
    let lowest = Infinity;
    for (const group of topic.groups.values()) lowest = Math.min(lowest, group.committed[partition]!);
    const drop = lowest - log.base;
    if (drop >= 1_000 || (drop > 0 && drop === log.entries.length)) {
      log.entries.splice(0, drop);
      log.base = lowest;
    }
  }
}

/** Resolves with the work's result, or with 0 as soon as the signal aborts (the work is abandoned). */
function untilAborted(work: Promise<number>, signal: AbortSignal): Promise<number> {
  if (signal.aborted) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(0);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
