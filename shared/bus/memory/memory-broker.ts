import type { Delivery, OutgoingMessage } from "../bus";
import { defaultFetchIntervalMs, partitionOf, spaceOut } from "../delivery";
import { Notifier } from "../notifier";

/** One member's claim on a group: the handler that runs a batch, and how to stop it. */
export interface GroupMember {
  /**
   * Runs a batch (each partition's messages in order); resolves with the messages that are done
   * (may be acknowledged): per partition, a prefix of its messages in the batch.
   */
  run(batch: Delivery[]): Promise<Delivery[]>;
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
  /** Whether the group's loop is running; it stops when the group has no member left. */
  running: boolean;
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

  /** `fetchIntervalMs`: shortest time between two fetches of a group (see `defaultFetchIntervalMs`). */
  constructor(readonly partitionCount = 8, readonly fetchIntervalMs = defaultFetchIntervalMs) {}

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
      group = { committed: topic.partitions.map((log) => log.base), members: [], running: false };
      topic.groups.set(groupName, group);
    }
    group.members.push(member);
    if (!group.running) {
      group.running = true;
      void this.#runGroup(topic, group);
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
   * One loop per group. Each round hands every member one batch of what its partitions hold
   * (partition p belongs to member p mod M, each partition's messages in order), runs the members'
   * batches side by side and waits for all of them before the next round, so a partition's
   * messages are handled strictly one batch after another whichever member owns it: that is what
   * keeps per-key order across a change of owner. A round starts no sooner than the fetch interval
   * after the previous one (at once after idling), so a moderate rate makes batches of a few.
   */
  async #runGroup(topic: TopicState, group: GroupState): Promise<void> {
    let lastRound = Number.NEGATIVE_INFINITY;
    while (group.members.length > 0) {
      await spaceOut(lastRound, this.fetchIntervalMs);
      const members = [...group.members];
      const batches = members
        .map((member, index) => ({ member, batch: this.#batchFor(topic, group, index, members.length, member.maxBatchSize) }))
        .filter(({ batch }) => batch.length > 0);
      if (batches.length === 0) {
        await topic.changed.wait(1_000);
        continue;
      }
      lastRound = performance.now();
      const results = await Promise.all(
        batches.map(async ({ member, batch }) => ({ member, batch, done: await untilAborted(member.run(batch), member.signal).catch(() => []) })),
      );
      // Let I/O in between rounds: with PGlite every step can resolve as a microtask, and a busy
      // group would otherwise starve HTTP and the other groups.
      await new Promise((resolve) => setImmediate(resolve));
      let incomplete = false;
      for (const { member, batch, done } of results) {
        if (member.signal.aborted) continue; // a dead member's work does not count: hand it out again
        for (const message of done) group.committed[message.partition]!++;
        if (done.length < batch.length) incomplete = true;
      }
      if (incomplete) await topic.changed.wait(10);
      for (let partition = 0; partition < this.partitionCount; partition++) this.#trim(topic, partition);
    }
    group.running = false;
  }

  /** Member `index` of `count`'s next batch: its partitions' next messages, partition by partition, at most `max`. */
  #batchFor(topic: TopicState, group: GroupState, index: number, count: number, max: number): Delivery[] {
    const batch: Delivery[] = [];
    for (let partition = index; partition < this.partitionCount && batch.length < max; partition += count) {
      const log = topic.partitions[partition]!;
      const start = group.committed[partition]! - log.base;
      batch.push(...log.entries.slice(start, start + max - batch.length));
    }
    return batch;
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

/** Resolves with the work's result, or with nothing done as soon as the signal aborts (the work is abandoned). */
function untilAborted(work: Promise<Delivery[]>, signal: AbortSignal): Promise<Delivery[]> {
  if (signal.aborted) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve([]);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
