import { afterAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { testRedisUrl, testRedisPrefix } from "../../testing/redis";
import { trimConsumed } from "./stream-entries";

const redis = new Redis(testRedisUrl);
const stream = `${testRedisPrefix()}trim:0`;
afterAll(async () => {
  await redis.del(stream);
  await redis.quit();
});

test("trimming drops only what every group has acknowledged, never a pending or unread entry", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await redis.xadd(stream, "*", "v", String(i)))!);
  await redis.call("XGROUP", "CREATE", stream, "fast", "0");
  await redis.call("XGROUP", "CREATE", stream, "slow", "0");
  // "fast" reads all six and acknowledges the first four; "slow" reads two and acknowledges one.
  await redis.call("XREADGROUP", "GROUP", "fast", "c", "COUNT", 6, "STREAMS", stream, ">");
  await redis.call("XACK", stream, "fast", ...ids.slice(0, 4));
  await redis.call("XREADGROUP", "GROUP", "slow", "c", "COUNT", 2, "STREAMS", stream, ">");
  await redis.call("XACK", stream, "slow", ids[0]!);

  await trimConsumed(redis, stream);
  const left = (await redis.xrange(stream, "-", "+")).map(([id]) => id);
  expect(left).toEqual(ids.slice(1)); // ids[1] is still pending for "slow"
});

test("entries acknowledged between XINFO and XPENDING do not break the trim (it used to send XTRIM MINID null)", async () => {
  const raced = `${stream}-raced`;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await redis.xadd(raced, "*", "v", String(i)))!);
  await redis.call("XGROUP", "CREATE", raced, "g", "0");
  await redis.call("XREADGROUP", "GROUP", "g", "c", "COUNT", 3, "STREAMS", raced, ">");
  // XINFO sees 3 pending; the consumer acknowledges them before XPENDING runs.
  const racing = new Proxy(redis, {
    get(target, property, receiver) {
      if (property !== "call") return Reflect.get(target, property, receiver);
      return async (command: string, ...args: (string | number)[]) => {
        if (command === "XPENDING") await target.call("XACK", raced, "g", ...ids);
        return target.call(command, ...args);
      };
    },
  });
  try {
    await trimConsumed(racing, raced);
    expect((await redis.xrange(raced, "-", "+")).map(([id]) => id)).toEqual(ids.slice(-1));
  } finally {
    await redis.del(raced);
  }
});
