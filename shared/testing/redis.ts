import Redis from "ioredis";

export const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Removes every key a test run wrote under its own prefix. */
export async function deleteRedisKeys(prefix: string, url = testRedisUrl): Promise<void> {
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

/**
 * A key prefix of the test file's own and a client on the machine's Redis; `cleanup` (in
 * afterAll) removes every key under the prefix and disconnects.
 */
export function redisForTest(): { prefix: string; redis: Redis; cleanup(): Promise<void> } {
  const prefix = `gozon-test-${crypto.randomUUID().slice(0, 8)}:`;
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
