import { isSpanContextValid, trace } from "@opentelemetry/api";
import pino from "pino";
export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];

export type LogFields = Record<string, unknown>;

/** A structured logger: one JSON object per line. Fields of `child` loggers go on every line. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. Default "info". */
  level?: LogLevel;
  /** Fields on every line (e.g. `{ module: "orders" }`). */
  fields?: LogFields;
  /** Where a finished line goes. Default: standard output. */
  write?: (line: string) => void;
  /**
   * Lines written inside a span carry its `traceId` and `spanId` (tracing on). Off by default: a
   * process without tracing does not look for a span on every line.
   */
  traceIds?: boolean;
}

/**
 * Structured logs through pino: one JSON object per line (`{"time","level","msg",...fields}`),
 * written synchronously so the last lines before an exit are not lost. Errors under `error` or
 * `err` keep their name, message, stack and cause.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.write
    ? { write: (line: string) => options.write!(line.trimEnd()) }
    : pino.destination({ dest: 1, sync: true });
  const root = pino(
    {
      level: options.level ?? "info",
      base: options.fields ?? {},
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: serializeError, err: serializeError },
      ...(options.traceIds && { mixin: activeSpanIds }),
    },
    destination,
  );
  return wrap(root);
}

function wrap(logger: pino.Logger): Logger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    child: (fields) => wrap(logger.child(fields)),
  };
}

/** The ids of the span active where the line is written (the OpenTelemetry context), if any. */
function activeSpanIds(): LogFields {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return isSpanContextValid(span.spanContext()) ? { traceId, spanId } : {};
}

function serializeError(value: unknown): unknown {
  return value instanceof Error ? pino.stdSerializers.err(value) : value;
}
