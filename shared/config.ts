import { z } from "zod";
import type { QueueBounds } from "./admission/bounded-queue";
import type { BusConfig } from "./bus";
import { durationSetting, parseDuration } from "./duration";
import { logLevels, type LogLevel } from "./logger";
import type { ModuleDefinition } from "./module";
import { count, oneOf, queueWait, urlWith } from "./settings";
import { checkTracing, resolveTracing, tracingVariables, type TracingSettings } from "./tracing/tracing-settings";

/**
 * The one schema over the environment (docs/architecture.md#settings), composed of the shared
 * settings below and each module's own (`ModuleDefinition.settings`). `loadConfig` validates every
 * variable it knows, applies the per-mode defaults and returns a resolved, typed `Config`; a bad
 * value throws a `ConfigError` whose message is one line naming the variable, its value (never a
 * secret) and what it accepts. Empty strings count as unset. Nothing else in the code reads
 * `process.env`.
 */

const busKinds = ["memory", "redis", "kafka"] as const;
const saslMechanisms = ["plain", "scram-sha-256", "scram-sha-512"] as const;

export type AuthConfig =
  | { kind: "none" }
  | {
      kind: "jwt";
      key: { secret: string } | { jwksUrl: string };
      issuer?: string;
      audience?: string;
      /** The longest lifetime (`exp - iat`) a token may have, in ms (JWT_MAX_TTL). */
      maxTtlMs: number;
      /** How far the issuer's clock and this one may disagree when `exp`, `nbf` and `iat` are checked, in ms (JWT_CLOCK_SKEW). */
      clockSkewMs: number;
    };

/** The defaults of the token-time settings, as an operator would write them. */
export const jwtTimeDefaults = { JWT_MAX_TTL: "24h", JWT_CLOCK_SKEW: "30s" } as const;

/** How long processed rows are kept (docs/architecture.md#operations, retention), in milliseconds. */
export interface RetentionSettings {
  /** Inbox rows: while one is kept, a redelivered message is recognised and skipped. */
  inboxMs: number;
  /** Idempotency-Key rows: a key reused after this is a new request. */
  idempotencyKeyMs: number;
  /** Published outbox rows (unpublished ones are never deleted). */
  outboxMs: number;
  /** Redriven or discarded dead letters (pending ones are never deleted). */
  deadLetterMs: number;
}

/** Bounds of the queues in front of shared resources (a request past them is refused with 503). */
export interface QueueBoundsSettings {
  /** While the event loop runs this late (ms, smoothed), new requests are refused (MAX_EVENT_LOOP_DELAY). */
  maxEventLoopDelayMs: number;
  /** API requests waiting for a module's database (REQUEST_MAX_QUEUE, REQUEST_MAX_WAIT). */
  requests: QueueBounds;
}

/** The defaults of the queue bounds (README: "Under overload"). */
export const defaultQueueBounds: QueueBoundsSettings = {
  maxEventLoopDelayMs: 100,
  requests: { maxQueue: 200, maxWaitMs: 500 },
};

/** The defaults of the retention settings, as an operator would write them. */
export const retentionDefaults = { INBOX_RETENTION: "7d", IDEMPOTENCY_KEY_RETENTION: "24h", OUTBOX_RETENTION: "1h", DEAD_LETTER_RETENTION: "30d" } as const;

export interface Config {
  /** `mono` (every module) or the name of the one module this process runs. */
  mode: string;
  /** The modules this process runs: all in mono, one in a split mode. */
  modules: string[];
  port: number;
  /** Parent of each module's PGlite directory (`<dataDir>/<module>`). */
  dataDir: string;
  /** PostgreSQL URL per module (`<NAME>_DATABASE_URL`, else DATABASE_URL); undefined means embedded PGlite. */
  databaseUrls: Record<string, string | undefined>;
  bus: BusConfig;
  /** Where browsers reach each module's API: "" for this process's own, a URL, or null if unknown. */
  publicUrls: Record<string, string | null>;
  /** Browser origins allowed to call this process's /api routes, and open its WebSockets, from another origin (CORS). */
  corsOrigins: string[];
  auth: AuthConfig;
  retention: RetentionSettings;
  /** Each module's own settings by module name, as its definition resolved them; handed to its `create`. */
  moduleSettings: Record<string, unknown>;
  /** The bounds of the queues in front of shared resources; past them a request is refused with 503. */
  queueBounds: QueueBoundsSettings;
  logLevel: LogLevel;
  /** OpenTelemetry; undefined when no OTLP endpoint is set: tracing off. */
  tracing: TracingSettings | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Variables whose values are never echoed in an error. */
const secretVariables = new Set(["KAFKA_SASL_PASSWORD", "JWT_SECRET"]);

/** Hosts whose traffic never leaves the machine: there, plain http:// cannot be read or altered on the way. */
const loopbackHosts = new Set(["127.0.0.1", "[::1]", "localhost"]);
const jwksUrl = urlWith(["https:", "http:"], "JWKS").refine(
  (value) => !URL.canParse(value) || new URL(value).protocol === "https:" || loopbackHosts.has(new URL(value).hostname),
  "expected an https:// URL (http:// only on 127.0.0.1, [::1] or localhost): the keys that sign tokens must not be fetched where they can be altered on the way",
);

const portMessage = "expected an integer from 0 to 65535";
const port = z
  .string()
  .regex(/^\d{1,5}$/, portMessage)
  .transform(Number)
  .refine((value) => value <= 65_535, portMessage);

const brokerPattern = /^(\[[0-9a-f:.]+\]|[^\s:[\]]+):\d{1,5}$/i;
const brokers = z
  .string()
  .transform((value) => value.split(",").map((broker) => broker.trim()).filter(Boolean))
  .refine((list) => list.length > 0 && list.every((broker) => brokerPattern.test(broker)), "expected a comma list of host:port");

/** `https://shop.example` or `http://localhost:8080`: scheme, host and port, nothing else. */
const isOrigin = (text: string) =>
  URL.canParse(text) && ["http:", "https:"].includes(new URL(text).protocol) && new URL(text).origin === text.replace(/\/$/, "").toLowerCase();
const origins = z
  .string()
  .transform((value) => value.split(",").map((origin) => origin.trim()).filter(Boolean))
  .refine((list) => list.length > 0 && list.every(isOrigin), "expected a comma list of origins like https://shop.example or http://localhost:8080 (scheme, host and port only)")
  .transform((list) => list.map((origin) => new URL(origin).origin));

const postgresUrl = urlWith(["postgres:", "postgresql:"], "PostgreSQL");

/** The shared variables; MODE and the per-module database URLs are added from the module list. */
const sharedVariables = {
  PORT: port.optional(),
  DATA_DIR: z.string().default("./.data"),
  DATABASE_URL: postgresUrl.optional(),
  BUS: oneOf(busKinds).optional(),
  REDIS_URL: urlWith(["redis:", "rediss:"], "Redis").default("redis://127.0.0.1:6379"),
  // Several systems (or test runs) can share one Redis: every key of this one starts with it.
  REDIS_PREFIX: z.string().regex(/^[\w:.-]{1,64}$/, "expected 1 to 64 letters, digits or _ : . -").default("gozon:"),
  // How long a dead member's partitions stay with it; members renew every third of it, so below 1 s a busy process could lose them.
  REDIS_PARTITION_LEASE: durationSetting.refine((ms) => ms >= 1_000, "expected at least 1s (members renew their leases every third of it)").optional(),
  // Past either bound of a queue, a request is refused at once with 503 and Retry-After.
  REQUEST_MAX_QUEUE: count.optional(),
  REQUEST_MAX_WAIT: queueWait.optional(),
  // While the event loop's smoothed lateness is past it, every queue refuses new requests.
  MAX_EVENT_LOOP_DELAY: durationSetting.refine((ms) => ms <= 10_000, "expected at most 10s").optional(),
  KAFKA_BROKERS: brokers.default(["127.0.0.1:9092"]),
  KAFKA_SSL: z
    .stringbool({ truthy: ["true", "1", "yes", "on"], falsy: ["false", "0", "no", "off"], error: "expected true or false" })
    .default(false),
  KAFKA_SASL_MECHANISM: oneOf(saslMechanisms).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  CORS_ORIGINS: origins.default([]),
  AUTH: oneOf(["none", "jwt"]).default("none"),
  // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
  JWT_SECRET: z.string().min(32, "expected at least 32 characters (HS256 needs a 256-bit key)").optional(),
  JWT_JWKS_URL: jwksUrl.optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  // Token times are whole seconds.
  JWT_MAX_TTL: durationSetting.refine((ms) => ms >= 1_000, "expected at least 1s (token times are whole seconds)").optional(),
  // Beyond a few minutes the skew would stretch every token's lifetime by as much.
  JWT_CLOCK_SKEW: durationSetting.refine((ms) => ms <= 300_000, "expected at most 5m (every token is accepted this long past its exp)").optional(),
  LOG_LEVEL: oneOf(logLevels).default("info"),
  INBOX_RETENTION: durationSetting.optional(),
  IDEMPOTENCY_KEY_RETENTION: durationSetting.optional(),
  OUTBOX_RETENTION: durationSetting.optional(),
  DEAD_LETTER_RETENTION: durationSetting.optional(),
  ...tracingVariables,
};
const sharedEnvironment = z.object({ MODE: z.string(), ...sharedVariables });
type Environment = z.output<typeof sharedEnvironment> & Record<`${string}_DATABASE_URL`, string | undefined>;

/** `orders` → `ORDERS_DATABASE_URL`. */
const databaseUrlVariable = (module: string) => `${module.toUpperCase()}_DATABASE_URL`;

/** The shared variables for this list of modules: MODE names them, each has its database URL. */
function environmentOf(modules: readonly ModuleDefinition[]) {
  const modes = ["mono", ...modules.map((module) => module.name)] as [string, ...string[]];
  const databaseUrls = Object.fromEntries(modules.map((module) => [databaseUrlVariable(module.name), postgresUrl.optional()]));
  return z.object({ MODE: oneOf(modes).default("mono"), ...sharedVariables, ...databaseUrls });
}

/** Rules between variables; each issue is reported on the variable to change. */
function checkCombinations(env: Environment, context: z.RefinementCtx): void {
  const problem = (variable: keyof Environment, message: string) =>
    context.addIssue({ code: "custom", path: [variable], message });
  if (env.BUS === "memory" && env.MODE !== "mono") {
    problem("BUS", `expected redis or kafka with MODE=${env.MODE} (separate processes cannot share an in-memory bus)`);
  }
  if (env.KAFKA_SASL_MECHANISM) {
    if (!env.KAFKA_SASL_USERNAME) problem("KAFKA_SASL_USERNAME", "required when KAFKA_SASL_MECHANISM is set");
    if (!env.KAFKA_SASL_PASSWORD) problem("KAFKA_SASL_PASSWORD", "required when KAFKA_SASL_MECHANISM is set");
  } else if (env.KAFKA_SASL_USERNAME || env.KAFKA_SASL_PASSWORD) {
    problem("KAFKA_SASL_MECHANISM", `expected one of ${saslMechanisms.join(", ")} when a SASL username or password is set`);
  }
  if (env.AUTH === "jwt" && !env.JWT_SECRET && !env.JWT_JWKS_URL) {
    problem("AUTH", "needs JWT_SECRET or JWT_JWKS_URL to verify tokens");
  }
  if (env.JWT_SECRET && env.JWT_JWKS_URL) {
    problem("JWT_JWKS_URL", "expected only one of JWT_SECRET or JWT_JWKS_URL");
  }
  // An identity provider signs tokens for many applications with the same keys: without these
  // checks, a token it issued for another application (or by another of its issuers) would pass.
  if (env.JWT_JWKS_URL && !env.JWT_ISSUER) problem("JWT_ISSUER", "required with JWT_JWKS_URL: the iss of the identity provider's tokens");
  if (env.JWT_JWKS_URL && !env.JWT_AUDIENCE) problem("JWT_AUDIENCE", "required with JWT_JWKS_URL: the aud the identity provider puts in tokens for this service");
  checkTracing(env, problem);
}

function resolve(env: Environment, definitions: readonly ModuleDefinition[], moduleSettings: Record<string, unknown>): Config {
  const modules = env.MODE === "mono" ? definitions.map((module) => module.name) : [env.MODE];
  const only = definitions.find((module) => module.name === env.MODE);
  return {
    mode: env.MODE,
    modules,
    port: env.PORT ?? only?.defaultPort ?? 8080,
    dataDir: env.DATA_DIR,
    databaseUrls: Object.fromEntries(definitions.map(({ name }) => [name, env[databaseUrlVariable(name) as `${string}_DATABASE_URL`] ?? env.DATABASE_URL])),
    bus: resolveBus(env),
    publicUrls: Object.fromEntries(
      definitions.map((module) => [module.name, modules.includes(module.name) ? "" : (module.publicUrl?.(moduleSettings[module.name]) ?? null)]),
    ),
    corsOrigins: env.CORS_ORIGINS,
    auth: resolveAuth(env),
    retention: resolveRetention(env),
    moduleSettings,
    queueBounds: {
      maxEventLoopDelayMs: env.MAX_EVENT_LOOP_DELAY ?? defaultQueueBounds.maxEventLoopDelayMs,
      requests: { maxQueue: env.REQUEST_MAX_QUEUE ?? defaultQueueBounds.requests.maxQueue, maxWaitMs: env.REQUEST_MAX_WAIT ?? defaultQueueBounds.requests.maxWaitMs },
    },
    logLevel: env.LOG_LEVEL,
    tracing: resolveTracing(env, env.MODE === "mono" ? "gozon" : `gozon-${env.MODE}`),
  };
}

function resolveBus(env: Environment): BusConfig {
  switch (env.BUS ?? (env.MODE === "mono" ? "memory" : "redis")) {
    case "memory":
      return { kind: "memory" };
    case "redis":
      return { kind: "redis", url: env.REDIS_URL, prefix: env.REDIS_PREFIX, ...(env.REDIS_PARTITION_LEASE && { leaseMs: env.REDIS_PARTITION_LEASE }) };
    case "kafka": {
      const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = env;
      const sasl = mechanism && username && password ? { mechanism, username, password } : undefined;
      return { kind: "kafka", brokers: env.KAFKA_BROKERS, clientId: `gozon-${env.MODE}`, ssl: env.KAFKA_SSL, ...(sasl && { sasl }) };
    }
  }
}

function resolveRetention(env: Environment): RetentionSettings {
  const setting = (name: keyof typeof retentionDefaults) => env[name] ?? parseDuration(retentionDefaults[name])!;
  return {
    inboxMs: setting("INBOX_RETENTION"),
    idempotencyKeyMs: setting("IDEMPOTENCY_KEY_RETENTION"),
    outboxMs: setting("OUTBOX_RETENTION"),
    deadLetterMs: setting("DEAD_LETTER_RETENTION"),
  };
}

function resolveAuth(env: Environment): AuthConfig {
  if (env.AUTH === "none") return { kind: "none" };
  const key = env.JWT_SECRET ? { secret: env.JWT_SECRET } : { jwksUrl: env.JWT_JWKS_URL ?? "" };
  return {
    kind: "jwt",
    key,
    ...(env.JWT_ISSUER && { issuer: env.JWT_ISSUER }),
    ...(env.JWT_AUDIENCE && { audience: env.JWT_AUDIENCE }),
    maxTtlMs: env.JWT_MAX_TTL ?? parseDuration(jwtTimeDefaults.JWT_MAX_TTL)!,
    clockSkewMs: env.JWT_CLOCK_SKEW ?? parseDuration(jwtTimeDefaults.JWT_CLOCK_SKEW)!,
  };
}

/**
 * Validates and resolves the environment: the shared settings, then each module's own, in the
 * order of `modules` (the composition root's list; without it, the shared settings alone).
 * Throws a one-line `ConfigError` on the first bad value.
 */
export function loadConfig(env: Record<string, string | undefined>, modules: readonly ModuleDefinition[] = []): Config {
  const shared = environmentOf(modules);
  const known = knownVariables(env, [shared, ...modules.map((module) => module.settings.in)]);
  const environment = parsed(shared.superRefine(checkCombinations), known) as Environment;
  const moduleSettings: Record<string, unknown> = {};
  for (const module of modules) moduleSettings[module.name] = parsed(module.settings, known);
  return resolve(environment, modules, moduleSettings);
}

/** The name of every variable `loadConfig(env, modules)` reads (README's settings table lists each). */
export function settingVariables(modules: readonly ModuleDefinition[]): string[] {
  return [environmentOf(modules), ...modules.map((module) => module.settings.in)].flatMap((variables) => Object.keys(variables.shape));
}

/** Every variable of these zod objects that is set, trimmed (secrets as given); empty counts as unset. */
function knownVariables(env: Record<string, string | undefined>, groups: z.ZodObject[]): Record<string, string> {
  const known: Record<string, string> = {};
  for (const name of groups.flatMap((variables) => Object.keys(variables.shape))) {
    const value = env[name];
    if (value === undefined || value.trim() === "") continue;
    known[name] = secretVariables.has(name) ? value : value.trim();
  }
  return known;
}

function parsed(settings: z.ZodType, known: Record<string, string>): unknown {
  const result = settings.safeParse(known);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? "environment");
  throw new ConfigError(`Invalid configuration: ${describe(name, known[name])} — ${issue?.message ?? "invalid"}`);
}

function describe(name: string, value: string | undefined): string {
  if (value === undefined) return `${name} is unset`;
  if (secretVariables.has(name)) return `${name} (value hidden)`;
  // URLs may carry a password (postgres://user:secret@host): mask it before echoing.
  const shown = value.replace(/\/\/.*@/, "//***@");
  return `${name}=${JSON.stringify(shown.length > 120 ? `${shown.slice(0, 120)}…` : shown)}`;
}
