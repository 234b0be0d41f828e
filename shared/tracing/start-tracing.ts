import { randomUUID } from "node:crypto";
import { context, propagation, trace, type Attributes, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import packageJson from "../../package.json" with { type: "json" };
import type { Bus } from "../bus/bus";
import type { Logger } from "../logger";
import { BaggageAttributes } from "./baggage-attributes";
import { WarningExporter } from "./export-warnings";
import { httpServerSpans } from "./http-server-spans";
import { gozonAttributePrefix } from "./semconv";
import { injectTraceHeaders, withBaggage } from "./trace-headers";
import { TracedBus } from "./traced-bus";
import type { Tracing } from "./tracing";
import type { SamplerName, TracingSettings } from "./tracing-settings";

export interface StartTracingOptions {
  logger: Logger;
  /** `messaging.system` of the bus spans. */
  busSystem: string;
  /** The message id in a message's body, for `messaging.message.id` (best effort). */
  messageIdOf(value: string): string | undefined;
}

/** How long a shutdown waits for the last spans to go out. */
const shutdownGraceMs = 2_000;

/**
 * Starts OpenTelemetry for this process: the trace SDK with a batch processor in front of the
 * OTLP/HTTP exporter (protobuf or JSON), the W3C trace-context and baggage propagators and an
 * AsyncLocalStorage context manager, registered as the process's globals (the API's own
 * pattern), and returns the `Tracing` the process hands its parts. Spans are exported in the
 * background; a collector that is down or slow costs spans (dropped once the queue is full), with
 * one warning line, and never holds up the caller that ended a span.
 */
export function startTracing(settings: TracingSettings, options: StartTracingOptions): Tracing {
  const exporterOptions = { url: settings.tracesUrl, timeoutMillis: settings.exportTimeoutMillis };
  const exporter = settings.protocol === "http/json" ? new JsonExporter(exporterOptions) : new ProtobufExporter(exporterOptions);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: packageJson.version,
      [ATTR_SERVICE_INSTANCE_ID]: randomUUID(),
      "process.pid": process.pid,
    }),
    sampler: samplerOf(settings.sampler, settings.samplerRatio),
    spanProcessors: [
      new BaggageAttributes(gozonAttributePrefix),
      new BatchSpanProcessor({ exporter: new WarningExporter(exporter, options.logger, settings.tracesUrl), ...settings.batch }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  const tracer = provider.getTracer("gozon", packageJson.version);
  options.logger.info(`tracing on: spans go to ${settings.tracesUrl} (${settings.protocol}) as ${settings.serviceName}`);
  return new SdkTracing(tracer, provider, options);
}

class SdkTracing implements Tracing {
  readonly enabled = true;

  constructor(
    private readonly tracer: Tracer,
    private readonly provider: TracerProvider,
    private readonly options: StartTracingOptions,
  ) {}

  capture() {
    const active = context.active();
    if (!trace.getSpan(active)) return undefined;
    return { headers: (baggage?: Record<string, string>) => injectTraceHeaders(baggage ? withBaggage(active, baggage) : active) };
  }

  annotate(attributes: Attributes): void {
    trace.getActiveSpan()?.setAttributes(attributes);
  }

  inSpan<T>(name: string, attributes: Attributes, work: () => T): T {
    if (!trace.getActiveSpan()) return work();
    return this.tracer.startActiveSpan(name, { attributes }, (span) => {
      try {
        return work();
      } finally {
        span.end();
      }
    });
  }

  instrumentBus(bus: Bus): Bus {
    return new TracedBus(bus, { tracer: this.tracer, system: this.options.busSystem, messageIdOf: this.options.messageIdOf });
  }

  httpMiddleware() {
    return httpServerSpans(this.tracer);
  }

  async shutdown(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownGraceMs)));
    await Promise.race([this.provider.shutdown().catch(() => {}), grace]);
    clearTimeout(timer);
    trace.disable();
    context.disable();
    propagation.disable();
  }
}

function samplerOf(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
