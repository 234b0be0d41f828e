import type { OpenAPIHono } from "@hono/zod-openapi";
import type { z } from "zod";
import type { Admission } from "./admission/admission";
import type { Bus } from "./bus/bus";
import type { QueueBoundsSettings, RetentionSettings } from "./config";
import type { Database } from "./db";
import type { AuthPolicy } from "./http/auth";
import type { Logger } from "./logger";
import type { DeadLetterStore } from "./messaging/dead-letters/dead-letter-store";
import type { Metrics } from "./metrics";
import type { Tracing } from "./tracing/tracing";

/** What the composition root hands a module's door: its own database, the bus, a logger. */
export interface ModulePorts {
  /**
   * This module's database only (a `Database`; its `kysely` is what code calls `db`); the module
   * gives it its table types (`database.kysely.withSchema`).
   */
  database: Database<any>;
  bus: Bus;
  logger: Logger;
  /** The process's metrics: the module registers its outbox and counts what it consumes. */
  metrics: Metrics;
  /** Who may do what (AUTH): `auth.protect(route)` and `auth.assertMayActFor(c, userId)` in the routes. */
  auth: AuthPolicy;
  /** How long processed rows are kept (the module's retention job deletes what is older). */
  retention: RetentionSettings;
  /**
   * The process's bounded queues: a module builds each queue in front of a shared resource here
   * (watched in /metrics and /health/ready), with the bounds below. Absent (in tests): a registry
   * of the module's own and the default bounds.
   */
  admission?: Admission;
  queueBounds?: QueueBoundsSettings;
  /**
   * The process's tracing: what a module's HTTP routes capture to store with their
   * outbox rows. Absent or `tracingOff` when tracing is off.
   */
  tracing?: Tracing;
}

/**
 * A module's own environment variables: a zod object of them (parsed with `shared/settings.ts`,
 * with their defaults and the checks between them, each issue on the variable to change), piped
 * into the settings its `create` takes. `loadConfig` composes it with the shared variables.
 */
export type ModuleSettingsSchema<Settings> = z.ZodPipe<z.ZodObject, z.ZodType<Settings, any>>;

/**
 * How a module describes itself to the composition root (exported from its `index.ts`): its name
 * (MODE, `<NAME>_DATABASE_URL`, its PGlite directory), its own settings, and its door.
 */
export interface ModuleDefinition<Settings = unknown> {
  readonly name: string;
  readonly settings: ModuleSettingsSchema<Settings>;
  /** PORT's default for a process that runs this module alone (8080 when absent). */
  readonly defaultPort?: number;
  /** Where a browser reaches this module when another process runs it, if its settings say. */
  publicUrl?(settings: Settings): string | undefined;
  /** The door: builds the module from the process's ports and its resolved settings. */
  create(ports: ModulePorts, settings: Settings): Module;
}

/** What a module's door returns: the one thing main.ts knows about a bounded context. */
export interface Module {
  readonly name: string;
  /** Mounted on the root app with `app.route("/", routes)`; declare paths in lower case. */
  readonly routes: OpenAPIHono;
  /** The dead letters of what it consumes, for the admin routes the process serves once for all modules. */
  readonly deadLetters?: DeadLetterStore;
  /** Migrates, then starts relays and consumers. Resolves once the module can serve. */
  start(): Promise<void>;
  /** Stops consumers and relays, letting in-flight work finish; leaves db and bus open. */
  stop(): Promise<void>;
}
