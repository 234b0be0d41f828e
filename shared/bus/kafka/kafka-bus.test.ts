import { describe, expect, test } from "bun:test";
import type { EachBatchPayload, KafkaMessage, PartitionMetadata } from "kafkajs";
import { partitionOf } from "../delivery";
import type { BusLogger } from "../logger";
import { consumeBatch, createKafkaBus, keyPartitioner, toDelivery } from "./kafka-bus";

// Nothing listens on port 1: every connection attempt is refused at once.
const unreachable = ["127.0.0.1:1"];

const partitions = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, partitionErrorCode: 0, leader: 0, replicas: [0], isr: [0] }));

function capturingLogger(): BusLogger & { lines: string[] } {
  const lines: string[] = [];
  const write = (message: string, fields?: Record<string, unknown>) => void lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, info: write, warn: write, error: write };
}

describe("keyPartitioner", () => {
  test("puts a key on the partition partitionOf gives it, as the Redis and memory adapters do", () => {
    const partition = keyPartitioner();
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}-${i * 7919}`);
    for (const count of [1, 3, 8]) {
      for (const key of keys) {
        const args = { topic: "t", partitionMetadata: partitions(count), message: { key, value: "v" } };
        expect(partition(args)).toBe(partitionOf(key, count));
        expect(partition({ ...args, message: { key: Buffer.from(key), value: "v" } })).toBe(partitionOf(key, count));
      }
    }
    const used = new Set(keys.map((key) => partition({ topic: "t", partitionMetadata: partitions(8), message: { key, value: "v" } })));
    expect(used.size).toBe(8);
  });
});

describe("toDelivery", () => {
  test("turns a fetched record into a Delivery: bytes to text, offset as position, first attempt", () => {
    const record = {
      key: Buffer.from("user-1"),
      value: Buffer.from('{"id":"m-1"}'),
      offset: "42",
      timestamp: "0",
      attributes: 0,
      headers: { trace: Buffer.from("t-1"), plain: "text", repeated: [Buffer.from("first"), Buffer.from("last")], absent: undefined },
    } satisfies KafkaMessage;
    expect(toDelivery("order-created", 3, record)).toEqual({
      topic: "order-created",
      partition: 3,
      position: "42",
      key: "user-1",
      value: '{"id":"m-1"}',
      headers: { trace: "t-1", plain: "text", repeated: "last" },
      attempt: 1,
    });
  });

  test("a record without key, value or headers gives empty strings and no headers", () => {
    const record = { key: null, value: null, offset: "0", timestamp: "0", attributes: 0, size: 0 } satisfies KafkaMessage;
    expect(toDelivery("t", 0, record)).toMatchObject({ key: "", value: "", headers: {} });
  });
});

/** A fetched batch whose payload callbacks write what the consumer did, in order, to `events`. */
function fakeBatch(offsets: string[], running: () => boolean = () => true) {
  const events: string[] = [];
  const messages = offsets.map((offset) => ({ key: Buffer.from("k"), value: Buffer.from(`m${offset}`), offset, timestamp: "0", attributes: 0, headers: {} }));
  const payload = {
    batch: { topic: "t", partition: 5, messages },
    resolveOffset: (offset: string) => void events.push(`resolve ${offset}`),
    commitOffsetsIfNecessary: async (offsets?: { topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }) => {
      await Bun.sleep(1); // the next chunk must wait for the commit, not merely start it
      events.push(`commit ${JSON.stringify(offsets?.topics)}`);
    },
    heartbeat: async () => void events.push("heartbeat"),
    isRunning: running,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  const commit = (offset: string) => `commit ${JSON.stringify([{ topic: "t", partitions: [{ partition: 5, offset }] }])}`;
  return { payload, events, commit };
}

describe("consumeBatch", () => {
  const offsets = ["10", "11", "12", "13", "14", "15", "16"];
  const runAll = (events: string[]) => async (chunk: { position: string }[]) => {
    events.push(`run ${chunk.map((m) => m.position).join(",")}`);
    return chunk.length;
  };

  test("runs chunks of the batch size and commits each chunk's last offset + 1 before the next starts", async () => {
    const { payload, events, commit } = fakeBatch(offsets);
    await consumeBatch(payload, 3, new AbortController().signal, runAll(events));
    expect(events).toEqual([
      "run 10,11,12", "resolve 12", commit("13"), "heartbeat",
      "run 13,14,15", "resolve 15", commit("16"), "heartbeat",
      "run 16", "resolve 16", commit("17"), "heartbeat",
    ]);
  });

  test("a chunk partly done (the member is stopping) commits its done prefix and stops", async () => {
    const { payload, events, commit } = fakeBatch(offsets);
    await consumeBatch(payload, 3, new AbortController().signal, async () => 1);
    expect(events).toEqual(["resolve 10", commit("11")]);
  });

  test("nothing done, or killed, commits nothing", async () => {
    for (const outcome of [0, undefined]) {
      const { payload, events } = fakeBatch(offsets);
      await consumeBatch(payload, 3, new AbortController().signal, async () => outcome);
      expect(events).toEqual([]);
    }
  });

  test("a stopping consumer starts no further chunk", async () => {
    let running = true;
    const { payload, events, commit } = fakeBatch(offsets, () => running);
    await consumeBatch(payload, 3, new AbortController().signal, async (chunk) => {
      running = false; // close() was called while this chunk ran
      return chunk.length;
    });
    expect(events).toEqual(["resolve 12", commit("13"), "heartbeat"]);

    const stopped = new AbortController();
    stopped.abort();
    const second = fakeBatch(offsets);
    await consumeBatch(second.payload, 3, stopped.signal, runAll(second.events));
    expect(second.events).toEqual([]);
  });

  test("offsets past 2^53 are committed exactly", async () => {
    const { payload, events, commit } = fakeBatch(["9007199254740993"]);
    await consumeBatch(payload, 100, new AbortController().signal, async (chunk) => chunk.length);
    expect(events).toContain(commit("9007199254740994"));
  });
});

describe("KafkaBus without a reachable broker", () => {
  const sasl = { mechanism: "scram-sha-512" as const, username: "gozon", password: "pw-must-never-be-logged" };

  test("ping answers false within its timeout instead of hanging, and nothing logs the SASL password", async () => {
    const logger = capturingLogger();
    const bus = await createKafkaBus({ brokers: unreachable, clientId: "unit", ssl: false, sasl, logger });
    const started = Date.now();
    expect(await bus.ping()).toBe(false);
    expect(Date.now() - started).toBeLessThan(4_000);
    await bus.close();
    expect(logger.lines.length).toBeGreaterThan(0); // the refused connections were reported...
    expect(logger.lines.join("\n")).not.toContain(sasl.password); // ...without the secret
  }, 15_000);

  test("publish and subscribe reject once the client's retries are spent; they never resolve", async () => {
    const bus = await createKafkaBus({ brokers: unreachable, clientId: "unit", ssl: false, logger: capturingLogger() });
    const outcomes = await Promise.allSettled([
      bus.publish("t", [{ key: "k", value: "v" }]),
      bus.subscribe("t", "g", async () => {}),
      bus.subscribeBroadcast("t", async () => {}),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected", "rejected"]);
    await bus.close();
  }, 30_000);

  test("close is idempotent and prompt; afterwards publish and subscribe reject and ping is false", async () => {
    const bus = await createKafkaBus({ brokers: unreachable, clientId: "unit", ssl: false, logger: capturingLogger() });
    const started = Date.now();
    await Promise.all([bus.close(), bus.close()]);
    await bus.abort();
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(bus.publish("t", [{ key: "k", value: "v" }])).rejects.toThrow("bus is closed");
    await expect(bus.subscribe("t", "g", async () => {})).rejects.toThrow("bus is closed");
    expect(await bus.ping()).toBe(false);
  });
});
