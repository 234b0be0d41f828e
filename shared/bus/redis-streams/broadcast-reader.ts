import type Redis from "ioredis";
import type { MessageHandler } from "../bus";
import { describeMessage, sleep, spaceOut } from "../delivery";
import type { BusLogger } from "../logger";
import { toDelivery, trimConsumed, type RawEntry } from "./stream-entries";

const TRIM_EVERY_MS = 10_000;

/**
 * Reads every partition stream of a topic without a consumer group (XREAD), from the newest entry
 * at subscription time on, so each subscribing instance sees every later message. Handler errors
 * are logged and the message skipped; after a Redis error reading resumes where it left off.
 */
export class BroadcastReader {
  readonly #stop = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  #positions: string[] = [];

  constructor(
    private readonly connection: Redis,
    private readonly commands: Redis,
    private readonly topic: string,
    private readonly streams: string[],
    private readonly handler: MessageHandler,
    private readonly blockMs: number,
    /** Shortest time between two reads (a coalescing window, see `defaultFetchIntervalMs`). */
    private readonly fetchIntervalMs: number,
    private readonly logger?: BusLogger,
  ) {}

  async start(): Promise<void> {
    const pipeline = this.commands.pipeline();
    for (const stream of this.streams) pipeline.call("XREVRANGE", stream, "+", "-", "COUNT", 1);
    const replies = (await pipeline.exec()) ?? [];
    this.#positions = replies.map(([error, reply]) => {
      if (error) throw error;
      const [newest] = reply as RawEntry[];
      return newest ? newest[0] : "0-0";
    });
    this.#loop = this.#read();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.connection.disconnect();
  }

  abort(): void {
    this.#stop.abort();
    this.connection.disconnect();
  }

  async #read(): Promise<void> {
    let lastTrim = Date.now();
    let lastRead = Number.NEGATIVE_INFINITY;
    while (!this.#stop.signal.aborted) {
      try {
        await spaceOut(lastRead, this.fetchIntervalMs, this.#stop.signal);
        lastRead = performance.now();
        const reply = (await this.connection.call(
          "XREAD", "COUNT", 500, "BLOCK", this.blockMs, "STREAMS", ...this.streams, ...this.#positions,
        )) as Array<[string, RawEntry[]]> | null;
        // Redis 7.0 answers a read blocked on several streams with the stream that woke it only:
        // what was published with it to the other streams is read at once, without blocking.
        if (reply && reply.length < this.streams.length) {
          const positions = this.streams.map((stream, index) => reply.find(([name]) => name === stream)?.[1].at(-1)?.[0] ?? this.#positions[index]!);
          const rest = (await this.connection.call("XREAD", "COUNT", 500, "STREAMS", ...this.streams, ...positions)) as Array<[string, RawEntry[]]> | null;
          for (const [stream, entries] of rest ?? []) {
            const known = reply.find(([name]) => name === stream);
            if (known) known[1].push(...entries);
            else reply.push([stream, entries]);
          }
        }
        for (const [stream, entries] of reply ?? []) {
          const partition = this.streams.indexOf(stream);
          for (const entry of entries) {
            this.#positions[partition] = entry[0];
            if (this.#stop.signal.aborted) return;
            const delivery = toDelivery(this.topic, partition, entry);
            await this.handler(delivery).catch((error) =>
              this.logger?.error("broadcast handler failed", { ...describeMessage(delivery), error: String(error) }),
            );
          }
        }
        if (Date.now() - lastTrim > TRIM_EVERY_MS) {
          lastTrim = Date.now();
          for (const stream of this.streams) {
            await trimConsumed(this.commands, stream).catch((error: unknown) =>
              this.logger?.warn("redis stream trim failed", { stream, error: String(error) }),
            );
          }
        }
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        this.logger?.error("redis broadcast reader failed, resuming", { topic: this.topic, error: String(error) });
        await sleep(1_000, this.#stop.signal);
      }
    }
  }
}
