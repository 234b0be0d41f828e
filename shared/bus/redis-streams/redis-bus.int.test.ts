import { RedisBus } from "./redis-bus";
import { busContract } from "../testing/bus-contract";
import { deleteRedisKeys, testRedisUrl } from "../../testing/redis";


busContract("redis", {
  features: { persistent: true, consumerGroups: true, orderedPerKey: true, broadcast: true },
  // Short leases and blocking reads so takeovers and closes happen within a test's patience.
  create: async ({ namespace, retryPolicy }) =>
    new RedisBus({ url: testRedisUrl, prefix: `${namespace}:`, leaseMs: 1_000, blockMs: 200, retryPolicy }),
  takeoverTimeoutMs: 10_000,
  cleanup: (namespace) => deleteRedisKeys(`${namespace}:`, testRedisUrl),
});
