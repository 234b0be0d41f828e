import type { Attributes } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import type { Bus } from "../bus/bus";

/**
 * A trace context as plain data (W3C `traceparent`, and `tracestate` and `baggage` when there are
 * any): the same object whether it is an HTTP request's headers, an outbox row's `headers` column
 * or a bus message's headers.
 */
export type TraceHeaders = Record<string, string>;

/** The trace context of one moment (an HTTP request's span), kept to be written into messages later. */
export interface CapturedTrace {
  /**
   * The context as message headers, with `baggage` entries added (e.g. `{"gozon.order_id": id}`):
   * every span downstream of the message carries those entries as attributes.
   */
  headers(baggage?: Record<string, string>): TraceHeaders;
}

/**
 * The process's tracing (docs/architecture.md#operations), handed to the modules as a port. When
 * tracing is off (`tracingOff`) nothing is built: callers check `enabled` once, where they are set
 * up, and leave the hot paths as they were.
 */
export interface Tracing {
  readonly enabled: boolean;
  /** The active context (the request's span) to store with messages; undefined when off or outside a span. */
  capture(): CapturedTrace | undefined;
  /** Sets attributes on the active span, if there is one (e.g. the order a request created). */
  annotate(attributes: Attributes): void;
  /** Runs `work` (synchronous) in a child span of the active one, if there is one. */
  inSpan<T>(name: string, attributes: Attributes, work: () => T): T;
  /**
   * The bus with a producer span around each published message that carries a trace context
   * (its headers then carry the producer span's) and a consumer span around each handled one
   * (the handler sees the consumer span's context in the message's headers). The bus itself when off.
   */
  instrumentBus(bus: Bus): Bus;
  /** A server span per HTTP request, continuing the caller's `traceparent`; undefined when off. */
  httpMiddleware(): MiddlewareHandler | undefined;
  /** Exports what is buffered (bounded in time: a dead collector does not hold up a shutdown). */
  shutdown(): Promise<void>;
}

/** Tracing off: every method does nothing and costs nothing. */
export const tracingOff: Tracing = {
  enabled: false,
  capture: () => undefined,
  annotate: () => {},
  inSpan: (_name, _attributes, work) => work(),
  instrumentBus: (bus) => bus,
  httpMiddleware: () => undefined,
  shutdown: async () => {},
};
