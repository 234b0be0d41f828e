import { context, propagation, trace, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { BaggageAttributes } from "../tracing/baggage-attributes";
import { gozonAttributePrefix } from "../tracing/semconv";

/**
 * OpenTelemetry registered for an in-process test as `startTracing` registers it (globals,
 * AsyncLocalStorage, W3C trace-context and baggage, gozon.* baggage as attributes), with finished
 * spans kept in memory instead of exported. `uninstall` puts the process back as it was.
 */
export function installTestTracing(): { tracer: Tracer; finished: InMemorySpanExporter; uninstall(): Promise<void> } {
  const finished = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new BaggageAttributes(gozonAttributePrefix), new SimpleSpanProcessor({ exporter: finished })] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  return {
    tracer: provider.getTracer("test"),
    finished,
    async uninstall() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
