import type Redis from "ioredis";
import type { Delivery, OutgoingMessage } from "../bus";

/** Redis keys of one bus namespace. A topic is `partitions` streams: `<prefix><topic>:<n>`. */
export class StreamKeys {
  constructor(readonly prefix: string, readonly partitions: number) {}

  stream(topic: string, partition: number): string {
    return `${this.prefix}${topic}:${partition}`;
  }
  /** The partition of one of the topic's streams (`stream(topic, n)` → n); throws for any other key. */
  partitionOf(topic: string, stream: string): number {
    const base = `${this.prefix}${topic}:`;
    const partition = stream.startsWith(base) ? Number(stream.slice(base.length)) : Number.NaN;
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions || stream !== this.stream(topic, partition)) {
      throw new Error(`${stream} is not a partition stream of ${topic} under ${this.prefix}`);
    }
    return partition;
  }
  streams(topic: string): string[] {
    return Array.from({ length: this.partitions }, (_, partition) => this.stream(topic, partition));
  }
  members(topic: string, group: string): string {
    return `${this.prefix}${topic}:${group}:members`;
  }
  lease(topic: string, group: string, partition: number): string {
    return `${this.prefix}${topic}:${group}:lease:${partition}`;
  }
}

/** Field names of a stream entry: key, value, headers (JSON). */
export function entryFields(message: OutgoingMessage): string[] {
  return ["k", message.key, "v", message.value, "h", JSON.stringify(message.headers ?? {})];
}

/** A raw XREAD / XREADGROUP entry: `[id, [field, value, …]]`, or `[id, null]` when trimmed away. */
export type RawEntry = [string, string[] | null];

export function toDelivery(topic: string, partition: number, [id, fields]: RawEntry): Delivery {
  const map = new Map<string, string>();
  for (let i = 0; fields && i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  let headers: Record<string, string> = {};
  try {
    headers = JSON.parse(map.get("h") ?? "{}");
  } catch {
    headers = { "x-bad-headers": map.get("h") ?? "" };
  }
  return { topic, partition, position: id, key: map.get("k") ?? "", value: map.get("v") ?? "", headers, attempt: 1 };
}

/**
 * Drops entries every consumer group of the stream has finished with: older than each group's
 * oldest pending entry, or than its last-delivered id when nothing is pending. A stream read by
 * no group (broadcast only) keeps its newest `keepWithoutGroups` entries. Never drops an entry a
 * group still needs, so trimming cannot lose a message; a group created later starts from what
 * is left, as with Kafka's retention.
 */
export async function trimConsumed(redis: Redis, stream: string, keepWithoutGroups = 10_000): Promise<void> {
  const groups = (await redis.call("XINFO", "GROUPS", stream).catch(() => [])) as unknown[][];
  if (groups.length === 0) {
    await redis.call("XTRIM", stream, "MAXLEN", "~", keepWithoutGroups);
    return;
  }
  let threshold: string | undefined;
  for (const info of groups) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
    let position = String(fields.get("last-delivered-id"));
    if (Number(fields.get("pending")) > 0) {
      const summary = (await redis.call("XPENDING", stream, String(fields.get("name")))) as unknown[];
      // The pending entries may have been acknowledged since XINFO: then there is no oldest one.
      if (typeof summary[1] === "string") position = summary[1];
    }
    if (threshold === undefined || compareIds(position, threshold) < 0) threshold = position;
  }
  if (threshold && threshold !== "0-0") await redis.call("XTRIM", stream, "MINID", threshold);
}

export function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split("-").map(Number);
  const [bMs = 0, bSeq = 0] = b.split("-").map(Number);
  return aMs - bMs || aSeq - bSeq;
}
