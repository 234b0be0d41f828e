import type { Bus } from "./bus";
import type { BusObserver, RetryPolicy } from "./delivery";
import type { BusLogger } from "./logger";

export * from "./bus";
export { defaultRetryPolicy, type BusObserver, type RetryPolicy } from "./delivery";
export type { BusLogger } from "./logger";

export type BusConfig =
  | { kind: "memory" }
  | {
      kind: "redis";
      url: string;
      prefix?: string;
      /** Partition lease (RedisBusOptions.leaseMs): a dead member's partitions move within about 4/3 of it. */
      leaseMs?: number;
    }
  | {
      kind: "kafka";
      brokers: string[];
      clientId: string;
      ssl: boolean;
      sasl?: { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string };
    };

/**
 * Builds the bus the configuration names. Adapters are loaded on demand, so a process on the
 * memory bus never loads ioredis or kafkajs.
 */
export async function createBus(
  config: BusConfig,
  options: { logger?: BusLogger; retryPolicy?: RetryPolicy; observer?: BusObserver } = {},
): Promise<Bus> {
  switch (config.kind) {
    case "memory": {
      const { MemoryBus } = await import("./memory/memory-bus");
      return new MemoryBus(options);
    }
    case "redis": {
      const { RedisBus } = await import("./redis-streams/redis-bus");
      return new RedisBus({ url: config.url, prefix: config.prefix, ...(config.leaseMs && { leaseMs: config.leaseMs }), ...options });
    }
    case "kafka": {
      const { createKafkaBus } = await import("./kafka");
      return createKafkaBus({ ...config, ...options });
    }
  }
}
