import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { PoisonMessageError, type Bus, type Delivery } from "../bus/bus";
import { MemoryBroker } from "../bus/memory/memory-broker";
import { MemoryBus } from "../bus/memory/memory-bus";
import { envelopeIdOf } from "../contracts/envelope";
import { createLogger } from "../logger";
import { eventually } from "../testing/eventually";
import { installTestTracing } from "../testing/tracing";
import { injectTraceHeaders, withBaggage } from "./trace-headers";
import { TracedBus } from "./traced-bus";

let tracing: ReturnType<typeof installTestTracing>;
let bus: Bus;

beforeEach(() => {
  tracing = installTestTracing();
  const inner = new MemoryBus({ broker: new MemoryBroker(), retryPolicy: { maxAttempts: 1, baseBackoffMs: 1, maxBackoffMs: 1 } });
  bus = new TracedBus(inner, { tracer: tracing.tracer, system: "memory", messageIdOf: envelopeIdOf });
});

afterEach(async () => {
  await bus.close();
  await tracing.uninstall();
});

/** The headers of a message written inside a caller's span, with an order id in its baggage. */
function callerHeaders(orderId: string): { headers: Record<string, string>; callerSpanId: string } {
  const caller = tracing.tracer.startSpan("caller");
  const headers = injectTraceHeaders(withBaggage(trace.setSpan(context.active(), caller), { "gozon.order_id": orderId }));
  caller.end();
  return { headers, callerSpanId: caller.spanContext().spanId };
}

const envelope = () => {
  const id = randomUUID();
  return { id, value: JSON.stringify({ id, type: "t", key: "k", payload: {} }) };
};

function spanNamed(name: string): ReadableSpan {
  const span = tracing.finished.getFinishedSpans().find((candidate) => candidate.name === name);
  if (!span) throw new Error(`no span ${name}: ${tracing.finished.getFinishedSpans().map((s) => s.name).join(", ")}`);
  return span;
}

describe("a traced bus", () => {
  test("publish and consume: a producer span under the message's context, a consumer span under the producer's, the handler inside it", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ traceIds: true, write: (line) => lines.push(JSON.parse(line)) });
    const seen: { traceparent: string | undefined; activeSpanId: string | undefined }[] = [];
    await bus.subscribeBatch("orders-topic", "group-a", async (batch) => {
      seen.push({ traceparent: batch[0]!.headers.traceparent, activeSpanId: trace.getActiveSpan()?.spanContext().spanId });
      logger.info("handled");
    });
    const { headers, callerSpanId } = callerHeaders("order-1");
    const message = envelope();
    await bus.publish("orders-topic", [{ key: "k", value: message.value, headers }]);
    await eventually(() => seen.length === 1 && tracing.finished.getFinishedSpans().length === 3, 5_000, "handled and its spans ended");

    const producer = spanNamed("publish orders-topic");
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(producer.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(producer.attributes).toMatchObject({
      "messaging.system": "memory",
      "messaging.destination.name": "orders-topic",
      "messaging.operation.type": "send",
      "messaging.message.id": message.id,
      "gozon.order_id": "order-1",
    });
    const consumer = spanNamed("process orders-topic");
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(consumer.attributes).toMatchObject({
      "messaging.operation.type": "process",
      "messaging.consumer.group.name": "group-a",
      "messaging.message.id": message.id,
      "gozon.order_id": "order-1",
    });
    // The handler sees its consumer span's context in the headers (to store with what it writes), and runs in it.
    const { traceId, spanId } = consumer.spanContext();
    expect(seen[0]).toEqual({ traceparent: `00-${traceId}-${spanId}-01`, activeSpanId: spanId });
    expect(lines[0]).toMatchObject({ msg: "handled", traceId, spanId });
  });

  test("several messages in one batch: a consumer span each, each message carrying its own", async () => {
    const batches: Delivery[][] = [];
    await bus.subscribeBatch("t", "g", async (batch) => void batches.push(batch));
    const first = callerHeaders("order-1");
    const second = callerHeaders("order-2");
    await bus.publish("t", [
      { key: "k", value: envelope().value, headers: first.headers },
      { key: "k", value: envelope().value, headers: second.headers },
    ]);
    await eventually(() => batches.flat().length === 2 && tracing.finished.getFinishedSpans().filter((s) => s.name === "process t").length === 2, 5_000, "both handled");
    const consumers = tracing.finished.getFinishedSpans().filter((span) => span.name === "process t");
    expect(consumers.map((span) => span.attributes["gozon.order_id"]).sort()).toEqual(["order-1", "order-2"]);
    const carried = batches.flat().map((delivery) => delivery.headers.traceparent);
    expect(carried.sort()).toEqual(consumers.map((span) => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`).sort());
  });

  test("a message without a trace context passes as it is and makes no span", async () => {
    const seen: Delivery[] = [];
    await bus.subscribe("t", "g", async (delivery) => void seen.push(delivery));
    await bus.publish("t", [{ key: "k", value: "plain", headers: { other: "x" } }]);
    await eventually(() => seen.length === 1, 5_000, "handled");
    expect(seen[0]!.headers).toEqual({ other: "x" });
    expect(tracing.finished.getFinishedSpans()).toEqual([]);
  });

  test("a handler that throws: its consumer span ends with an error status", async () => {
    await bus.subscribe("t", "g", async () => {
      throw new Error("cannot handle it");
    });
    await bus.publish("t", [{ key: "k", value: envelope().value, headers: callerHeaders("order-1").headers }]);
    await eventually(() => tracing.finished.getFinishedSpans().some((span) => span.name === "process t"), 5_000, "the consumer span");
    const consumer = spanNamed("process t");
    expect(consumer.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "cannot handle it" });
    expect(consumer.events.map((event) => event.name)).toContain("exception");
  });

  test("broadcast: every subscriber's handler runs in a consumer span of the message", async () => {
    const active: (string | undefined)[] = [];
    await bus.subscribeBroadcast("live", async () => void active.push(trace.getActiveSpan()?.spanContext().spanId));
    await bus.publish("live", [{ key: "k", value: envelope().value, headers: callerHeaders("order-1").headers }]);
    await eventually(() => active.length === 1 && tracing.finished.getFinishedSpans().some((s) => s.name === "process live"), 5_000, "delivered");
    expect(active[0]).toBe(spanNamed("process live").spanContext().spanId);
  });

  test("every line the bus logs about a message carries the message's trace context: retries, dead letters, poison, failed broadcasts", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ traceIds: true, write: (line) => lines.push(JSON.parse(line)) });
    const inner = new MemoryBus({ broker: new MemoryBroker(), logger, retryPolicy: { maxAttempts: 3, baseBackoffMs: 1, maxBackoffMs: 1 } });
    const logged = new TracedBus(inner, { tracer: tracing.tracer, system: "memory", messageIdOf: envelopeIdOf });
    try {
      await logged.subscribe("failing", "g", async () => {
        throw new Error("cannot handle it");
      });
      await logged.subscribe("poisoned", "g", async () => {
        throw new PoisonMessageError("not a valid envelope");
      });
      await logged.subscribeBroadcast("live", async () => {
        throw new Error("cannot push it");
      });
      const published: Record<string, string> = {};
      for (const topic of ["failing", "poisoned", "live"]) {
        await logged.publish(topic, [{ key: "k", value: envelope().value, headers: callerHeaders(topic).headers }]);
        published[topic] = spanNamed(`publish ${topic}`).spanContext().spanId;
      }
      const about = (topic: string) => lines.filter((line) => line.topic === topic);
      await eventually(() => about("failing").length === 3 && about("poisoned").length === 1 && about("live").length === 1, 5_000, "the lines about the three messages");

      // Each line names the context its message travelled with: the span that published it.
      const traced = (topic: string) => about(topic).map((line) => ({ msg: line.msg, traceId: line.traceId, spanId: line.spanId }));
      const producer = (topic: string) => ({ traceId: spanNamed(`publish ${topic}`).spanContext().traceId, spanId: published[topic] });
      expect(traced("failing")).toEqual([
        { msg: "handler failed, will retry", ...producer("failing") },
        { msg: "handler failed, will retry", ...producer("failing") },
        { msg: "message dead-lettered", ...producer("failing") },
      ]);
      expect(traced("poisoned")).toEqual([{ msg: "message dead-lettered", ...producer("poisoned") }]);
      expect(about("poisoned")[0]!.error).toContain("PoisonMessageError");
      expect(traced("live")).toEqual([{ msg: "broadcast handler failed", ...producer("live") }]);
    } finally {
      await logged.close();
    }
  });
});
