import { afterAll, expect, test } from "bun:test";
import { eventually } from "../testing/eventually";
import { redisForTest, testRedisUrl } from "../testing/redis";
import { createBus } from "./index";

const { prefix, redis, cleanup } = redisForTest();
afterAll(cleanup);

test("the configured partition lease is the one the Redis bus takes its partitions with", async () => {
  const bus = await createBus({ kind: "redis", url: testRedisUrl, prefix, leaseMs: 1_500 });
  try {
    await bus.subscribe("leased", "group", async () => {});
    const leases = () => redis.keys(`${prefix}leased:group:lease:*`);
    await eventually(async () => (await leases()).length > 0, 5_000, "the member to take its partitions");
    for (const key of await leases()) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1_500);
    }
  } finally {
    await bus.close();
  }
});
