import { isSpanContextValid, propagation, ROOT_CONTEXT, type Context } from "@opentelemetry/api";
import { parseTraceParent } from "@opentelemetry/core";
import type { TraceHeaders } from "./tracing";

/**
 * The one place a trace context becomes headers and back: OpenTelemetry's own
 * `propagation.inject` / `propagation.extract` with the W3C trace-context and baggage propagators
 * registered by `startTracing`, over a plain object.
 */

/** The header names a trace context travels in. */
export const traceHeaderNames = ["traceparent", "tracestate", "baggage"] as const;

/** The context as headers (nothing when the context holds no span). */
export function injectTraceHeaders(context: Context): TraceHeaders {
  const carrier: TraceHeaders = {};
  propagation.inject(context, carrier);
  return carrier;
}

/** The context a message's (or request's) headers carry, on top of the root context. */
export function extractTraceContext(headers: Readonly<Record<string, string>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/**
 * The trace headers among a message's headers, to store with the outbox rows it causes; undefined
 * when it carries no trace context. Plain data, no OpenTelemetry call.
 */
export function traceHeadersOf(headers: Readonly<Record<string, string>>): TraceHeaders | undefined {
  if (headers.traceparent === undefined) return undefined;
  const picked: TraceHeaders = {};
  for (const name of traceHeaderNames) {
    const value = headers[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

/**
 * The ids a log line about a message carries (`traceId`, `spanId`): those of the trace context
 * in the message's headers, as the code writing the line sees them (a bus adapter: the span that
 * published it; a handler: its consumer span). Nothing when there is none or it is invalid. Read
 * from the headers alone, with no OpenTelemetry state: it works wherever the message is, with or
 * without an active span.
 */
export function traceLogFields(headers: Readonly<Record<string, string>>): { traceId?: string; spanId?: string } {
  const traceparent = headers.traceparent;
  const parsed = traceparent === undefined ? null : parseTraceParent(traceparent);
  return parsed && isSpanContextValid({ ...parsed }) ? { traceId: parsed.traceId, spanId: parsed.spanId } : {};
}

/** The context with these baggage entries added (they become span attributes downstream). */
export function withBaggage(context: Context, entries: Record<string, string>): Context {
  let baggage = propagation.getBaggage(context) ?? propagation.createBaggage();
  for (const [key, value] of Object.entries(entries)) baggage = baggage.setEntry(key, { value });
  return propagation.setBaggage(context, baggage);
}

/** Gives each parsed message the trace headers of the delivery it came from. */
export type TraceOf<Message> = (message: Message) => TraceHeaders | undefined;

/** `TraceOf` over a consumed batch: `messages[i]` was parsed from `batch[i]`. */
export function traceOfBatch<Message extends object>(batch: readonly { headers: Readonly<Record<string, string>> }[], messages: readonly Message[]): TraceOf<Message> {
  const traces = new Map<Message, TraceHeaders | undefined>();
  messages.forEach((message, index) => traces.set(message, traceHeadersOf(batch[index]!.headers)));
  return (message) => traces.get(message);
}
