import type Redis from "ioredis";
import type { RawEntry, StreamKeys } from "./stream-entries";

/** An entry read from one of a topic's partition streams. */
export interface PartitionEntry {
  partition: number;
  entry: RawEntry;
}

export interface StreamGroupOptions {
  /** A connection of its own: a blocking XREADGROUP holds every other command on its connection. */
  connection: Redis;
  /** The shared command connection: XAUTOCLAIM, CLIENT UNBLOCK, acks that no read carries. */
  commands: Redis;
  keys: StreamKeys;
  topic: string;
  group: string;
  consumer: string;
}

/**
 * One consumer of a group on a topic's partition streams, as Redis commands: read (XREADGROUP
 * over several partitions at once), acknowledge (XACK, sent ahead of the next read in the same
 * pipeline), claim a partition's pending entries (XAUTOCLAIM) and interrupt a blocking read.
 */
export class StreamGroup {
  /** Entries handled and not yet acknowledged, by stream: they go out with the next read. */
  #unacked = new Map<string, string[]>();
  /** The reading connection's CLIENT ID, to interrupt its blocking read; undefined until known. */
  #clientId: number | undefined;
  #blocked = false;

  constructor(private readonly options: StreamGroupOptions) {
    // A reconnected connection is a new client with a new id.
    options.connection.on("close", () => (this.#clientId = undefined));
    // Failures reach the reader through its commands (the shared connection logs the errors).
    options.connection.on("error", () => {});
  }

  /** The partition stream's key. */
  stream(partition: number): string {
    return this.options.keys.stream(this.options.topic, partition);
  }

  /**
   * Reads up to `count` entries of these partitions, each from `from` ("0": our pending history,
   * ">": new entries), blocking up to `blockMs` when given (`interrupt()` ends the wait early). The
   * acks waiting go out ahead of it in one pipeline; a failed ack fails the read.
   */
  async read(partitions: number[], from: "0" | ">", count: number, blockMs?: number): Promise<PartitionEntry[]> {
    const { connection, group, consumer } = this.options;
    const block = blockMs === undefined ? [] : ["BLOCK", blockMs];
    if (blockMs !== undefined) this.#clientId ??= Number(await connection.call("CLIENT", "ID"));
    const pipeline = connection.pipeline();
    const acks = this.#takeAcks(pipeline);
    pipeline.call("XREADGROUP", "GROUP", group, consumer, "COUNT", count, ...block, "STREAMS", ...partitions.map((partition) => this.stream(partition)), ...partitions.map(() => from));
    this.#blocked = blockMs !== undefined;
    let replies: [Error | null, unknown][];
    try {
      replies = (await pipeline.exec()) ?? [];
    } finally {
      this.#blocked = false;
    }
    const failed = replies.find(([error]) => error);
    if (failed || replies.length !== acks + 1) throw failed?.[0] ?? new Error("redis did not answer every command of the read");
    return this.#entriesOf(replies[acks]![1]);
  }

  /** Marks an entry done: its XACK goes out with the next read, or with `ackNow()`. */
  ack(partition: number, id: string): void {
    const stream = this.stream(partition);
    const ids = this.#unacked.get(stream);
    if (ids) ids.push(id);
    else this.#unacked.set(stream, [id]);
  }

  /** Sends the waiting acks now, on the shared connection (no read follows them); throws if one fails. */
  async ackNow(): Promise<void> {
    const pipeline = this.options.commands.pipeline();
    if (this.#takeAcks(pipeline) === 0) return;
    const failed = ((await pipeline.exec()) ?? []).find(([error]) => error);
    if (failed) throw failed[0];
  }

  /** Forgets the waiting acks: after a failed round they are read again from pending (and de-duplicated). */
  forgetAcks(): void {
    this.#unacked.clear();
  }

  /** Takes over the group's entries pending on the partition's stream idle for `minIdleMs` (a previous owner's); returns how many. */
  async claimPending(partition: number, minIdleMs = 0): Promise<number> {
    let cursor = "0-0";
    let claimed = 0;
    do {
      const reply = (await this.options.commands.call(
        "XAUTOCLAIM", this.stream(partition), this.options.group, this.options.consumer, minIdleMs, cursor, "COUNT", 1_000, "JUSTID",
      )) as [string, string[], string[]?];
      cursor = reply[0];
      claimed += reply[1].length;
    } while (cursor !== "0-0");
    return claimed;
  }

  /** Interrupts a blocking read in progress (CLIENT UNBLOCK): it answers with nothing at once. */
  interrupt(): void {
    if (this.#blocked && this.#clientId !== undefined) {
      this.options.commands.call("CLIENT", "UNBLOCK", this.#clientId).catch(() => {});
    }
  }

  /** Moves the waiting acks into the pipeline, one XACK per stream; answers how many commands it added. */
  #takeAcks(pipeline: ReturnType<Redis["pipeline"]>): number {
    const acks = this.#unacked;
    this.#unacked = new Map();
    for (const [stream, ids] of acks) pipeline.call("XACK", stream, this.options.group, ...ids);
    return acks.size;
  }

  /** The entries of an XREADGROUP reply over several streams, each with its partition, stream by stream. */
  #entriesOf(reply: unknown): PartitionEntry[] {
    if (!Array.isArray(reply)) return [];
    const entries: PartitionEntry[] = [];
    for (const [stream, streamEntries] of reply as [string, RawEntry[] | null][]) {
      const partition = this.options.keys.partitionOf(this.options.topic, stream);
      for (const entry of streamEntries ?? []) entries.push({ partition, entry });
    }
    return entries;
  }
}
