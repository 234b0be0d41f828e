import Redis from "ioredis";
import { RedisBus } from "./redis-bus";
import { busContract } from "../testing/bus-contract";

const url = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

busContract("redis", {
  features: { persistent: true, consumerGroups: true, orderedPerKey: true, broadcast: true },
  // Short leases and blocking reads so takeovers and closes happen within a test's patience.
  create: async ({ namespace, retryPolicy }) =>
    new RedisBus({ url, prefix: `${namespace}:`, leaseMs: 1_000, blockMs: 200, retryPolicy }),
  takeoverTimeoutMs: 10_000,
  async cleanup(namespace) {
    const redis = new Redis(url);
    const keys = await redis.keys(`${namespace}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  },
});
