import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import type { Logger } from "../logger";

/**
 * The OTLP exporter, saying once when its collector stops taking spans and once when it takes
 * them again: ONE warning line per outage, never one per span or per export. The batch processor
 * in front of it drops what it cannot send (bounded queue), so an outage costs spans, never an
 * order. (The SDK's own reports go to its `diag` logger, which this system does not install.)
 */
export class WarningExporter implements SpanExporter {
  #failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
    private readonly endpoint: string,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        if (!this.#failing) {
          this.#failing = true;
          this.logger.warn("traces not exported: the OTLP collector does not take them; spans are dropped until it does (orders are not affected)", {
            endpoint: this.endpoint,
            error: String(result.error ?? "export failed"),
          });
        }
      } else if (this.#failing) {
        this.#failing = false;
        this.logger.info("traces exported again", { endpoint: this.endpoint });
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
