/**
 * Composition root: configuration → databases, bus, the modules of this MODE → one HTTP server.
 * Stops cleanly on SIGINT/SIGTERM (exit 0); a bad configuration is one line on stderr (exit 1).
 */
import { ordersModule } from "./modules/orders/index";
import { paymentsModule } from "./modules/payments/index";
import { ConfigError, loadConfig, type Config } from "./shared/config";
import { createLogger } from "./shared/logger";
import { startServer } from "./shared/server";

/** The modules this codebase has; MODE picks which of them this process runs. */
const modules = [ordersModule, paymentsModule];

let config: Config;
try {
  config = loadConfig(process.env, modules);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, traceIds: config.tracing !== undefined });
// Handlers first: a supervisor may stop the process while it is still starting (PGlite takes seconds).
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
const starting = startServer(config, modules, { logger });
starting.catch((error: unknown) => {
  logger.error("start-up failed", { error });
  process.exit(1);
});

const shutdownDeadlineMs = 15_000;
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    logger.warn(`${signal} again: exiting without waiting`);
    process.exit(1);
  }
  stopping = true;
  logger.info(`${signal}: shutting down`);
  // Asked during start-up: what is starting is stopped once it is up (a failed start exits 1 above).
  const server = await starting;
  setTimeout(() => {
    logger.error(`shutdown took longer than ${shutdownDeadlineMs} ms: exiting`);
    process.exit(1);
  }, shutdownDeadlineMs).unref();
  try {
    await server.stop();
    logger.info("stopped");
    process.exit(0);
  } catch {
    process.exit(1);
  }
}
