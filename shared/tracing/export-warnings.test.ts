import { expect, test } from "bun:test";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import { createLogger } from "../logger";
import { WarningExporter } from "./export-warnings";

/** An exporter whose collector answers as the test says. */
class ScriptedExporter implements SpanExporter {
  up = true;
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done(this.up ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error("connect ECONNREFUSED 127.0.0.1:4318") });
  }
  async shutdown(): Promise<void> {}
}

test("one warning per outage, however many exports fail; one line when exports work again; results passed on", () => {
  const lines: Record<string, unknown>[] = [];
  const collector = new ScriptedExporter();
  const exporter = new WarningExporter(collector, createLogger({ write: (line) => lines.push(JSON.parse(line)) }), "http://collector:4318/v1/traces");
  const results: ExportResultCode[] = [];
  const exportOnce = () => exporter.export([], (result) => results.push(result.code));

  exportOnce();
  collector.up = false;
  for (let i = 0; i < 50; i++) exportOnce();
  collector.up = true;
  exportOnce();
  exportOnce();
  collector.up = false;
  exportOnce();
  exportOnce();

  expect(lines.map((line) => [line.level, line.msg])).toEqual([
    ["warn", "traces not exported: the OTLP collector does not take them; spans are dropped until it does (orders are not affected)"],
    ["info", "traces exported again"],
    ["warn", "traces not exported: the OTLP collector does not take them; spans are dropped until it does (orders are not affected)"],
  ]);
  expect(lines[0]).toMatchObject({ endpoint: "http://collector:4318/v1/traces", error: "Error: connect ECONNREFUSED 127.0.0.1:4318" });
  expect(results.filter((code) => code === ExportResultCode.FAILED)).toHaveLength(52);
});
