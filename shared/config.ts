import { z } from "zod";
import type { QueueBounds } from "./admission/bounded-queue";
import type { BusConfig } from "./bus";
import { durationSetting, parseDuration } from "./duration";
import { logLevels, type LogLevel } from "./logger";
import { checkTracing, resolveTracing, tracingVariables, type TracingSettings } from "./tracing/tracing-settings";

/**
 * The one schema over the environment (DESIGN §4). `loadConfig` validates every variable it
 * knows, applies the per-mode defaults and returns a resolved, typed `Config`; a bad value throws
 * a `ConfigError` whose message is one line naming the variable, its value (never a secret) and
 * what it accepts. Empty strings count as unset. Nothing else in the code reads `process.env`.
 */

export const modes = ["mono", "orders", "payments"] as const;
export type Mode = (typeof modes)[number];
export type ModuleName = "orders" | "payments";
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

/** How long processed rows are kept (DESIGN §11), in milliseconds. */
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
  /** Orders waiting for the intake's group commit (ORDER_INTAKE_MAX_QUEUE, ORDER_INTAKE_MAX_WAIT). */
  orderIntake: QueueBounds;
  /** API requests waiting for a module's database (REQUEST_MAX_QUEUE, REQUEST_MAX_WAIT). */
  requests: QueueBounds;
}

/** The defaults of the queue bounds (README: "Under overload"). */
export const defaultQueueBounds: QueueBoundsSettings = {
  maxEventLoopDelayMs: 100,
  orderIntake: { maxQueue: 1_000, maxWaitMs: 500 },
  requests: { maxQueue: 200, maxWaitMs: 500 },
};

/** The defaults of the retention settings, as an operator would write them. */
export const retentionDefaults = { INBOX_RETENTION: "7d", IDEMPOTENCY_KEY_RETENTION: "24h", OUTBOX_RETENTION: "1h", DEAD_LETTER_RETENTION: "30d" } as const;

/** Caps on the live WebSockets of one process; one more is closed as soon as it opens, saying why. */
export interface WebSocketLimits {
  /** Open sockets per user (each tab or device of the status page is one). */
  perUser: number;
  /** Open sockets in all. */
  total: number;
}

/** WEBSOCKET_MAX_PER_USER and WEBSOCKET_MAX_TOTAL when unset. */
export const webSocketLimitDefaults: Readonly<WebSocketLimits> = { perUser: 10, total: 10_000 };

export interface Config {
  mode: Mode;
  /** The modules this process runs: both in mono, one in a split mode. */
  modules: ModuleName[];
  port: number;
  /** Parent of each module's PGlite directory (`<dataDir>/<module>`). */
  dataDir: string;
  /** PostgreSQL URL per module; undefined means embedded PGlite. */
  databaseUrls: Record<ModuleName, string | undefined>;
  bus: BusConfig;
  /** Where browsers reach each module's API: "" for this process's own, a URL, or null if unknown. */
  publicUrls: Record<ModuleName, string | null>;
  /** Browser origins allowed to call this process's /api routes, and open its WebSockets, from another origin (CORS). */
  corsOrigins: string[];
  auth: AuthConfig;
  webSocketLimits: WebSocketLimits;
  retention: RetentionSettings;
  /** Orders' group-commit window (ORDER_INTAKE_WINDOW) in ms; undefined: the intake's default (25 ms). */
  orderIntakeWindowMs: number | undefined;
  /** The bounds of the queues in front of shared resources; past them a request is refused with 503. */
  queueBounds: QueueBoundsSettings;
  logLevel: LogLevel;
  /** OpenTelemetry (DESIGN §13); undefined when no OTLP endpoint is set: tracing off. */
  tracing: TracingSettings | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Variables whose values are never echoed in an error. */
const secretVariables = new Set(["KAFKA_SASL_PASSWORD", "JWT_SECRET"]);

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (value) => (typeof value === "string" ? value.toLowerCase() : value),
    z.enum(values, { error: `expected one of ${values.join(", ")}` }),
  );

const urlWith = (protocols: string[], what: string) =>
  z.string().refine(
    (value) => URL.canParse(value) && protocols.includes(new URL(value).protocol),
    `expected a ${what} URL (${protocols.map((protocol) => `${protocol}//…`).join(" or ")})`,
  );

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

const countMessage = "expected a whole number from 1 to 1000000";
const count = z
  .string()
  .regex(/^\d{1,7}$/, countMessage)
  .transform(Number)
  .refine((value) => value >= 1 && value <= 1_000_000, countMessage);
const queueWait = durationSetting.refine((ms) => ms <= 60_000, "expected at most 60s (a request admitted under load may wait this long)");

const brokerPattern = /^(\[[0-9a-f:.]+\]|[^\s:[\]]+):\d{1,5}$/i;
const brokers = z
  .string()
  .transform((value) => value.split(",").map((broker) => broker.trim()).filter(Boolean))
  .refine((list) => list.length > 0 && list.every((broker) => brokerPattern.test(broker)), "expected a comma list of host:port");

const publicUrl = urlWith(["http:", "https:"], "web").transform((value) => value.replace(/\/+$/, ""));
/** `https://shop.example` or `http://localhost:8080`: scheme, host and port, nothing else. */
const isOrigin = (text: string) =>
  URL.canParse(text) && ["http:", "https:"].includes(new URL(text).protocol) && new URL(text).origin === text.replace(/\/$/, "").toLowerCase();
const origins = z
  .string()
  .transform((value) => value.split(",").map((origin) => origin.trim()).filter(Boolean))
  .refine((list) => list.length > 0 && list.every(isOrigin), "expected a comma list of origins like https://shop.example or http://localhost:8080 (scheme, host and port only)")
  .transform((list) => list.map((origin) => new URL(origin).origin));

const environment = z.object({
  MODE: oneOf(modes).default("mono"),
  PORT: port.optional(),
  DATA_DIR: z.string().default("./.data"),
  DATABASE_URL: urlWith(["postgres:", "postgresql:"], "PostgreSQL").optional(),
  ORDERS_DATABASE_URL: urlWith(["postgres:", "postgresql:"], "PostgreSQL").optional(),
  PAYMENTS_DATABASE_URL: urlWith(["postgres:", "postgresql:"], "PostgreSQL").optional(),
  BUS: oneOf(busKinds).optional(),
  REDIS_URL: urlWith(["redis:", "rediss:"], "Redis").default("redis://127.0.0.1:6379"),
  // Several systems (or test runs) can share one Redis: every key of this one starts with it.
  REDIS_PREFIX: z.string().regex(/^[\w:.-]{1,64}$/, "expected 1 to 64 letters, digits or _ : . -").default("gozon:"),
  // How long a dead member's partitions stay with it; members renew every third of it, so below 1 s a busy process could lose them.
  REDIS_PARTITION_LEASE: durationSetting.refine((ms) => ms >= 1_000, "expected at least 1s (members renew their leases every third of it)").optional(),
  // Orders' group-commit window: under load an order may wait this long for the orders placed with it.
  ORDER_INTAKE_WINDOW: durationSetting.refine((ms) => ms <= 1_000, "expected at most 1s (an order placed under load may wait this long)").optional(),
  // Past either bound of a queue, a request is refused at once with 503 and Retry-After.
  ORDER_INTAKE_MAX_QUEUE: count.optional(),
  ORDER_INTAKE_MAX_WAIT: queueWait.optional(),
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
  // The status page (orders) calls payments there when this process does not run payments itself.
  PAYMENTS_PUBLIC_URL: publicUrl.optional(),
  CORS_ORIGINS: origins.default([]),
  WEBSOCKET_MAX_PER_USER: count.default(webSocketLimitDefaults.perUser),
  WEBSOCKET_MAX_TOTAL: count.default(webSocketLimitDefaults.total),
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
});
type Environment = z.output<typeof environment>;

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
  if (env.WEBSOCKET_MAX_PER_USER > env.WEBSOCKET_MAX_TOTAL) {
    problem("WEBSOCKET_MAX_PER_USER", `expected at most WEBSOCKET_MAX_TOTAL (${env.WEBSOCKET_MAX_TOTAL})`);
  }
  checkTracing(env, problem);
}

function resolve(env: Environment): Config {
  const modules: ModuleName[] = env.MODE === "mono" ? ["orders", "payments"] : [env.MODE];
  return {
    mode: env.MODE,
    modules,
    port: env.PORT ?? (env.MODE === "payments" ? 8081 : 8080),
    dataDir: env.DATA_DIR,
    databaseUrls: {
      orders: env.ORDERS_DATABASE_URL ?? env.DATABASE_URL,
      payments: env.PAYMENTS_DATABASE_URL ?? env.DATABASE_URL,
    },
    bus: resolveBus(env),
    publicUrls: {
      orders: modules.includes("orders") ? "" : null,
      payments: modules.includes("payments") ? "" : (env.PAYMENTS_PUBLIC_URL ?? null),
    },
    corsOrigins: env.CORS_ORIGINS,
    auth: resolveAuth(env),
    webSocketLimits: { perUser: env.WEBSOCKET_MAX_PER_USER, total: env.WEBSOCKET_MAX_TOTAL },
    retention: resolveRetention(env),
    orderIntakeWindowMs: env.ORDER_INTAKE_WINDOW,
    queueBounds: {
      maxEventLoopDelayMs: env.MAX_EVENT_LOOP_DELAY ?? defaultQueueBounds.maxEventLoopDelayMs,
      orderIntake: { maxQueue: env.ORDER_INTAKE_MAX_QUEUE ?? defaultQueueBounds.orderIntake.maxQueue, maxWaitMs: env.ORDER_INTAKE_MAX_WAIT ?? defaultQueueBounds.orderIntake.maxWaitMs },
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

const schema = environment.superRefine(checkCombinations).transform(resolve);

/** Validates and resolves the environment; throws a one-line `ConfigError` on the first bad value. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const known: Record<string, string | undefined> = {};
  for (const name of Object.keys(environment.shape)) {
    const value = env[name];
    if (value === undefined || value.trim() === "") continue;
    known[name] = secretVariables.has(name) ? value : value.trim();
  }
  const result = schema.safeParse(known);
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
