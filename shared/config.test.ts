import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { ConfigError, loadConfig as loadSharedConfig, type Config } from "./config";
import type { ModuleDefinition } from "./module";
import { publicUrl } from "./settings";

/**
 * Stand-ins for the modules main.ts passes (shared/ imports no module): what the composition
 * makes of a module's name, default port and public URL. Each module's own variables are tested
 * beside it (`modules/<name>/<name>.settings.test.ts`).
 */
const unused = () => {
  throw new Error("not started in this test");
};
const testModules: ModuleDefinition<any>[] = [
  { name: "orders", settings: z.object({}).transform(() => ({})), create: unused },
  {
    name: "payments",
    settings: z.object({ PAYMENTS_PUBLIC_URL: publicUrl.optional() }).transform((env) => ({ url: env.PAYMENTS_PUBLIC_URL })),
    defaultPort: 8081,
    publicUrl: (settings: { url?: string }) => settings.url,
    create: unused,
  },
];
const loadConfig = (env: Record<string, string | undefined>) => loadSharedConfig(env, testModules);

const secret = "s".repeat(32);

describe("loadConfig resolves", () => {
  const cases: [string, Record<string, string | undefined>, Partial<Config>][] = [
    [
      "the embedded defaults from an empty environment",
      {},
      {
        mode: "mono",
        modules: ["orders", "payments"],
        port: 8080,
        dataDir: "./.data",
        databaseUrls: { orders: undefined, payments: undefined },
        bus: { kind: "memory" },
        auth: { kind: "none" },
        retention: { inboxMs: 7 * 86_400_000, idempotencyKeyMs: 86_400_000, outboxMs: 3_600_000, deadLetterMs: 30 * 86_400_000 },
        logLevel: "info",
        tracing: undefined,
      },
    ],
    ["empty strings as unset", { MODE: "", PORT: " ", BUS: "" }, { mode: "mono", port: 8080, bus: { kind: "memory" } }],
    ["orders: port 8080 and the redis bus", { MODE: "orders" }, { modules: ["orders"], port: 8080, bus: { kind: "redis", url: "redis://127.0.0.1:6379", prefix: "gozon:" } }],
    ["payments: port 8081", { MODE: "payments" }, { modules: ["payments"], port: 8081 }],
    ["the default queue bounds", {}, { queueBounds: { maxEventLoopDelayMs: 100, requests: { maxQueue: 200, maxWaitMs: 500 } } }],
    [
      "queue bounds",
      { REQUEST_MAX_QUEUE: "50", REQUEST_MAX_WAIT: "250ms", MAX_EVENT_LOOP_DELAY: "100ms" },
      { queueBounds: { maxEventLoopDelayMs: 100, requests: { maxQueue: 50, maxWaitMs: 250 } } },
    ],
    ["each module's settings, by name", { PAYMENTS_PUBLIC_URL: "https://pay.example" }, { moduleSettings: { orders: {}, payments: { url: "https://pay.example" } } }],
    ["an explicit port", { MODE: "payments", PORT: "9000" }, { port: 9000 }],
    ["port 0 (any free port)", { PORT: "0" }, { port: 0 }],
    ["values case-insensitively and trimmed", { MODE: " Orders ", BUS: "REDIS" }, { mode: "orders", bus: { kind: "redis", url: "redis://127.0.0.1:6379", prefix: "gozon:" } }],
    [
      "DATABASE_URL for every module",
      { DATABASE_URL: "postgres://db/gozon" },
      { databaseUrls: { orders: "postgres://db/gozon", payments: "postgres://db/gozon" } },
    ],
    [
      "a per-module database override",
      { DATABASE_URL: "postgres://db/gozon", PAYMENTS_DATABASE_URL: "postgresql://other/pay" },
      { databaseUrls: { orders: "postgres://db/gozon", payments: "postgresql://other/pay" } },
    ],
    ["a data directory", { DATA_DIR: "/var/lib/gozon" }, { dataDir: "/var/lib/gozon" }],
    ["a redis URL", { BUS: "redis", REDIS_URL: "rediss://:pw@cache:6380" }, { bus: { kind: "redis", url: "rediss://:pw@cache:6380", prefix: "gozon:" } }],
    ["a redis key prefix", { BUS: "redis", REDIS_PREFIX: "run-42:" }, { bus: { kind: "redis", url: "redis://127.0.0.1:6379", prefix: "run-42:" } }],
    [
      "a redis partition lease",
      { MODE: "orders", REDIS_PARTITION_LEASE: "3s" },
      { bus: { kind: "redis", url: "redis://127.0.0.1:6379", prefix: "gozon:", leaseMs: 3_000 } },
    ],
    [
      "kafka defaults",
      { BUS: "kafka", MODE: "orders" },
      { bus: { kind: "kafka", brokers: ["127.0.0.1:9092"], clientId: "gozon-orders", ssl: false } },
    ],
    [
      "kafka with TLS and SASL",
      {
        BUS: "kafka",
        KAFKA_BROKERS: "b1:9092, b2:9093,,[::1]:9094",
        KAFKA_SSL: "true",
        KAFKA_SASL_MECHANISM: "scram-sha-512",
        KAFKA_SASL_USERNAME: "gozon",
        KAFKA_SASL_PASSWORD: " pass word ",
      },
      {
        bus: {
          kind: "kafka",
          brokers: ["b1:9092", "b2:9093", "[::1]:9094"],
          clientId: "gozon-mono",
          ssl: true,
          sasl: { mechanism: "scram-sha-512", username: "gozon", password: " pass word " },
        },
      },
    ],
    ["KAFKA_SSL=0", { KAFKA_SSL: "0", BUS: "kafka" }, { bus: { kind: "kafka", brokers: ["127.0.0.1:9092"], clientId: "gozon-mono", ssl: false } }],
    ["jwt with a secret, tokens of up to 24h, 30s of clock skew", { AUTH: "jwt", JWT_SECRET: secret }, { auth: { kind: "jwt", key: { secret }, maxTtlMs: 86_400_000, clockSkewMs: 30_000 } }],
    [
      "jwt with a token lifetime and a clock skew",
      { AUTH: "jwt", JWT_SECRET: secret, JWT_MAX_TTL: "1h", JWT_CLOCK_SKEW: "5s" },
      { auth: { kind: "jwt", key: { secret }, maxTtlMs: 3_600_000, clockSkewMs: 5_000 } },
    ],
    [
      "jwt with a JWKS URL, issuer and audience",
      { AUTH: "jwt", JWT_JWKS_URL: "https://id.example/jwks.json", JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "gozon" },
      { auth: { kind: "jwt", key: { jwksUrl: "https://id.example/jwks.json" }, issuer: "https://id.example", audience: "gozon", maxTtlMs: 86_400_000, clockSkewMs: 30_000 } },
    ],
    ...["http://127.0.0.1:9000/jwks.json", "http://localhost/jwks.json", "http://[::1]:9000/jwks.json"].map(
      (url): [string, Record<string, string>, Partial<Config>] => [
        `a plain-http JWKS URL on a loopback host: ${url}`,
        { AUTH: "jwt", JWT_JWKS_URL: url, JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "gozon" },
        { auth: { kind: "jwt", key: { jwksUrl: url }, issuer: "https://id.example", audience: "gozon", maxTtlMs: 86_400_000, clockSkewMs: 30_000 } },
      ],
    ),
    ["a log level", { LOG_LEVEL: "debug" }, { logLevel: "debug" }],
    [
      "retention windows",
      { INBOX_RETENTION: "2d", IDEMPOTENCY_KEY_RETENTION: "90m", OUTBOX_RETENTION: "30s", DEAD_LETTER_RETENTION: "500ms" },
      { retention: { inboxMs: 172_800_000, idempotencyKeyMs: 5_400_000, outboxMs: 30_000, deadLetterMs: 500 } },
    ],
    ["mono: both APIs on this origin, no CORS", {}, { publicUrls: { orders: "", payments: "" }, corsOrigins: [] }],
    ["orders without a payments URL", { MODE: "orders" }, { publicUrls: { orders: "", payments: null } }],
    [
      "orders told where payments is",
      { MODE: "orders", PAYMENTS_PUBLIC_URL: "https://pay.example/gozon/" },
      { publicUrls: { orders: "", payments: "https://pay.example/gozon" } },
    ],
    ["mono ignores a payments URL: it serves payments itself", { PAYMENTS_PUBLIC_URL: "http://localhost:8081" }, { publicUrls: { orders: "", payments: "" } }],
    [
      "CORS origins",
      { MODE: "payments", CORS_ORIGINS: "http://localhost:8080, https://Shop.Example/" },
      { publicUrls: { orders: null, payments: "" }, corsOrigins: ["http://localhost:8080", "https://shop.example"] },
    ],
  ];

  test.each(cases)("%s", (_name, env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });

  const endpoint = "http://collector:4318";
  const tracingCases: [string, Record<string, string>, Config["tracing"] | Partial<NonNullable<Config["tracing"]>>][] = [
    ["tracing off without an endpoint, whatever else is set", { OTEL_SERVICE_NAME: "shop", OTEL_TRACES_SAMPLER: "always_on" }, undefined],
    ["tracing off with OTEL_SDK_DISABLED=true", { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: "true" }, undefined],
    [
      "the specification's defaults with a base endpoint",
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
      {
        tracesUrl: "http://collector:4318/v1/traces",
        protocol: "http/protobuf",
        serviceName: "gozon",
        sampler: "parentbased_always_on",
        samplerRatio: 1,
        batch: { scheduledDelayMillis: 5_000, maxQueueSize: 2_048, maxExportBatchSize: 512, exportTimeoutMillis: 30_000 },
        exportTimeoutMillis: 10_000,
      },
    ],
    ["a base endpoint with a path and a slash", { OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example/ingest/" }, { tracesUrl: "https://otel.example/ingest/v1/traces" }],
    [
      "the traces endpoint as given, before the base one",
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://jaeger:4318/custom" },
      { tracesUrl: "http://jaeger:4318/custom" },
    ],
    ["JSON, case-insensitively", { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "HTTP/JSON" }, { protocol: "http/json" }],
    [
      "the traces protocol before the general one",
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf" },
      { protocol: "http/protobuf" },
    ],
    ["a service name", { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: "checkout" }, { serviceName: "checkout" }],
    ["each split process its own service name", { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, MODE: "payments" }, { serviceName: "gozon-payments" }],
    [
      "a ratio sampler",
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" },
      { sampler: "parentbased_traceidratio", samplerRatio: 0.25 },
    ],
    [
      "batch processor and export settings",
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_BSP_SCHEDULE_DELAY: "200",
        OTEL_BSP_MAX_QUEUE_SIZE: "100",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "50",
        OTEL_BSP_EXPORT_TIMEOUT: "3000",
        OTEL_EXPORTER_OTLP_TIMEOUT: "2000",
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "1500",
      },
      { batch: { scheduledDelayMillis: 200, maxQueueSize: 100, maxExportBatchSize: 50, exportTimeoutMillis: 3_000 }, exportTimeoutMillis: 1_500 },
    ],
  ];

  test.each(tracingCases)("%s", (_name, env, expected) => {
    const { tracing } = loadConfig(env);
    if (expected === undefined) expect(tracing).toBeUndefined();
    else expect(tracing).toMatchObject(expected);
  });

  test("ignores variables it does not know", () => {
    expect(loadConfig({ HOME: "/root", PATH: "/bin" }).mode).toBe("mono");
  });

  test("without modules, the shared settings alone: mono runs none", () => {
    expect(loadSharedConfig({ LOG_LEVEL: "warn" })).toMatchObject({ mode: "mono", modules: [], logLevel: "warn", moduleSettings: {} });
    expect(() => loadSharedConfig({ MODE: "orders" })).toThrow('Invalid configuration: MODE="orders" — expected one of mono');
  });
});

describe("loadConfig rejects with one line", () => {
  const cases: [string, Record<string, string>, string][] = [
    ["an unknown bus", { BUS: "nonsense" }, 'Invalid configuration: BUS="nonsense" — expected one of memory, redis, kafka'],
    ["an unknown mode", { MODE: "both" }, 'Invalid configuration: MODE="both" — expected one of mono, orders, payments'],
    ["the memory bus in a split mode", { MODE: "payments", BUS: "memory" }, 'Invalid configuration: BUS="memory" — expected redis or kafka with MODE=payments'],
    ["a port that is not a number", { PORT: "http" }, 'Invalid configuration: PORT="http" — expected an integer from 0 to 65535'],
    ["a port out of range", { PORT: "70000" }, 'Invalid configuration: PORT="70000" — expected an integer'],
    ["a negative port", { PORT: "-1" }, 'Invalid configuration: PORT="-1" — expected an integer'],
    ["a database URL of another kind", { DATABASE_URL: "mysql://db/x" }, 'Invalid configuration: DATABASE_URL="mysql://db/x" — expected a PostgreSQL URL'],
    ["a per-module database URL that is no URL", { ORDERS_DATABASE_URL: "localhost" }, 'Invalid configuration: ORDERS_DATABASE_URL="localhost" — expected a PostgreSQL URL'],
    ["a redis URL of another kind", { REDIS_URL: "http://cache" }, 'Invalid configuration: REDIS_URL="http://cache" — expected a Redis URL'],
    ["brokers without ports", { KAFKA_BROKERS: "b1:9092,b2" }, 'Invalid configuration: KAFKA_BROKERS="b1:9092,b2" — expected a comma list of host:port'],
    ["a lease that is no duration", { REDIS_PARTITION_LEASE: "10" }, 'Invalid configuration: REDIS_PARTITION_LEASE="10" — expected a duration such as 30s'],
    ["a lease too short to renew", { REDIS_PARTITION_LEASE: "500ms" }, 'Invalid configuration: REDIS_PARTITION_LEASE="500ms" — expected at least 1s'],
    ["a request queue that is no number", { REQUEST_MAX_QUEUE: "lots" }, 'Invalid configuration: REQUEST_MAX_QUEUE="lots" — expected a whole number from 1 to 1000000'],
    ["an event-loop delay over 10 s", { MAX_EVENT_LOOP_DELAY: "1m" }, 'Invalid configuration: MAX_EVENT_LOOP_DELAY="1m" — expected at most 10s'],
    ["a request wait over a minute", { REQUEST_MAX_WAIT: "2m" }, 'Invalid configuration: REQUEST_MAX_WAIT="2m" — expected at most 60s'],
    ["a brokers list of commas", { KAFKA_BROKERS: ",," }, 'Invalid configuration: KAFKA_BROKERS=",," — expected a comma list'],
    ["KAFKA_SSL that is no boolean", { KAFKA_SSL: "maybe" }, 'Invalid configuration: KAFKA_SSL="maybe" — expected true or false'],
    ["an unknown SASL mechanism", { KAFKA_SASL_MECHANISM: "gssapi" }, 'Invalid configuration: KAFKA_SASL_MECHANISM="gssapi" — expected one of plain, scram-sha-256, scram-sha-512'],
    ["a SASL mechanism without username", { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "pw" }, "Invalid configuration: KAFKA_SASL_USERNAME is unset — required when KAFKA_SASL_MECHANISM is set"],
    ["a SASL mechanism without password", { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u" }, "Invalid configuration: KAFKA_SASL_PASSWORD is unset — required when KAFKA_SASL_MECHANISM is set"],
    ["SASL credentials without a mechanism", { KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "pw" }, "Invalid configuration: KAFKA_SASL_MECHANISM is unset — expected one of plain"],
    ["an unknown auth", { AUTH: "basic" }, 'Invalid configuration: AUTH="basic" — expected one of none, jwt'],
    ["jwt without a key", { AUTH: "jwt" }, 'Invalid configuration: AUTH="jwt" — needs JWT_SECRET or JWT_JWKS_URL'],
    ["jwt with both keys", { AUTH: "jwt", JWT_SECRET: secret, JWT_JWKS_URL: "https://id/jwks" }, "Invalid configuration: JWT_JWKS_URL=\"https://id/jwks\" — expected only one of"],
    ["a JWKS URL that is no URL", { AUTH: "jwt", JWT_JWKS_URL: "id/jwks" }, 'Invalid configuration: JWT_JWKS_URL="id/jwks" — expected a JWKS URL'],
    [
      "a JWKS URL over plain http to another host",
      { AUTH: "jwt", JWT_JWKS_URL: "http://id.example/jwks.json", JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "gozon" },
      'Invalid configuration: JWT_JWKS_URL="http://id.example/jwks.json" — expected an https:// URL (http:// only on 127.0.0.1, [::1] or localhost)',
    ],
    [
      "a JWKS URL over plain http to a host that merely starts like a loopback one",
      { AUTH: "jwt", JWT_JWKS_URL: "http://127.0.0.1.evil.example/jwks.json", JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "gozon" },
      'Invalid configuration: JWT_JWKS_URL="http://127.0.0.1.evil.example/jwks.json" — expected an https:// URL',
    ],
    [
      "a JWKS URL without an issuer",
      { AUTH: "jwt", JWT_JWKS_URL: "https://id.example/jwks.json", JWT_AUDIENCE: "gozon" },
      "Invalid configuration: JWT_ISSUER is unset — required with JWT_JWKS_URL: the iss of the identity provider's tokens",
    ],
    [
      "a JWKS URL without an audience",
      { AUTH: "jwt", JWT_JWKS_URL: "https://id.example/jwks.json", JWT_ISSUER: "https://id.example" },
      "Invalid configuration: JWT_AUDIENCE is unset — required with JWT_JWKS_URL: the aud the identity provider puts in tokens for this service",
    ],
    ["a token lifetime without a unit", { AUTH: "jwt", JWT_SECRET: secret, JWT_MAX_TTL: "3600" }, 'Invalid configuration: JWT_MAX_TTL="3600" — expected a duration such as 30s'],
    ["a token lifetime under a second", { AUTH: "jwt", JWT_SECRET: secret, JWT_MAX_TTL: "500ms" }, 'Invalid configuration: JWT_MAX_TTL="500ms" — expected at least 1s'],
    ["a clock skew of ten minutes", { AUTH: "jwt", JWT_SECRET: secret, JWT_CLOCK_SKEW: "10m" }, 'Invalid configuration: JWT_CLOCK_SKEW="10m" — expected at most 5m'],
    ["a clock skew that is a word", { AUTH: "jwt", JWT_SECRET: secret, JWT_CLOCK_SKEW: "small" }, 'Invalid configuration: JWT_CLOCK_SKEW="small" — expected a duration'],
    ["a payments URL that is no URL", { PAYMENTS_PUBLIC_URL: "localhost:8081" }, 'Invalid configuration: PAYMENTS_PUBLIC_URL="localhost:8081" — expected a web URL'],
    ["a CORS origin with a path", { CORS_ORIGINS: "http://localhost:8080/page" }, 'Invalid configuration: CORS_ORIGINS="http://localhost:8080/page" — expected a comma list of origins'],
    ["a CORS wildcard", { CORS_ORIGINS: "*" }, 'Invalid configuration: CORS_ORIGINS="*" — expected a comma list of origins'],
    ["an unknown log level", { LOG_LEVEL: "loud" }, 'Invalid configuration: LOG_LEVEL="loud" — expected one of debug, info, warn, error'],
    ["an inbox window without a unit", { INBOX_RETENTION: "7" }, 'Invalid configuration: INBOX_RETENTION="7" — expected a duration such as 30s, 15m, 24h or 7d'],
    ["a zero idempotency window", { IDEMPOTENCY_KEY_RETENTION: "0h" }, 'Invalid configuration: IDEMPOTENCY_KEY_RETENTION="0h" — expected a duration'],
    ["an outbox window in weeks", { OUTBOX_RETENTION: "1w" }, 'Invalid configuration: OUTBOX_RETENTION="1w" — expected a duration'],
    ["a dead-letter window that is a word", { DEAD_LETTER_RETENTION: "forever" }, 'Invalid configuration: DEAD_LETTER_RETENTION="forever" — expected a duration'],
    [
      "an OTLP protocol that does not exist",
      { OTEL_EXPORTER_OTLP_PROTOCOL: "carrier-pigeon" },
      'Invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon" — expected http/protobuf or http/json (this system exports over HTTP only)',
    ],
    ["OTLP over gRPC", { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" }, 'Invalid configuration: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="grpc" — expected http/protobuf or http/json'],
    ["an endpoint that is not a URL", { OTEL_EXPORTER_OTLP_ENDPOINT: "collector" }, 'Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT="collector" — expected an OTLP/HTTP URL (http://… or https://…)'],
    ["an endpoint without a scheme", { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, 'Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318" — expected an OTLP/HTTP URL'],
    ["a traces endpoint of another kind", { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "grpc://collector:4317" }, 'Invalid configuration: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="grpc://collector:4317" — expected an OTLP/HTTP URL'],
    ["an unknown sampler", { OTEL_TRACES_SAMPLER: "sometimes" }, 'Invalid configuration: OTEL_TRACES_SAMPLER="sometimes" — expected one of always_on, always_off, traceidratio'],
    ["a sampler ratio above 1", { OTEL_TRACES_SAMPLER_ARG: "1.5" }, 'Invalid configuration: OTEL_TRACES_SAMPLER_ARG="1.5" — expected a ratio from 0 to 1'],
    ["a sampler ratio that is a word", { OTEL_TRACES_SAMPLER_ARG: "half" }, 'Invalid configuration: OTEL_TRACES_SAMPLER_ARG="half" — expected a ratio from 0 to 1'],
    ["an empty span queue", { OTEL_BSP_MAX_QUEUE_SIZE: "0" }, 'Invalid configuration: OTEL_BSP_MAX_QUEUE_SIZE="0" — expected a whole number greater than 0'],
    ["an export batch above the queue", { OTEL_BSP_MAX_QUEUE_SIZE: "100", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "200" }, 'Invalid configuration: OTEL_BSP_MAX_EXPORT_BATCH_SIZE="200" — expected at most OTEL_BSP_MAX_QUEUE_SIZE (100)'],
    ["an export timeout with a unit", { OTEL_EXPORTER_OTLP_TIMEOUT: "10s" }, 'Invalid configuration: OTEL_EXPORTER_OTLP_TIMEOUT="10s" — expected a whole number greater than 0'],
    ["OTEL_SDK_DISABLED that is no boolean", { OTEL_SDK_DISABLED: "sure" }, 'Invalid configuration: OTEL_SDK_DISABLED="sure" — expected true or false'],
  ];

  test.each(cases)("%s", (_name, env, expected) => {
    const error = catchError(() => loadConfig(env));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toStartWith(expected);
    expect(error.message).not.toContain("\n");
  });

  const secrets: [string, Record<string, string>, string][] = [
    ["a short JWT secret", { AUTH: "jwt", JWT_SECRET: "hunter2" }, "hunter2"],
    ["a database password", { DATABASE_URL: "mysql://gozon:hunter2@db/x" }, "hunter2"],
    ["a database password with odd characters", { DATABASE_URL: "mysql://gozon:hu/nt@er2@db/x" }, "nt@er2"],
    ["a redis password", { REDIS_URL: "http://:hunter2@cache" }, "hunter2"],
  ];

  test.each(secrets)("never echoes %s", (_name, env, secretText) => {
    const error = catchError(() => loadConfig(env));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).not.toContain(secretText);
  });

  test("hides the JWT secret but says what is wrong with it", () => {
    expect(catchError(() => loadConfig({ AUTH: "jwt", JWT_SECRET: "hunter2" })).message).toBe(
      "Invalid configuration: JWT_SECRET (value hidden) — expected at least 32 characters (HS256 needs a 256-bit key)",
    );
  });
});

function catchError(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error("expected an error, got none");
}
