import { z } from "zod";

/**
 * The standard OpenTelemetry variables this system reads, as part of the one
 * schema over the environment in ../config.ts. Tracing is on when an OTLP endpoint is set (and
 * OTEL_SDK_DISABLED is not true); everything else has the specification's defaults. The exporter
 * itself also reads OTEL_EXPORTER_OTLP_HEADERS, …_COMPRESSION and the certificate variables, as
 * the specification says it should; the variables below are the ones that decide whether and
 * where spans go, and they stop start-up when they are wrong.
 */

export const otlpProtocols = ["http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof otlpProtocols)[number];

/** The specification's samplers that need no remote configuration. */
export const samplerNames = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof samplerNames)[number];

export interface TracingSettings {
  /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  tracesUrl: string;
  protocol: OtlpProtocol;
  serviceName: string;
  sampler: SamplerName;
  /** The ratio of the traceidratio samplers (OTEL_TRACES_SAMPLER_ARG), 0 to 1. */
  samplerRatio: number;
  /** The batch processor: it drops what does not fit, it never blocks a caller. */
  batch: { scheduledDelayMillis: number; maxQueueSize: number; maxExportBatchSize: number; exportTimeoutMillis: number };
  /** One export's deadline, retries included (OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT). */
  exportTimeoutMillis: number;
}

const otlpUrl = z
  .string()
  .refine(
    (value) => URL.canParse(value) && ["http:", "https:"].includes(new URL(value).protocol),
    "expected an OTLP/HTTP URL (http://… or https://…)",
  );

const protocol = z.preprocess(
  (value) => (typeof value === "string" ? value.toLowerCase() : value),
  z.enum(otlpProtocols, { error: `expected ${otlpProtocols.join(" or ")} (this system exports over HTTP only)` }),
);

const sampler = z.preprocess(
  (value) => (typeof value === "string" ? value.toLowerCase() : value),
  z.enum(samplerNames, { error: `expected one of ${samplerNames.join(", ")}` }),
);

const ratio = z
  .string()
  .refine((value) => /^\d+(\.\d+)?$/.test(value) && Number(value) <= 1, "expected a ratio from 0 to 1, such as 0.25")
  .transform(Number);

const positiveMessage = "expected a whole number greater than 0";
const positive = z.string().regex(/^\d{1,9}$/, positiveMessage).transform(Number).refine((value) => value > 0, positiveMessage);

const flag = z.stringbool({ truthy: ["true", "1", "yes", "on"], falsy: ["false", "0", "no", "off"], error: "expected true or false" });

/** The variables, for the environment's zod object. */
export const tracingVariables = {
  OTEL_SDK_DISABLED: flag.optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol.optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: positive.optional(),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: positive.optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  OTEL_TRACES_SAMPLER: sampler.optional(),
  OTEL_TRACES_SAMPLER_ARG: ratio.optional(),
  OTEL_BSP_SCHEDULE_DELAY: positive.optional(),
  OTEL_BSP_MAX_QUEUE_SIZE: positive.optional(),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: positive.optional(),
  OTEL_BSP_EXPORT_TIMEOUT: positive.optional(),
};

type TracingEnvironment = z.output<z.ZodObject<typeof tracingVariables>>;

/** The specification's defaults (OpenTelemetry SDK environment variables). */
const defaults = { scheduledDelayMillis: 5_000, maxQueueSize: 2_048, maxExportBatchSize: 512, exportTimeoutMillis: 30_000, otlpTimeoutMillis: 10_000 };

/** Rules between the variables, each reported on the variable to change. */
export function checkTracing(env: TracingEnvironment, problem: (variable: keyof TracingEnvironment, message: string) => void): void {
  const queue = env.OTEL_BSP_MAX_QUEUE_SIZE ?? defaults.maxQueueSize;
  if ((env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ?? defaults.maxExportBatchSize) > queue) {
    problem("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", `expected at most OTEL_BSP_MAX_QUEUE_SIZE (${queue})`);
  }
}

/** The settings, or undefined when tracing is off (no endpoint, or OTEL_SDK_DISABLED=true). */
export function resolveTracing(env: TracingEnvironment, defaultServiceName: string): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED === true) return undefined;
  const tracesUrl = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT && withTracesPath(env.OTEL_EXPORTER_OTLP_ENDPOINT));
  if (!tracesUrl) return undefined;
  return {
    tracesUrl,
    protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf",
    serviceName: env.OTEL_SERVICE_NAME ?? defaultServiceName,
    sampler: env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on",
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch: {
      scheduledDelayMillis: env.OTEL_BSP_SCHEDULE_DELAY ?? defaults.scheduledDelayMillis,
      maxQueueSize: env.OTEL_BSP_MAX_QUEUE_SIZE ?? defaults.maxQueueSize,
      maxExportBatchSize: env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ?? defaults.maxExportBatchSize,
      exportTimeoutMillis: env.OTEL_BSP_EXPORT_TIMEOUT ?? defaults.exportTimeoutMillis,
    },
    exportTimeoutMillis: env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? defaults.otlpTimeoutMillis,
  };
}

/** The specification: the base endpoint gets `v1/traces` appended, with one slash between. */
function withTracesPath(base: string): string {
  return `${base.endsWith("/") ? base : `${base}/`}v1/traces`;
}
