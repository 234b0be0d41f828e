import Redis from "ioredis";

/** The Redis every test uses, each under a key prefix of its own; `TEST_REDIS_URL` overrides it. */
export const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A fresh key prefix for one test's keys, `gozon-test-<8 hex>:`. */
export const testRedisPrefix = (): string => `gozon-test-${crypto.randomUUID().slice(0, 8)}:`;

/**
 * Deletes every key under `prefix` (a test's or a bench run's own, so nothing else is touched).
 * SCAN, never KEYS, so a Redis shared with others is not blocked, and UNLINK,
 * so large streams are freed off Redis's main thread.
 */
export async function deleteRedisKeys(prefix: string, url = testRedisUrl): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1_000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * A key prefix of the test file's own and a client on the machine's Redis; `cleanup` (in
 * afterAll) removes every key under the prefix and disconnects.
 */
export function redisForTest(): { prefix: string; redis: Redis; cleanup(): Promise<void> } {
  const prefix = testRedisPrefix();
  const redis = new Redis(testRedisUrl);
  return {
    prefix,
    redis,
    async cleanup() {
      redis.disconnect();
      await deleteRedisKeys(prefix);
    },
  };
}
