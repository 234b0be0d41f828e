import { afterAll, expect, test } from "bun:test";
import { allModules } from "../support/all-modules";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logger";
import { startServer } from "../../shared/server";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { openAccount, placeOrder, watchOrders } from "../support/walkthrough";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Parses Prometheus text exposition: every sample line must be `name{labels} value`. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

test("/metrics is Prometheus text whose counters move when orders flow and are cancelled", async () => {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const server = await startServer(
    loadConfig({ PORT: "0", DATABASE_URL: database.url }, allModules),
    allModules,
    { logger: createLogger({ level: "error" }) },
  );
  cleanups.push(() => server.stop());
  const baseUrl = `http://127.0.0.1:${server.port}`;
  const scrape = async () => {
    const response = await fetch(`${baseUrl}/metrics`);
    expect(response.headers.get("content-type")).toContain("text/plain");
    return parsePrometheus(await response.text());
  };

  const before = await scrape();
  expect(before.get('gozon_outbox_backlog{module="orders"}')).toBe(0);
  expect(before.get('gozon_outbox_backlog{module="payments"}')).toBe(0);
  expect(before.get("gozon_websocket_connections")).toBe(0);
  for (const [module, topic] of [["payments", "order-created"], ["orders", "payment-processed"]]) {
    for (const state of ["pending", "redriven", "discarded"]) expect(before.get(`gozon_dead_letters{module="${module}",topic="${topic}",state="${state}"}`)).toBe(0);
  }

  const userId = await openAccount(baseUrl, 100);
  const live = await watchOrders(baseUrl, userId);
  const orders = await Promise.all([placeOrder(baseUrl, userId, 60), placeOrder(baseUrl, userId, 60)]);
  await eventually(
    () => orders.every((order) => live.updates.some((u) => u.id === order.id && u.status.startsWith("Payment") && u.status !== "PaymentPending")),
    15_000,
    "both orders to finish",
  );

  const after = await scrape();
  expect(after.get('gozon_http_requests_total{method="POST",route="/api/orders",status="201"}')).toBe(2);
  expect(after.get('gozon_messages_consumed_total{topic="order-created",group="payments"}')).toBe(2);
  expect(after.get('gozon_messages_consumed_total{topic="payment-processed",group="orders"}')).toBe(2);
  expect(after.get("gozon_websocket_connections")).toBe(1);
  expect(after.get('gozon_outbox_oldest_unpublished_age_seconds{module="orders"}')).toBeGreaterThanOrEqual(0);

  // A cancel: its route, and both refund topics' consumers, counted.
  const paid = orders.find((order) => live.updates.some((u) => u.id === order.id && u.status === "PaymentCompleted"))!;
  expect((await fetch(`${baseUrl}/api/orders/${paid.id}/cancel`, { method: "POST" })).status).toBe(202);
  await eventually(() => live.updates.some((u) => u.id === paid.id && u.status === "Refunded"), 15_000, "the refund");
  const cancelled = await scrape();
  expect(cancelled.get('gozon_http_requests_total{method="POST",route="/api/orders/:id/cancel",status="202"}')).toBe(1);
  expect(cancelled.get('gozon_messages_consumed_total{topic="refund-requested",group="payments"}')).toBe(1);
  expect(cancelled.get('gozon_messages_consumed_total{topic="refund-processed",group="orders"}')).toBe(1);
  live.close();
}, 60_000);
