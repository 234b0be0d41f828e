import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import Redis from "ioredis";
import postgres from "postgres";
import { newEnvelope, orderCreatedTopic } from "../../shared/contracts";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { BusStreams } from "../support/bus-streams";
import { OtlpReceiver, spanKind, type ReceivedSpan } from "../support/otlp-receiver";
import { SplitSystem } from "../support/split-system";
import { startProcess, startTimeoutMs, type SystemProcess } from "../support/system-process";
import { openAccount, placeOrder, watchOrders } from "../support/walkthrough";
import { testRedisUrl } from "../../shared/testing/redis";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Export every 100 ms, so a test waits for spans in fractions of a second. */
const quickExport = { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_BSP_SCHEDULE_DELAY: "100" };

/** A caller's span context: the W3C traceparent an upstream service would send. */
function callerContext(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** The span named `name` (of `kind`) in the trace; fails with the names present when missing. */
function find(spans: ReceivedSpan[], name: string, kind: number): ReceivedSpan {
  const span = spans.find((candidate) => candidate.name === name && candidate.kind === kind);
  if (!span) throw new Error(`no ${name} span (kind ${kind}) in the trace; it holds: ${spans.map((s) => `${s.name}/${s.kind}@${s.service}`).join(", ")}`);
  return span;
}

/** Each span's parent is in the trace, up to the root: one tree under the caller's span. */
function expectOneTree(spans: ReceivedSpan[], rootParent: string): void {
  const ids = new Set(spans.map((span) => span.spanId));
  for (const span of spans) {
    expect({ span: span.name, parentKnown: span.parentSpanId === rootParent || ids.has(span.parentSpanId ?? "") }).toEqual({
      span: span.name,
      parentKnown: true,
    });
  }
}

/** The messaging attributes of the semantic conventions, and the order id, on a bus span. */
function expectMessaging(span: ReceivedSpan, system: string, topic: string, operation: "send" | "process", orderId: string): void {
  expect(span.attributes).toMatchObject({
    "messaging.system": system,
    "messaging.destination.name": topic,
    "messaging.operation.type": operation,
    "gozon.order_id": orderId,
  });
  expect(String(span.attributes["messaging.message.id"])).toMatch(/^[0-9a-f-]{36}$/);
}

/**
 * The order's trace as the issue asks for it: the server span of POST /api/orders a child of the
 * caller's span, order-created published by the relay and consumed by Payments, payment-processed
 * published and consumed by Orders, the final status's live update consumed and pushed over the
 * WebSocket, every span in one tree.
 */
function expectOrderTrace(spans: ReceivedSpan[], caller: { spanId: string }, orderId: string, system: string, services: { orders: string; payments: string }) {
  const server = find(spans, "POST /api/orders", spanKind.server);
  expect(server.parentSpanId).toBe(caller.spanId);
  expect(server.service).toBe(services.orders);
  expect(server.attributes).toMatchObject({
    "http.request.method": "POST",
    "http.route": "/api/orders",
    "http.response.status_code": 201,
    "url.path": "/api/orders",
    "gozon.order_id": orderId,
  });

  const published = find(spans, "publish order-created", spanKind.producer);
  expect(published.parentSpanId).toBe(server.spanId);
  expect(published.service).toBe(services.orders);
  expectMessaging(published, system, "order-created", "send", orderId);

  const paid = find(spans, "process order-created", spanKind.consumer);
  expect(paid.parentSpanId).toBe(published.spanId);
  expect(paid.service).toBe(services.payments);
  expectMessaging(paid, system, "order-created", "process", orderId);
  expect(paid.attributes["messaging.consumer.group.name"]).toBe("payments");

  const result = find(spans, "publish payment-processed", spanKind.producer);
  expect(result.parentSpanId).toBe(paid.spanId);
  expect(result.service).toBe(services.payments);

  const recorded = find(spans, "process payment-processed", spanKind.consumer);
  expect(recorded.parentSpanId).toBe(result.spanId);
  expect(recorded.service).toBe(services.orders);
  expectMessaging(recorded, system, "payment-processed", "process", orderId);
  expect(recorded.attributes["messaging.consumer.group.name"]).toBe("orders");

  const update = find(spans, "publish orders.order-updated", spanKind.producer);
  expect(update.parentSpanId).toBe(recorded.spanId);
  const delivered = find(spans, "process orders.order-updated", spanKind.consumer);
  expect(delivered.parentSpanId).toBe(update.spanId);
  const push = find(spans, "websocket push", spanKind.internal);
  expect(push.parentSpanId).toBe(delivered.spanId);
  expect(push.attributes).toMatchObject({ "gozon.order.status": "PaymentCompleted", "gozon.order_id": orderId });

  expectOneTree(spans, caller.spanId);
}

/** Waits for the last span of the order's trace; when it does not come, the checks that follow say what is missing. */
async function waitForPush(receiver: OtlpReceiver, traceId: string): Promise<void> {
  await eventually(() => receiver.trace(traceId).some((span) => span.name === "websocket push"), 10_000, "the push's span").catch(() => {});
}

describe("one trace per order", () => {
  test(
    "split mode over Redis: from the caller's span through both processes to the WebSocket push",
    async () => {
      const receiver = OtlpReceiver.start();
      cleanups.push(async () => receiver.stop());
      const system = await SplitSystem.start(testRedisUrl, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...quickExport });
      cleanups.push(() => system.cleanup());

      const userId = await openAccount(system.urls.payments, 1000);
      const live = await watchOrders(system.urls.orders, userId);
      cleanups.push(async () => live.close());
      const caller = callerContext();
      const order = await placeOrder(system.urls.orders, userId, 250.5, { traceparent: caller.traceparent });
      await eventually(() => live.updates.some((o) => o.id === order.id && o.status === "PaymentCompleted"), 15_000, "PaymentCompleted pushed");

      await waitForPush(receiver, caller.traceId);
      const spans = receiver.trace(caller.traceId);
      expectOrderTrace(spans, caller, order.id, "redis", { orders: "gozon-orders", payments: "gozon-payments" });
      // Two processes: the spans come from two pids.
      expect(new Set(spans.map((span) => span.pid)).size).toBe(2);
    },
    startTimeoutMs + 30_000,
  );

  test(
    "mono mode over the memory bus: the same trace, from one process",
    async () => {
      const receiver = OtlpReceiver.start();
      cleanups.push(async () => receiver.stop());
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      const started = await startProcess({ DATABASE_URL: database.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...quickExport });
      cleanups.push(() => started.cleanup());
      const baseUrl = await started.listening();

      const userId = await openAccount(baseUrl, 1000);
      const live = await watchOrders(baseUrl, userId);
      cleanups.push(async () => live.close());
      const caller = callerContext();
      const order = await placeOrder(baseUrl, userId, 99.99, { traceparent: caller.traceparent });
      await eventually(() => live.updates.some((o) => o.id === order.id && o.status === "PaymentCompleted"), 15_000, "PaymentCompleted pushed");

      await waitForPush(receiver, caller.traceId);
      expectOrderTrace(receiver.trace(caller.traceId), caller, order.id, "memory", { orders: "gozon", payments: "gozon" });

      // Cancelling it is a trace of its own: the request, the refund request and its answer (the
      // transaction-form consumers), the Refunded push.
      const canceller = callerContext();
      const cancelled = await fetch(`${baseUrl}/api/orders/${order.id}/cancel`, { method: "POST", headers: { traceparent: canceller.traceparent } });
      expect(cancelled.status).toBe(202);
      await eventually(() => live.updates.some((o) => o.id === order.id && o.status === "Refunded"), 15_000, "Refunded pushed");
      await eventually(
        () => receiver.trace(canceller.traceId).some((span) => span.name === "websocket push" && span.attributes["gozon.order.status"] === "Refunded"),
        10_000,
        "the Refunded push's span",
      ).catch(() => {});
      const spans = receiver.trace(canceller.traceId);
      const server = find(spans, "POST /api/orders/:id/cancel", spanKind.server);
      expect(server.parentSpanId).toBe(canceller.spanId);
      expect(server.attributes["gozon.order_id"]).toBe(order.id);
      const requested = find(spans, "process refund-requested", spanKind.consumer);
      expect(requested.parentSpanId).toBe(find(spans, "publish refund-requested", spanKind.producer).spanId);
      expectMessaging(requested, "memory", "refund-requested", "process", order.id);
      const answered = find(spans, "process refund-processed", spanKind.consumer);
      expect(answered.parentSpanId).toBe(find(spans, "publish refund-processed", spanKind.producer).spanId);
      expectMessaging(answered, "memory", "refund-processed", "process", order.id);
      expect(spans.filter((span) => span.name === "websocket push").map((span) => span.attributes["gozon.order.status"]).sort()).toEqual(["RefundPending", "Refunded"]);
      expectOneTree(spans, canceller.spanId);
    },
    startTimeoutMs + 30_000,
  );
});

describe("every line logged about a message carries its trace context", () => {
  test(
    "split mode: a payment the database refuses (retries, dead letter), a poison message and a skipped duplicate",
    async () => {
      const receiver = OtlpReceiver.start();
      cleanups.push(async () => receiver.stop());
      const system = await SplitSystem.start(testRedisUrl, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...quickExport, LOG_LEVEL: "debug" });
      cleanups.push(() => system.cleanup());
      const payments = postgres(system.databaseUrls.payments, { max: 1, onnotice: () => {} });
      cleanups.push(() => payments.end());
      const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
      redis.on("error", () => {});
      cleanups.push(async () => redis.disconnect());
      const streams = new BusStreams(redis, system.prefix);
      const linesAbout = (orderId: string, messages: string[]) =>
        system.logLines("payments").filter((line) => line.orderId === orderId && messages.includes(String(line.msg)));
      const ids = (line: Record<string, unknown>) => ({ msg: line.msg, traceId: line.traceId, spanId: line.spanId });
      const spanIds = (traceId: string, name: string) => receiver.trace(traceId).filter((span) => span.name === name).map((span) => span.spanId);

      // An operator's constraint refuses this user's debits: the payment fails every time.
      const unlucky = await openAccount(system.urls.payments, 100);
      await payments.unsafe(`
        create function public.refuse_debit() returns trigger language plpgsql as $$
        begin raise exception 'refused by an operator constraint'; end $$;
        create trigger refuse_debit before insert on payments.ledger for each row
          when (new.kind = 'debit' and new.user_id = '${unlucky}') execute function public.refuse_debit();`);
      const refused = callerContext();
      const order = await placeOrder(system.urls.orders, unlucky, 30, { traceparent: refused.traceparent });
      const failing = ["handler failed, will retry", "message dead-lettered"];
      await eventually(() => linesAbout(order.id, failing).some((line) => line.msg === "message dead-lettered"), 30_000, "the payment dead-lettered");
      await eventually(() => spanIds(refused.traceId, "publish order-created").length > 0, 10_000, "the order-created publish span");
      // The bus's lines carry the context the message travelled with: the span that published it.
      const [publishedBy] = spanIds(refused.traceId, "publish order-created");
      const lines = linesAbout(order.id, failing);
      expect(lines.map((line) => line.msg)).toContain("handler failed, will retry");
      expect(lines.map(ids)).toEqual(lines.map((line) => ({ msg: line.msg, traceId: refused.traceId, spanId: publishedBy })));

      // Poison (a payload that fails its schema) with a trace context of its own: dead-lettered at once, the line carries it.
      const poisonTrace = callerContext();
      const poisonOrder = crypto.randomUUID();
      const poison = newEnvelope(orderCreatedTopic, unlucky, { orderId: poisonOrder, userId: unlucky, amount: -5, description: "poison" });
      await streams.republish(orderCreatedTopic, [{ key: unlucky, value: JSON.stringify(poison), headers: { traceparent: poisonTrace.traceparent } }]);
      await eventually(() => linesAbout(poisonOrder, failing).length > 0, 20_000, "the poison message dead-lettered");
      expect(linesAbout(poisonOrder, failing).map(ids)).toEqual([{ msg: "message dead-lettered", traceId: poisonTrace.traceId, spanId: poisonTrace.spanId }]);
      expect(String(linesAbout(poisonOrder, failing)[0]!.error)).toContain("PoisonMessageError");

      // A paid order's order-created delivered again (as its outbox row stored it): skipped, with a
      // debug line inside the consumer span of that delivery.
      const lucky = await openAccount(system.urls.payments, 100);
      const paidTrace = callerContext();
      const paid = await placeOrder(system.urls.orders, lucky, 10, { traceparent: paidTrace.traceparent });
      await eventually(() => completedOrder(system.urls.orders, paid.id), 15_000, "the order paid");
      const orders = postgres(system.databaseUrls.orders, { max: 1, onnotice: () => {} });
      cleanups.push(() => orders.end());
      const [row] = await orders<{ key: string; value: string; headers: Record<string, string> }[]>`
        select key, value, headers from orders.outbox where topic = ${orderCreatedTopic} and value::json->'payload'->>'orderId' = ${paid.id}`;
      await streams.republish(orderCreatedTopic, [row!]);
      const skipped = () => linesAbout(paid.id, ["duplicate message skipped"]);
      await eventually(() => skipped().length === 1, 20_000, "the duplicate skipped");
      await eventually(() => spanIds(paidTrace.traceId, "process order-created").length === 2, 10_000, "both consumer spans exported");
      expect(skipped()[0]).toMatchObject({ level: "debug", traceId: paidTrace.traceId });
      expect(spanIds(paidTrace.traceId, "process order-created")).toContain(String(skipped()[0]!.spanId));
    },
    startTimeoutMs + 60_000,
  );
});

/** A mono process on a fresh PostgreSQL database, with `env`; returns it and its base URL. */
async function startMono(env: Record<string, string>): Promise<{ started: SystemProcess; baseUrl: string; databaseUrl: string }> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const started = await startProcess({ DATABASE_URL: database.url, ...env });
  cleanups.push(() => started.cleanup());
  return { started, baseUrl: await started.listening(), databaseUrl: database.url };
}

/** Outbox rows (both modules) that stored a trace context. */
async function outboxRowsWithHeaders(databaseUrl: string): Promise<number> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ count: number }[]>`
      select (select count(*) from orders.outbox where headers is not null) + (select count(*) from payments.outbox where headers is not null) as count`;
    return Number(row!.count);
  } finally {
    await sql.end();
  }
}

async function completedOrder(baseUrl: string, orderId: string): Promise<boolean> {
  const response = await fetch(`${baseUrl}/api/orders/${orderId}`);
  return response.status === 200 && ((await response.json()) as { status: string }).status === "PaymentCompleted";
}

describe("tracing off", () => {
  test(
    "OTEL_SDK_DISABLED=true beside an endpoint: nothing is exported, not even at shutdown, and no outbox row stores a trace context",
    async () => {
      const receiver = OtlpReceiver.start();
      cleanups.push(async () => receiver.stop());
      const { started, baseUrl, databaseUrl } = await startMono({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: "true", ...quickExport });
      expect(started.output.stdout).not.toContain("tracing on");

      const userId = await openAccount(baseUrl, 1000);
      const order = await placeOrder(baseUrl, userId, 10, { traceparent: callerContext().traceparent });
      await eventually(() => completedOrder(baseUrl, order.id), 15_000, "the order paid");
      // A clean stop flushes whatever a tracing process has buffered: after it, nothing can still come.
      expect(await started.stop()).toBe(0);
      expect(receiver.requests).toEqual([]);
      expect(await outboxRowsWithHeaders(databaseUrl)).toBe(0);
    },
    startTimeoutMs + 30_000,
  );
});

describe("a collector that is slow, then down", () => {
  test(
    "never fails or holds up an order; one warning line for the whole outage; spans flow again once it is back",
    async () => {
      const receiver = OtlpReceiver.start();
      cleanups.push(async () => receiver.stop());
      const { started, baseUrl } = await startMono({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TIMEOUT: "300", ...quickExport });
      const warnings = () => started.output.stdout.split("\n").filter((line) => line.includes("traces not exported"));
      const userId = await openAccount(baseUrl, 10_000);

      // Each phase: orders placed one after another answer 201 and get paid, whatever the collector does.
      const placeAndPay = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const order = await placeOrder(baseUrl, userId, 1, { traceparent: callerContext().traceparent });
          await eventually(() => completedOrder(baseUrl, order.id), 15_000, `order ${order.id} paid`);
        }
      };
      await placeAndPay(3);
      await eventually(() => receiver.spans.length > 0, 10_000, "spans exported while the collector answers");

      receiver.hang();
      await placeAndPay(5);
      await eventually(() => warnings().length > 0, 10_000, "a warning once exports time out");

      receiver.stop();
      const exportsBefore = receiver.requests.length;
      await placeAndPay(10);

      receiver.restart();
      await placeAndPay(1);
      await eventually(() => started.output.stdout.includes("traces exported again"), 15_000, "exports resume");
      expect(receiver.requests.length).toBeGreaterThan(exportsBefore);

      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]).toContain('"level":"warn"');
      expect(started.output.stdout).not.toContain('"level":"error"');
    },
    startTimeoutMs + 90_000,
  );
});

describe("bad tracing settings", () => {
  for (const [variable, value] of [
    ["OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"],
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"],
    ["OTEL_TRACES_SAMPLER_ARG", "2"],
  ] as const) {
    test(`${variable}=${value} stops start-up with one line naming it`, async () => {
      const started = await startProcess({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces", [variable]: value });
      cleanups.push(() => started.cleanup());
      expect(await started.process.exited).not.toBe(0);
      await started.drained;
      const lines = started.output.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`${variable}="${value}"`);
      expect(started.output.stdout).toBe("");
    });
  }
});
