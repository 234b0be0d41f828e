import { propagation, type Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";

/**
 * Copies the baggage entries whose keys start with `prefix` onto every span started below them as
 * attributes: `gozon.order_id`, put in the baggage when an order's first message is written,
 * so reaches every span of that order's trace in every process without any consumer knowing what
 * an order is.
 */
export class BaggageAttributes implements SpanProcessor {
  constructor(private readonly prefix: string) {}

  onStart(span: Span, parentContext: Context): void {
    const baggage = propagation.getBaggage(parentContext);
    if (!baggage) return;
    for (const [key, entry] of baggage.getAllEntries()) {
      if (key.startsWith(this.prefix)) span.setAttribute(key, entry.value);
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
