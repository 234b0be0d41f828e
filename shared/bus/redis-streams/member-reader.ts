import type Redis from "ioredis";
import type { BatchHandler, Delivery } from "../bus";
import { deliverAcrossPartitions, sleep, spaceOut, type DeliveryContext } from "../delivery";
import type { BusLogger } from "../logger";
import { Notifier } from "../notifier";
import { toDelivery, trimConsumed, type StreamKeys } from "./stream-entries";
import { StreamGroup, type PartitionEntry, type StreamGroupOptions } from "./stream-group";

/** How a member reads and hands out its entries (a group consumer passes them through to its reader). */
export interface ReadingOptions {
  handler: BatchHandler;
  batched: boolean;
  maxBatchSize: number;
  blockMs: number;
  /** Shortest time between two reads of new entries (see `defaultFetchIntervalMs`). */
  fetchIntervalMs: number;
  /** The partition lease: an entry pending on another consumer for this long is a former owner's, claimed again. */
  leaseMs: number;
}

/** The stream group's connections and names (`commands` also trims), how to read, and the delivery context. */
export interface MemberReaderOptions extends StreamGroupOptions, ReadingOptions {
  context: DeliveryContext;
  logger?: BusLogger;
}

const TRIM_EVERY_MS = 10_000;

/**
 * Reads, for one member of a group, every partition stream whose lease the member holds, with ONE
 * blocking XREADGROUP over all of them: a batch may so hold several partitions' messages (each
 * partition's in order), and a quiet topic costs one waiting read, not one per partition.
 *
 * The Redis commands are a `StreamGroup`'s; this class decides what to read when.
 *
 * A partition added to the reader is read from its pending entries first — a previous owner's
 * are claimed to us (XAUTOCLAIM), then our own history is read (ID 0) — and only then from new
 * entries (`>`). Entries are acknowledged (XACK) only after the handler is done with them; the
 * acks go out with the next read, in the same pipeline (one write, one wake-up of Redis), or on
 * the shared connection when no read follows (a partition handed back, the reader stopping). After
 * a Redis error every partition starts over from its pending entries, so nothing unacknowledged is
 * skipped (the inbox de-duplicates what comes twice).
 */
export class MemberReader {
  /** Owned partitions: "pending" until their pending entries have been read, then "live". */
  readonly #partitions = new Map<number, "pending" | "live">();
  readonly #changed = new Notifier();
  readonly #stopping = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  /** Resolves when the round in progress (a read and the handling of what it returned) ends. */
  #round: Promise<void> = Promise.resolve();
  readonly #streams: StreamGroup;
  /** When the last read of new entries was sent (performance.now()). */
  #lastRead = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: MemberReaderOptions) {
    this.#streams = new StreamGroup(options);
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Starts reading a partition (its pending entries first). */
  add(partition: number): void {
    this.#partitions.set(partition, "pending");
    this.#changed.notify();
    this.#streams.interrupt();
  }

  /**
   * Stops reading a partition and resolves once nothing more of it will be handled: the round in
   * progress is over and its messages acknowledged. Then its lease may be handed back.
   */
  async remove(partition: number): Promise<void> {
    if (!this.#partitions.delete(partition)) return;
    this.#streams.interrupt();
    await this.#round;
    await this.#streams.ackNow().catch((error: unknown) =>
      this.options.logger?.warn("redis acks of a partition handed back failed (its next owner gets the entries again)", { topic: this.options.topic, partition, error: String(error) }),
    );
  }

  /** Our lease lapsed and someone else may be reading it: leave it out of the next read at once. */
  drop(partition: number): void {
    this.#partitions.delete(partition);
    this.#streams.interrupt();
  }

  get partitions(): number[] {
    return [...this.#partitions.keys()];
  }

  /** Finishes the round in progress (its messages are acknowledged), then stops. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#changed.notify();
    this.#streams.interrupt();
    await this.#loop;
    await this.#streams.ackNow().catch((error: unknown) =>
      this.options.logger?.warn("redis acks at stop failed (the entries will be delivered again)", { topic: this.options.topic, error: String(error) }),
    );
  }

  /** Dies: nothing more is handled or acknowledged. */
  abort(): void {
    this.#stopping.abort();
    this.#changed.notify();
    this.options.connection.disconnect();
  }

  async #run(): Promise<void> {
    const { logger, topic, group } = this.options;
    let lastTrim = Date.now();
    let lastReclaim = Date.now();
    while (!this.#stopping.signal.aborted) {
      let endRound!: () => void;
      this.#round = new Promise((resolve) => (endRound = resolve));
      try {
        if (Date.now() - lastReclaim >= this.options.leaseMs) {
          lastReclaim = Date.now();
          await this.#reclaimStranded();
        }
        if (this.#partitions.size === 0) await this.#idle();
        else if ([...this.#partitions.values()].includes("pending")) await this.#readPending();
        else await this.#readNew();
        if (Date.now() - lastTrim > TRIM_EVERY_MS) {
          lastTrim = Date.now();
          await this.#trim();
        }
      } catch (error) {
        // Whether they went out or not, those entries are read again from pending (and de-duplicated).
        this.#streams.forgetAcks();
        if (this.#stopping.signal.aborted) return endRound();
        logger?.error("redis group reader failed, restarting from pending entries", { topic, group, error: String(error) });
        for (const partition of this.#partitions.keys()) this.#partitions.set(partition, "pending");
        await sleep(1_000, this.#stopping.signal);
      } finally {
        endRound();
      }
    }
  }

  /** With no partition to read: sends the acks still waiting, then waits for a partition (or a stop). */
  async #idle(): Promise<void> {
    await this.#streams.ackNow();
    await this.#changed.wait(this.options.blockMs);
  }

  /** Claims the pending partitions' entries from their previous owners, then reads our history of them. */
  async #readPending(): Promise<void> {
    const pending = [...this.#partitions].filter(([, state]) => state === "pending").map(([partition]) => partition);
    for (const partition of pending) await this.#streams.claimPending(partition);
    const entries = await this.#streams.read(pending, "0", this.options.maxBatchSize);
    const withEntries = new Set(entries.map(({ partition }) => partition));
    // A partition with no history left is caught up (unless it was dropped meanwhile).
    for (const partition of pending) if (!withEntries.has(partition) && this.#partitions.has(partition)) this.#partitions.set(partition, "live");
    await this.#handle(entries);
  }

  /** One blocking read of new entries over every live partition, no sooner than the fetch interval after the last. */
  async #readNew(): Promise<void> {
    await spaceOut(this.#lastRead, this.options.fetchIntervalMs, this.#stopping.signal);
    const live = [...this.#partitions.keys()];
    this.#lastRead = performance.now();
    const entries = await this.#streams.read(live, ">", this.options.maxBatchSize, this.options.blockMs);
    // Redis 7.0 answers a read blocked on several streams with the entries of the stream that
    // woke it only: what was published with them to other partitions (one MULTI) is read at once,
    // without blocking, so the batch stays whole.
    const others = live.filter((partition) => !entries.some((entry) => entry.partition === partition));
    if (entries.length > 0 && others.length > 0) entries.push(...(await this.#streams.read(others, ">", this.options.maxBatchSize)));
    await this.#handle(entries);
  }

  /** Runs entries through the handler in batches; the done ones are acknowledged with the next read. */
  async #handle(entries: PartitionEntry[]): Promise<void> {
    const { topic, handler, batched, maxBatchSize, context } = this.options;
    const ack = (partition: number, id: string) => this.#streams.ack(partition, id);
    // Entries trimmed away while pending come back without fields: nothing to handle, just ack them.
    const live: Delivery[] = [];
    for (const { partition, entry } of entries) {
      if (entry[1] === null) ack(partition, entry[0]);
      else live.push(toDelivery(topic, partition, entry));
    }
    for (let start = 0; start < live.length && !context.signal.aborted; start += maxBatchSize) {
      const done = await deliverAcrossPartitions(live.slice(start, start + maxBatchSize), handler, context, batched);
      for (const message of done) ack(message.partition, message.position);
    }
  }

  /**
   * A former owner whose lease lapsed while it was alive can still be handed entries after we
   * claimed the partition's pending entries (its read in flight, or one more before its heartbeat
   * noticed); if it then stops or dies without acknowledging them, nobody would claim them again.
   * Once a lease, entries pending on another consumer for longer than a lease are claimed to us and
   * read from our history. (Such an entry may come after newer ones of its key: late beats lost.)
   */
  async #reclaimStranded(): Promise<void> {
    for (const [partition, state] of this.#partitions) {
      if (state === "live" && (await this.#streams.claimPending(partition, this.options.leaseMs)) > 0) this.#partitions.set(partition, "pending");
    }
  }

  /** Housekeeping: drops what every group has finished with; a failure is worth a warning, never a restart of the reading. */
  async #trim(): Promise<void> {
    for (const partition of this.#partitions.keys()) {
      await trimConsumed(this.options.commands, this.#streams.stream(partition)).catch((error: unknown) =>
        this.options.logger?.warn("redis stream trim failed", { topic: this.options.topic, partition, error: String(error) }),
      );
    }
  }
}
