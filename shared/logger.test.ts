import { expect, test } from "bun:test";
import { createLogger } from "./logger";

test("one JSON object per line: time, level, msg, the child's fields and the call's fields", () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "info", write: (line) => lines.push(JSON.parse(line)) }).child({ module: "payments" });
  logger.debug("not shown");
  logger.info("debited", { messageId: "m-1", orderId: "o-1" });
  logger.error("failed", { error: new Error("boom", { cause: "disk" }) });
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatchObject({ level: "info", msg: "debited", module: "payments", messageId: "m-1", orderId: "o-1" });
  expect(Number.isNaN(Date.parse(String(lines[0]!.time)))).toBe(false);
  const error = lines[1]!.error as { message: string; stack: string };
  expect(error.message).toBe("boom");
  expect(error.stack).toContain("boom");
});

test("with traceIds, a line written inside a span carries its traceId and spanId; outside a span, or without the option, none", async () => {
  const { installTestTracing } = await import("./testing/tracing");
  const tracing = installTestTracing();
  try {
    const traced: Record<string, unknown>[] = [];
    const plain: Record<string, unknown>[] = [];
    const logger = createLogger({ traceIds: true, write: (line) => traced.push(JSON.parse(line)) }).child({ module: "orders" });
    const without = createLogger({ write: (line) => plain.push(JSON.parse(line)) });
    logger.info("before");
    const ids = await tracing.tracer.startActiveSpan("work", async (span) => {
      await Promise.resolve();
      logger.info("inside", { orderId: "o-1" });
      without.info("inside");
      span.end();
      return span.spanContext();
    });
    logger.info("after");
    expect(traced.map((line) => [line.msg, line.traceId, line.spanId])).toEqual([
      ["before", undefined, undefined],
      ["inside", ids.traceId, ids.spanId],
      ["after", undefined, undefined],
    ]);
    expect(traced[1]).toMatchObject({ module: "orders", orderId: "o-1" });
    expect(plain[0]!.traceId).toBeUndefined();
  } finally {
    await tracing.uninstall();
  }
});
