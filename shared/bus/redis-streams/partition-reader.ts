import type Redis from "ioredis";
import type { BatchHandler } from "../bus";
import { deliverBatch, sleep, type DeliveryContext } from "../delivery";
import type { BusLogger } from "../logger";
import { entriesOf, toDelivery, trimConsumed, type RawEntry } from "./stream-entries";

export interface PartitionReaderOptions {
  /** A connection of its own: a blocking XREADGROUP holds every other command on its connection. */
  connection: Redis;
  /** The shared command connection, for XACK and trimming. */
  commands: Redis;
  topic: string;
  partition: number;
  stream: string;
  group: string;
  consumer: string;
  handler: BatchHandler;
  batched: boolean;
  maxBatchSize: number;
  blockMs: number;
  /** The partition lease: an entry pending on another consumer for this long is a former owner's, claimed again. */
  leaseMs: number;
  context: DeliveryContext;
  logger?: BusLogger;
}

const TRIM_EVERY_MS = 10_000;

/**
 * Reads one partition stream for a group while this member holds its lease. Pending entries come
 * first — those of a previous owner are claimed to us (XAUTOCLAIM), then our own history is read
 * (ID 0) — and only then new entries (`>`). Entries are acknowledged (XACK) only after the
 * handler is done with them; whatever is unacknowledged when we stop stays pending for the next
 * owner. After a Redis error the loop starts over from the pending entries.
 */
export async function readPartition(options: PartitionReaderOptions): Promise<void> {
  const { context, logger } = options;
  let lastTrim = 0;
  while (!context.signal.aborted) {
    try {
      await claimPending(options, 0);
      let pendingDone = false;
      let lastClaim = Date.now();
      while (!context.signal.aborted) {
        // A former owner whose lease lapsed while it was alive can still be handed entries after
        // the claim above (its read in flight, or one more before its heartbeat notices); if it
        // stops or dies without acknowledging them, they are claimed here, a lease later.
        if (pendingDone && Date.now() - lastClaim >= options.leaseMs) {
          lastClaim = Date.now();
          if ((await claimPending(options, options.leaseMs)) > 0) pendingDone = false;
        }
        const fromId = pendingDone ? ">" : "0";
        const block = pendingDone ? ["BLOCK", options.blockMs] : [];
        const reply = await options.connection.call(
          "XREADGROUP", "GROUP", options.group, options.consumer, "COUNT", options.maxBatchSize, ...block,
          "STREAMS", options.stream, fromId,
        );
        const entries = entriesOf(reply);
        if (entries.length === 0 && !pendingDone) pendingDone = true;
        if (entries.length > 0 && !(await handle(options, entries))) return;
        if (Date.now() - lastTrim > TRIM_EVERY_MS) {
          lastTrim = Date.now();
          await trimConsumed(options.commands, options.stream);
        }
      }
    } catch (error) {
      if (context.signal.aborted) return;
      logger?.error("redis partition reader failed, restarting from pending entries", {
        stream: options.stream, group: options.group, error: String(error),
      });
      await sleep(1_000, context.signal);
    }
  }
}

/** Takes over every entry of the group pending on this stream (a previous owner's) idle for `minIdleMs`; returns how many. */
async function claimPending(options: PartitionReaderOptions, minIdleMs: number): Promise<number> {
  let cursor = "0-0";
  let claimed = 0;
  do {
    const reply = (await options.commands.call(
      "XAUTOCLAIM", options.stream, options.group, options.consumer, minIdleMs, cursor, "COUNT", 1_000, "JUSTID",
    )) as [string, string[], string[]?];
    cursor = reply[0];
    claimed += reply[1].length;
  } while (cursor !== "0-0");
  return claimed;
}

/** Runs entries through the handler and acknowledges the done ones; false when we must stop. */
async function handle(options: PartitionReaderOptions, entries: RawEntry[]): Promise<boolean> {
  // Entries trimmed away while pending come back without fields: nothing to handle, just ack them.
  const gone = entries.filter(([, fields]) => fields === null).map(([id]) => id);
  const live = entries.filter(([, fields]) => fields !== null);
  const batch = live.map((entry) => toDelivery(options.topic, options.partition, entry));
  const done = await deliverBatch(batch, options.handler, options.context, options.batched);
  const ack = [...gone, ...batch.slice(0, done).map((message) => message.position)];
  if (ack.length > 0) await options.commands.call("XACK", options.stream, options.group, ...ack);
  return done === batch.length;
}
