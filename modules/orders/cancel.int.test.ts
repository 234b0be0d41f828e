import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { Bus } from "../../shared/bus/bus";
import {
  newEnvelope,
  paymentProcessedTopic,
  refundProcessedTopic,
  refundRequestedTopic,
  type PaymentProcessedPayload,
  type RefundProcessedPayload,
  type RefundRequested,
} from "../../shared/contracts";
import type { Database } from "../../shared/db";
import { eventually } from "../../shared/testing/eventually";
import { startModuleUnderTest, type ModuleUnderTest } from "../../shared/testing/module-under-test";
import type { OrdersDatabase } from "./db/orders.tables";
import { ordersModule } from "./index";

/**
 * POST /api/orders/{id}/cancel and the refund answers, with the test playing Payments: it reads
 * `refund-requested` and publishes `payment-processed` and `refund-processed` itself.
 */

interface OrderBody {
  id: string;
  userId: string;
  amount: number;
  status: string;
  updatedAt: string;
}

for (const busKind of ["memory", "redis"] as const) {
  describe(`cancelling orders over the ${busKind} bus, on PostgreSQL`, () => {
    let orders: ModuleUnderTest<OrdersDatabase>;
    let database: Database<OrdersDatabase>;
    let bus: Bus;
    const refundRequests: RefundRequested[] = [];

    beforeAll(async () => {
      orders = await startModuleUnderTest<OrdersDatabase>(ordersModule, { bus: busKind, serve: true });
      ({ database, bus } = orders);
      await bus.subscribe(refundRequestedTopic, "test-payments", async (m) => void refundRequests.push(JSON.parse(m.value)));
    });

    afterAll(() => orders.stop());

    const url = (path: string) => orders.url(path);
    const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(url(path), { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }), headers: { "content-type": "application/json", ...headers } });
    const getOrder = async (id: string) => (await (await fetch(url(`/api/orders/${id}`))).json()) as OrderBody;
    const cancel = (id: string, headers: Record<string, string> = {}) => post(`/api/orders/${id}/cancel`, undefined, headers);
    async function placeOrder(userId: string = randomUUID(), amount = 10): Promise<OrderBody> {
      const response = await post("/api/orders", { userId, amount, description: "to be cancelled" });
      expect(response.status).toBe(201);
      return (await response.json()) as OrderBody;
    }
    const publish = async (topic: string, order: OrderBody, payload: object) => {
      const envelope = newEnvelope(topic, order.userId, { orderId: order.id, userId: order.userId, ...payload });
      await bus.publish(topic, [{ key: envelope.key, value: JSON.stringify(envelope) }]);
    };
    const paymentResult = (order: OrderBody, payload: Omit<PaymentProcessedPayload, "orderId" | "userId">) => publish(paymentProcessedTopic, order, payload);
    const refundAnswer = (order: OrderBody, payload: Omit<RefundProcessedPayload, "orderId" | "userId">) => publish(refundProcessedTopic, order, payload);
    const statusReaches = (order: OrderBody, status: string) =>
      eventually(async () => (await getOrder(order.id)).status === status, 10_000, `order ${order.id} ${status}`);
    const requestsFor = (order: OrderBody) => refundRequests.filter((message) => message.payload.orderId === order.id);
    const count = async (query: ReturnType<typeof sql<{ count: number }>>) => (await query.execute(database.kysely)).rows[0]!.count;
    const outboxRows = () => count(sql`select count(*)::int as count from orders.outbox`);
    const inboxRows = () => count(sql`select count(*)::int as count from orders.inbox`);

    function watch(userId: string): Promise<{ statuses: (id: string) => string[]; close(): void }> {
      const seen: OrderBody[] = [];
      const socket = new WebSocket(url(`/ws?userId=${userId}`).replace("http", "ws"));
      socket.onmessage = (event) => void seen.push((JSON.parse(String(event.data)) as { order: OrderBody }).order);
      return new Promise((resolve, reject) => {
        socket.onopen = () => resolve({ statuses: (id) => seen.filter((o) => o.id === id).map((o) => o.status), close: () => socket.close() });
        socket.onerror = reject;
      });
    }

    test("a paid order: 202 RefundPending, one refund-requested, Refunded on the answer, pushed live; again changes nothing", async () => {
      const userId = randomUUID();
      const live = await watch(userId);
      const order = await placeOrder(userId, 25);
      await paymentResult(order, { status: "completed", balance: 75 });
      await statusReaches(order, "PaymentCompleted");

      const response = await cancel(order.id);
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ id: order.id, status: "RefundPending", amount: 25 });
      await eventually(() => requestsFor(order).length === 1, 10_000, "refund-requested on the bus");
      expect(requestsFor(order)[0]).toMatchObject({ type: "refund-requested", key: userId, version: 1, payload: { orderId: order.id, userId } });

      await refundAnswer(order, { status: "refunded", amount: 2_500, balance: 10_000 });
      await statusReaches(order, "Refunded");
      await eventually(() => live.statuses(order.id).includes("Refunded"), 10_000, "Refunded pushed");
      expect(live.statuses(order.id).slice(-3)).toEqual(["PaymentCompleted", "RefundPending", "Refunded"]);

      const settled = await getOrder(order.id);
      const outboxBefore = await outboxRows();
      const again = await cancel(order.id);
      expect(again.status).toBe(202);
      expect(await again.json()).toEqual(settled);
      expect(await outboxRows()).toBe(outboxBefore);
      expect(requestsFor(order)).toHaveLength(1);
      live.close();
    });

    test("cancelled before its payment result: CancelRequested holds against a late result; the answer decides", async () => {
      const completed = await placeOrder();
      const failed = await placeOrder();
      for (const order of [completed, failed]) {
        const response = await cancel(order.id);
        expect(response.status).toBe(202);
        expect(((await response.json()) as OrderBody).status).toBe("CancelRequested");
      }
      await eventually(() => requestsFor(completed).length === 1 && requestsFor(failed).length === 1, 10_000, "both refund requests");

      // The payment results arrive after the cancel: consumed, and no order moves back.
      const inboxBefore = await inboxRows();
      await paymentResult(completed, { status: "completed", balance: 0 });
      await paymentResult(failed, { status: "failed", reason: "insufficient_funds", balance: 0 });
      await eventually(async () => (await inboxRows()) === inboxBefore + 2, 10_000, "the late results to be consumed");
      expect((await getOrder(completed.id)).status).toBe("CancelRequested");
      expect((await getOrder(failed.id)).status).toBe("CancelRequested");

      await refundAnswer(completed, { status: "refunded", amount: 1_000, balance: 1_000 });
      await refundAnswer(failed, { status: "cancelled" });
      await statusReaches(completed, "Refunded");
      await statusReaches(failed, "Cancelled");

      // A contradicting repeat of an answer changes nothing: final statuses are final.
      const before = await getOrder(failed.id);
      const inboxNow = await inboxRows();
      await refundAnswer(failed, { status: "refunded", amount: 1_000, balance: 1_000 });
      await refundAnswer(completed, { status: "cancelled" });
      await eventually(async () => (await inboxRows()) === inboxNow + 2, 10_000, "the contradicting answers to be consumed");
      expect(await getOrder(failed.id)).toEqual(before);
      expect((await getOrder(completed.id)).status).toBe("Refunded");
    });

    test("a PaymentFailed order is 409 and nothing is written; unknown 404, malformed 400", async () => {
      const order = await placeOrder();
      await paymentResult(order, { status: "failed", reason: "insufficient_funds", balance: 0 });
      await statusReaches(order, "PaymentFailed");
      const outboxBefore = await outboxRows();
      const refused = await cancel(order.id);
      expect(refused.status).toBe(409);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
      expect(((await refused.json()) as { detail: string }).detail).toContain("payment failed");
      expect(await outboxRows()).toBe(outboxBefore);
      expect((await getOrder(order.id)).status).toBe("PaymentFailed");

      const unknown = await cancel(randomUUID());
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("content-type")).toContain("application/problem+json");
      const malformed = await cancel("not-a-uuid");
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { errors: { location: string }[] }).errors[0]!.location).toBe("path");
    });

    test("Idempotency-Key: the same key answers the first response again; the key on another order is 422", async () => {
      const order = await placeOrder();
      const key = randomUUID();
      const first = await cancel(order.id, { "Idempotency-Key": key });
      expect(first.status).toBe(202);
      const firstBody = await first.json();
      await refundAnswer(order, { status: "cancelled" });
      await statusReaches(order, "Cancelled");
      const again = await cancel(order.id, { "Idempotency-Key": key });
      expect(again.status).toBe(202);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(await again.json()).toEqual(firstBody);
      const other = await cancel((await placeOrder(order.userId)).id, { "Idempotency-Key": key });
      expect(other.status).toBe(422);
      expect((await cancel(order.id, { "Idempotency-Key": "with space" })).status).toBe(400);
      expect(requestsFor(order)).toHaveLength(1);
    });
  });
}
