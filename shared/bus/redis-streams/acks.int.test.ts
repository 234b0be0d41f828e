import { afterAll, expect, test } from "bun:test";
import { eventually } from "../../testing/eventually";
import { redisForTest, testRedisUrl } from "../../testing/redis";
import { RedisBus } from "./redis-bus";
import { StreamKeys } from "./stream-entries";

const { prefix, redis, cleanup } = redisForTest();
afterAll(cleanup);

const pendingOf = async (stream: string) => ((await redis.call("XPENDING", stream, "g")) as [number])[0];

// Acks ride with the member's next read. That read is sent as soon as a batch is handled, so the
// acks must not wait for the next message to arrive: a quiet topic still ends with nothing pending.
test("handled entries are acknowledged while the topic stays quiet, and a partition handed back leaves none pending", async () => {
  const keys = new StreamKeys(prefix, 2);
  const first = new RedisBus({ url: testRedisUrl, prefix, partitions: 2, leaseMs: 1_000, blockMs: 5_000 });
  const second = new RedisBus({ url: testRedisUrl, prefix, partitions: 2, leaseMs: 1_000, blockMs: 5_000 });
  const handled: string[] = [];
  try {
    await first.subscribe("t", "g", async (message) => void handled.push(message.value));
    const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `m${i}` }));
    await first.publish("t", messages);
    await eventually(() => handled.length === 20, 5_000, "the first member to handle all twenty");
    // The next read blocks for up to 5 s with no new entries: the acks went out with it.
    await eventually(async () => (await pendingOf(keys.stream("t", 0))) + (await pendingOf(keys.stream("t", 1))) === 0, 1_000, "nothing pending");

    // A second member joins: the first hands one partition back, acknowledging what it handled of it.
    await second.subscribe("t", "g", async (message) => void handled.push(`second:${message.value}`));
    let round = 0;
    await eventually(async () => {
      round++;
      await first.publish("t", messages.map((m) => ({ key: m.key, value: `${m.value}/${round}` })));
      await Bun.sleep(100);
      return handled.some((value) => value.startsWith("second:"));
    }, 10_000, "the second member to own a partition");
    await eventually(() => handled.length === 20 * (round + 1), 5_000, "every published message handled");
    await eventually(async () => (await pendingOf(keys.stream("t", 0))) + (await pendingOf(keys.stream("t", 1))) === 0, 2_000, "nothing pending after the hand-over");
    // Nothing came twice: what the first member handled of the handed-back partition was acknowledged.
    const values = handled.map((value) => value.replace(/^second:/, ""));
    expect(new Set(values).size).toBe(values.length);
  } finally {
    await second.close();
    await first.close();
  }
});
