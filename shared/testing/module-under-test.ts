import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Admission } from "../admission/admission";
import { websocket } from "hono/bun";
import type { Bus } from "../bus/bus";
import type { RetryPolicy } from "../bus/delivery";
import { MemoryBroker } from "../bus/memory/memory-broker";
import { MemoryBus } from "../bus/memory/memory-bus";
import { RedisBus } from "../bus/redis-streams/redis-bus";
import { loadConfig, type QueueBoundsSettings } from "../config";
import { createDatabase, type Database } from "../db";
import { createAuthPolicy } from "../http/auth";
import { createApp } from "../http/create-app";
import { createLogger } from "../logger";
import { Metrics } from "../metrics";
import type { Module, ModuleDefinition, ModulePorts } from "../module";
import { createTestDatabase } from "./postgres";
import { deleteRedisKeys, testRedisPrefix, testRedisUrl } from "./redis";

/** Retries short enough that a test sees a dead letter within a second. */
const retryPolicy: RetryPolicy = { maxAttempts: 3, baseBackoffMs: 10, maxBackoffMs: 50 };

/** One module started on a fresh PostgreSQL database, over its own bus, behind an app of its routes. */
export interface ModuleUnderTest<DB> {
  readonly database: Database<DB>;
  /** The test database's URL, for a connection of the test's own. */
  readonly databaseUrl: string;
  readonly bus: Bus;
  /** The running module (another one after `restart`). */
  readonly module: Module;
  /** The first module's routes behind the shared middleware (problem+json, limits). */
  readonly app: OpenAPIHono;
  /** An absolute URL of the served app (with `serve: true`). */
  url(path: string): string;
  /** Stops the module and starts a new one on the same database, with these ports instead. */
  restart(ports?: Partial<ModulePorts>): Promise<Module>;
  /** Stops the server, the module and the bus, and drops the database (and the bus's Redis keys). */
  stop(): Promise<void>;
}

export interface ModuleUnderTestOptions {
  /** An in-process bus of its own, or Redis Streams under a fresh key prefix. */
  bus: "memory" | "redis";
  /** Serves the app with Bun.serve on a free port (WebSockets included), for `url()`. */
  serve?: boolean;
  /** The module's own variables, as the environment would set them (default: none). */
  env?: Record<string, string>;
  /** The process's bounded queues: the module builds its queues there, the app refuses with them and /metrics shows them. */
  admission?: { admission: Admission; queueBounds: QueueBoundsSettings };
}

/**
 * Starts `definition`'s module as the integration tests exercise it: its settings as `env` (else an
 * empty environment) resolves them, default retention, no auth, a logger that prints only errors.
 */
export async function startModuleUnderTest<DB>(definition: ModuleDefinition<any>, options: ModuleUnderTestOptions): Promise<ModuleUnderTest<DB>> {
  const testDatabase = await createTestDatabase();
  const database = await createDatabase<DB>({ url: testDatabase.url, dataDir: "" });
  const prefix = testRedisPrefix();
  const bus: Bus =
    options.bus === "memory"
      ? new MemoryBus({ broker: new MemoryBroker(), retryPolicy })
      : new RedisBus({ url: testRedisUrl, prefix, leaseMs: 1_000, blockMs: 200, retryPolicy });
  const logger = createLogger({ level: "error" });
  const config = loadConfig(options.env ?? {}, [definition]);
  const admission = options.admission?.admission;
  const portsOf = (overrides: Partial<ModulePorts> = {}, metrics = new Metrics()): ModulePorts => ({
    database,
    bus,
    logger,
    metrics,
    auth: createAuthPolicy({ kind: "none" }),
    retention: config.retention,
    ...options.admission,
    ...overrides,
  });
  const metrics = new Metrics();
  if (admission) metrics.watchQueues(() => admission.states());
  let module = definition.create(portsOf({}, metrics), config.moduleSettings[definition.name]);
  await module.start();
  const app = createApp({ logger, metrics, admission });
  app.route("/", module.routes);
  const server = options.serve ? Bun.serve({ port: 0, fetch: app.fetch, websocket }) : undefined;
  return {
    database,
    databaseUrl: testDatabase.url,
    bus,
    get module() {
      return module;
    },
    app,
    url(path) {
      if (!server) throw new Error("startModuleUnderTest: url() needs serve: true");
      return new URL(path, server.url).toString();
    },
    async restart(ports) {
      await module.stop();
      module = definition.create(portsOf(ports), config.moduleSettings[definition.name]);
      await module.start();
      return module;
    },
    async stop() {
      await server?.stop(true);
      await module.stop();
      await bus.close();
      await database.close();
      await testDatabase.drop();
      if (options.bus === "redis") await deleteRedisKeys(prefix);
    },
  };
}
