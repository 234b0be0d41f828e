import { join } from "node:path";
import { Admission } from "./admission/admission";
import { EventLoopDelay } from "./admission/event-loop-delay";
import { createBus } from "./bus";
import type { Config } from "./config";
import { createDatabase } from "./db";
import { authRoutes, createAuthPolicy } from "./http/auth";
import { createApp, type ReadinessProbe } from "./http/create-app";
import { servicesRoutes } from "./http/services";
import { webSocketHandler } from "./http/websockets";
import { createLogger, type Logger } from "./logger";
import type { DeadLetterStore } from "./messaging/dead-letters/dead-letter-store";
import { deadLetterRoutes } from "./messaging/dead-letters/dead-letters.routes";
import { Metrics } from "./metrics";
import type { ModuleDefinition } from "./module";
import { envelopeIdOf } from "./contracts/envelope";
import { tracingOff } from "./tracing/tracing";

export interface RunningServer {
  /** The port actually bound (differs from config.port when that is 0). */
  readonly port: number;
  /** Stops HTTP, then the modules, then closes the bus and the databases. Rejects if any step failed. */
  stop(): Promise<void>;
}

/**
 * Builds and starts one process from its configuration: a database per module (its own PGlite
 * directory, or PostgreSQL), one bus, the modules of the mode behind one app, and the HTTP server.
 * `modules` are the definitions the configuration was loaded with (main.ts hands them in: shared/
 * never imports a module). If any step fails, what was already started is stopped again before
 * the error is rethrown.
 */
export async function startServer(config: Config, modules: readonly ModuleDefinition[], options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, traceIds: config.tracing !== undefined });
  if (config.auth.kind === "none") {
    logger.warn("AUTH=none: requests are not authenticated; any caller may act for any user (set AUTH=jwt in production)");
  }
  // Undone in reverse: server, modules, bus (its in-flight handlers may still use a database), databases.
  const cleanups: { what: string; run: () => Promise<void> }[] = [];
  const stop = async () => {
    const failures: unknown[] = [];
    for (const { what, run } of cleanups.splice(0).reverse()) {
      await run().catch((error: unknown) => {
        logger.error(`stopping ${what} failed`, { error });
        failures.push(error);
      });
    }
    if (failures.length > 0) throw new AggregateError(failures, "shutdown was not clean");
  };

  try {
    // First in, so last out: the spans of everything else's shutdown are still exported. The SDK
    // is loaded only when tracing is on.
    const tracing = config.tracing
      ? (await import("./tracing/start-tracing")).startTracing(config.tracing, {
          logger: logger.child({ component: "tracing" }),
          busSystem: config.bus.kind,
          messageIdOf: envelopeIdOf,
        })
      : tracingOff;
    cleanups.push({ what: "tracing", run: () => tracing.shutdown() });
    const databases = [];
    for (const name of config.modules) {
      const definition = modules.find((module) => module.name === name);
      if (!definition) throw new Error(`no module named ${name} among ${modules.map((module) => module.name).join(", ")}`);
      const database = await createDatabase({ url: config.databaseUrls[name], dataDir: join(config.dataDir, name) });
      cleanups.push({ what: `${name} database`, run: () => database.close() });
      databases.push({ name, definition, database });
    }
    const metrics = new Metrics();
    // Started before the modules, so a loop made late by their start-up has settled by the first request.
    const eventLoopDelay = new EventLoopDelay();
    eventLoopDelay.start();
    cleanups.push({ what: "event loop monitor", run: async () => eventLoopDelay.stop() });
    const admission = new Admission({ eventLoop: { delay: eventLoopDelay, maxDelayMs: config.queueBounds.maxEventLoopDelayMs } });
    metrics.watchEventLoopDelay(() => eventLoopDelay.delayMs);
    metrics.watchQueues(() => admission.states());
    for (const { name, database } of databases) admission.watch(`${name}-database`, () => database.waitingForConnection());
    // With tracing off this is the bus itself: no wrapper on the hot path.
    const bus = tracing.instrumentBus(await createBus(config.bus, { logger: logger.child({ component: "bus" }), observer: metrics.busObserver() }));
    cleanups.push({ what: "bus", run: () => bus.close() });

    const readiness: Record<string, ReadinessProbe> = { bus: () => bus.ping() };
    for (const { name, database } of databases) readiness[`${name} database`] = () => database.ping();
    // The page calls the other module's API there when this process does not run it (PAYMENTS_PUBLIC_URL).
    const connectSources = Object.values(config.publicUrls).flatMap((url) => (url ? [new URL(url).origin] : []));
    const app = createApp({ logger, readiness, metrics, admission, corsOrigins: config.corsOrigins, connectSources, serverSpans: tracing.httpMiddleware() });
    const auth = createAuthPolicy(config.auth, { logger: logger.child({ component: "auth" }) });
    app.route("/", authRoutes(auth));
    app.route("/", servicesRoutes(config.publicUrls));
    const deadLetterStores: DeadLetterStore[] = [];
    for (const { name, definition, database } of databases) {
      const ports = { database, bus, logger: logger.child({ module: name }), metrics, auth, retention: config.retention, admission, queueBounds: config.queueBounds, tracing };
      const module = definition.create(ports, config.moduleSettings[name]);
      app.route("/", module.routes);
      if (module.deadLetters) deadLetterStores.push(module.deadLetters);
      await module.start();
      cleanups.push({ what: `${name} module`, run: () => module.stop() });
    }
    // One admin route set over every module's dead letters (in mono, listed together).
    if (deadLetterStores.length > 0) app.route("/", deadLetterRoutes(deadLetterStores, auth));

    const server = Bun.serve({ port: config.port, fetch: app.fetch, websocket: webSocketHandler });
    cleanups.push({ what: "HTTP server", run: () => stopServing(server) });
    const databaseKinds = [...new Set(databases.map(({ database }) => database.kind))].join("+");
    logger.info(`listening on :${server.port} (mode=${config.mode}, bus=${config.bus.kind}, db=${databaseKinds})`, {
      port: server.port,
      modules: config.modules,
    });
    return { port: server.port ?? config.port, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/** Requests in flight get a grace period to finish; then what is still open (WebSockets) is closed (1001). */
async function stopServing(server: Bun.Server<unknown>, graceMs = 3_000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([server.stop(), grace]);
  clearTimeout(timer);
  await server.stop(true);
}
