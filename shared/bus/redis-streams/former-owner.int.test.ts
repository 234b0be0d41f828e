import { afterAll, expect, test } from "bun:test";
import { eventually } from "../../testing/eventually";
import { redisForTest, testRedisUrl } from "../../testing/redis";
import { RedisBus } from "./redis-bus";
import { entryFields, StreamKeys } from "./stream-entries";

const { prefix, redis, cleanup } = redisForTest();
afterAll(cleanup);

// A member whose lease lapsed while it was alive (a stall longer than the lease) may still be
// handed entries after the new owner took the partition over and claimed what was pending then:
// its read in flight is served, or it reads once more before its heartbeat notices. If it then
// stops (or dies) without acknowledging them, the new owner must still get them.
test("entries delivered to a former owner after the takeover are claimed by the partition's owner", async () => {
  const bus = new RedisBus({ url: testRedisUrl, prefix, partitions: 1, leaseMs: 1_000, blockMs: 200 });
  const handled: string[] = [];
  try {
    await bus.subscribe("t", "g", async (message) => void handled.push(message.value));
    await bus.publish("t", [{ key: "k", value: "first" }]);
    await eventually(() => handled.includes("first"), 5_000, "the owner to handle the first entry");

    // The former owner's read, served in one transaction with the append: the owner never sees the entry as new.
    const stream = new StreamKeys(prefix, 1).stream("t", 0);
    await redis
      .multi()
      .call("XADD", stream, "*", ...entryFields({ key: "k", value: "stray" }))
      .call("XREADGROUP", "GROUP", "g", "former-owner", "COUNT", 10, "STREAMS", stream, ">")
      .exec();
    expect(((await redis.call("XPENDING", stream, "g")) as [number, ...unknown[]])[0]).toBe(1); // pending on the former owner

    await eventually(() => handled.includes("stray"), 10_000, "the owner to claim and handle the former owner's entry");
    await eventually(async () => ((await redis.call("XPENDING", stream, "g")) as [number])[0] === 0, 5_000, "the entry to be acknowledged");
    expect(handled).toEqual(["first", "stray"]);
  } finally {
    await bus.close();
  }
});
