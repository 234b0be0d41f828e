import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Bus } from "../../shared/bus/bus";
import { newEnvelope, orderCreatedTopic, paymentProcessedTopic, type OrderCreated, type PaymentProcessedPayload } from "../../shared/contracts";
import type { Database } from "../../shared/db";
import { eventually } from "../../shared/testing/eventually";
import { startModuleUnderTest, type ModuleUnderTest } from "../../shared/testing/module-under-test";
import type { OrdersDatabase } from "./db/orders.tables";
import { ordersModule } from "./index";

interface OrderBody {
  id: string;
  userId: string;
  amount: number;
  description: string;
  status: string;
  failureReason?: string;
}

for (const busKind of ["memory", "redis"] as const) {
  describe(`orders over the ${busKind} bus, on PostgreSQL`, () => {
    let orders: ModuleUnderTest<OrdersDatabase>;
    let database: Database<OrdersDatabase>;
    let bus: Bus;
    const orderCreated: OrderCreated[] = [];

    beforeAll(async () => {
      orders = await startModuleUnderTest<OrdersDatabase>(ordersModule, { bus: busKind, serve: true });
      ({ database, bus } = orders);
      await bus.subscribe(orderCreatedTopic, "test-payments", async (m) => void orderCreated.push(JSON.parse(m.value)));
    });

    afterAll(() => orders.stop());

    const url = (path: string) => orders.url(path);
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(url(path), { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });
    const getOrder = async (id: string) => (await (await fetch(url(`/api/orders/${id}`))).json()) as OrderBody;
    async function placeOrder(userId: string, amount = 10): Promise<OrderBody> {
      const response = await post("/api/orders", { userId, amount, description: "a test order" });
      expect(response.status).toBe(201);
      return (await response.json()) as OrderBody;
    }
    function result(order: OrderBody, status: "completed" | "failed", reason?: PaymentProcessedPayload["reason"]) {
      const payload: PaymentProcessedPayload = { orderId: order.id, userId: order.userId, status, ...(reason ? { reason } : {}) };
      return newEnvelope(paymentProcessedTopic, order.userId, payload);
    }
    const publish = (envelope: ReturnType<typeof result>) =>
      bus.publish(paymentProcessedTopic, [{ key: envelope.key, value: JSON.stringify(envelope) }]);
    const inboxCount = async () =>
      Number((await (database.kysely.withSchema("orders") as Kysely<OrdersDatabase>).selectFrom("inbox").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);

    test("an order is Created, then PaymentPending once published, then terminal on its result", async () => {
      const userId = randomUUID();
      const order = await placeOrder(userId, 19.99);
      expect(order).toMatchObject({ userId, amount: 19.99, description: "a test order", status: "Created" });
      await eventually(() => orderCreated.some((m) => m.payload.orderId === order.id), 10_000, "order-created on the bus");
      const message = orderCreated.find((m) => m.payload.orderId === order.id)!;
      expect(message).toMatchObject({ type: "order-created", key: userId, version: 1, payload: { userId, amount: 1_999 } });
      await eventually(async () => (await getOrder(order.id)).status === "PaymentPending", 10_000, "PaymentPending");

      await publish(result(order, "completed"));
      await eventually(async () => (await getOrder(order.id)).status === "PaymentCompleted", 10_000, "PaymentCompleted");
    });

    test("a failed payment records its reason; a late or repeated result never moves the order back", async () => {
      const order = await placeOrder(randomUUID());
      const failed = result(order, "failed", "insufficient_funds");
      await publish(failed);
      await eventually(async () => (await getOrder(order.id)).status === "PaymentFailed", 10_000, "PaymentFailed");
      expect((await getOrder(order.id)).failureReason).toBe("insufficient_funds");

      const inboxBefore = await inboxCount();
      await publish(failed); // the same message again: skipped by the inbox
      await publish(result(order, "completed")); // a contradicting late result: recorded, changes nothing
      await eventually(async () => (await inboxCount()) === inboxBefore + 1, 10_000, "the late result to be consumed");
      expect(await getOrder(order.id)).toMatchObject({ status: "PaymentFailed", failureReason: "insufficient_funds" });
    });

    test("the same Idempotency-Key returns the same order and creates one; another body with it is 422", async () => {
      const userId = randomUUID();
      const key = randomUUID();
      const body = { userId, amount: 5, description: "once" };
      const first = await post("/api/orders", body, { "Idempotency-Key": key });
      const again = await post("/api/orders", body, { "Idempotency-Key": key });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(((await again.json()) as OrderBody).id).toBe(((await first.json()) as OrderBody).id);
      const other = await post("/api/orders", { ...body, amount: 6 }, { "Idempotency-Key": key });
      expect(other.status).toBe(422);
      const list = (await (await fetch(url(`/api/orders?userId=${userId}`))).json()) as { items: OrderBody[] };
      expect(list.items).toHaveLength(1);
    });

    test("a user's orders are listed newest first, page by page", async () => {
      const userId = randomUUID();
      const placed = [];
      for (let i = 0; i < 5; i++) placed.push(await placeOrder(userId, i + 1));
      await placeOrder(randomUUID()); // someone else's
      const first = (await (await fetch(url(`/api/orders?userId=${userId}&limit=3`))).json()) as { items: OrderBody[]; nextBefore: number };
      expect(first.items.map((o) => o.amount)).toEqual([5, 4, 3]);
      const second = (await (await fetch(url(`/api/orders?userId=${userId}&limit=3&before=${first.nextBefore}`))).json()) as {
        items: OrderBody[];
        nextBefore: number | null;
      };
      expect(second.items.map((o) => o.amount)).toEqual([2, 1]);
      expect(second.nextBefore).toBeNull();
    });

    test("bad input is a 400 problem+json and writes nothing; an unknown order is 404", async () => {
      const userId = randomUUID();
      const bad: unknown[] = [
        { userId, amount: 0, description: "x" },
        { userId, amount: 1.001, description: "x" },
        { userId, amount: "10", description: "x" },
        { userId: "nope", amount: 10, description: "x" },
        { userId, amount: 10, description: "" },
        { userId, amount: 10, description: "x", extra: true },
        { userId, amount: 10 },
      ];
      for (const body of bad) {
        const response = await post("/api/orders", body);
        expect(response.status).toBe(400);
        expect(response.headers.get("content-type")).toContain("application/problem+json");
        expect(((await response.json()) as { errors: unknown[] }).errors.length).toBeGreaterThan(0);
      }
      const malformed = await fetch(url("/api/orders"), { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
      expect(malformed.status).toBe(400);
      const list = (await (await fetch(url(`/api/orders?userId=${userId}`))).json()) as { items: OrderBody[] };
      expect(list.items).toHaveLength(0);
      expect((await fetch(url(`/api/orders/${randomUUID()}`))).status).toBe(404);
      expect((await fetch(url("/api/orders/not-a-uuid"))).status).toBe(400);
      expect((await fetch(url("/ws?userId=nope"))).status).toBe(400);
    });

    test("a WebSocket receives every change of its own user's orders, and nothing of another's", async () => {
      const alice = randomUUID();
      const bob = randomUUID();
      const received = { alice: [] as OrderBody[], bob: [] as OrderBody[] };
      const sockets = await Promise.all(
        (["alice", "bob"] as const).map(
          (who) =>
            new Promise<WebSocket>((resolve, reject) => {
              const socket = new WebSocket(url(`/ws?userId=${who === "alice" ? alice : bob}`).replace("http", "ws"));
              socket.onmessage = (event) => {
                const message = JSON.parse(String(event.data)) as { type: string; order: OrderBody };
                expect(message.type).toBe("order.updated");
                received[who].push(message.order);
              };
              socket.onopen = () => resolve(socket);
              socket.onerror = reject;
            }),
        ),
      );
      const order = await placeOrder(alice, 42);
      await eventually(() => received.alice.some((o) => o.status === "PaymentPending"), 10_000, "PaymentPending pushed");
      // What the sockets show is the order as the API shows it: as placed, then as it is now.
      expect(received.alice[0]).toEqual(order);
      expect(received.alice[1]).toEqual(await getOrder(order.id));
      await publish(result(order, "completed"));
      await eventually(() => received.alice.some((o) => o.status === "PaymentCompleted"), 10_000, "PaymentCompleted pushed");
      expect(received.alice.map((o) => o.status)).toEqual(["Created", "PaymentPending", "PaymentCompleted"]);
      expect(received.alice[2]).toEqual(await getOrder(order.id));
      expect(received.alice.every((o) => o.id === order.id && o.amount === 42)).toBe(true);
      const bobs = await placeOrder(bob, 1);
      await eventually(() => received.bob.some((o) => o.status === "PaymentPending"), 10_000, "bob's own update");
      expect(received.bob.every((o) => o.id === bobs.id)).toBe(true);
      for (const socket of sockets) socket.close();
    });
  });
}
