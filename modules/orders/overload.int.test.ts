import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { Admission } from "../../shared/admission/admission";
import { eventually } from "../../shared/testing/eventually";
import { startModuleUnderTest, type ModuleUnderTest } from "../../shared/testing/module-under-test";
import type { OrdersDatabase } from "./db/orders.tables";
import { ordersModule } from "./index";

/** Small queues, and no wait bound within a test's time: only the count refuses. */
const queueBounds = { maxEventLoopDelayMs: 10_000, requests: { maxQueue: 2, maxWaitMs: 60_000 } };
const env = { ORDER_INTAKE_MAX_QUEUE: "3", ORDER_INTAKE_MAX_WAIT: "60s" };

describe("orders under overload (PostgreSQL)", () => {
  let system: ModuleUnderTest<OrdersDatabase>;
  let admin: postgres.Sql;
  const admission = new Admission();

  beforeAll(async () => {
    system = await startModuleUnderTest(ordersModule, { bus: "memory", serve: true, env, admission: { admission, queueBounds } });
    admin = postgres(system.databaseUrl, { max: 2, onnotice: () => {} });
  });

  afterAll(async () => {
    await admin.end();
    await system.stop();
  });

  const url = (path: string) => system.url(path);
  const placeOrder = (description: string, init: RequestInit = {}) =>
    fetch(url("/api/orders"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: randomUUID(), amount: 1, description }),
      ...init,
    });
  const depth = (queue: string) => admission.states().find((state) => state.queue === queue)?.depth;
  const ordersNamed = async (description: string) => Number((await admin`select count(*)::int as n from orders.orders where description = ${description}`)[0]!.n);
  /** Intake statements waiting on the held table lock. */
  const blockedInserts = async () =>
    Number(
      (await admin`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query ilike '%insert into orders.orders%'`)[0]!.n,
    );

  /** Holds an exclusive lock on the orders table until `release()`: every statement on it waits. */
  async function holdOrdersTable(): Promise<{ release(): Promise<void> }> {
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const done = admin.begin(async (tx) => {
      await tx`lock table orders.orders in access exclusive mode`;
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await isLocked;
    return { release: async () => (release(), await done) };
  }

  /** Both intake statements in flight and stuck on the lock: from here, what is placed stays queued. */
  async function jamTheIntake(run: string): Promise<Promise<Response>[]> {
    const inFlight = [placeOrder(`${run} in flight 1`)];
    await eventually(async () => (await blockedInserts()) === 1, 10_000, "the first intake statement to wait on the lock");
    inFlight.push(placeOrder(`${run} in flight 2`));
    await eventually(async () => (await blockedInserts()) === 2, 10_000, "the second intake statement to wait on the lock");
    return inFlight;
  }

  test("a full intake refuses the next order at once with 503 and Retry-After, and writes nothing for it", async () => {
    const run = randomUUID();
    const lock = await holdOrdersTable();
    let refused: Response, queued: Promise<Response>[], inFlight: Promise<Response>[];
    try {
      inFlight = await jamTheIntake(run);
      queued = [1, 2, 3].map((n) => placeOrder(`${run} queued ${n}`));
      await eventually(() => depth("order-intake") === 3, 10_000, "three orders queued");
      refused = await placeOrder(`${run} refused`);
      // While it sheds, readiness says so; the metrics show the refusal and the full queue.
      const ready = await fetch(url("/health/ready"));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ detail: expect.stringContaining("Overloaded"), overloaded: ["order-intake"] });
      const metrics = await (await fetch(url("/metrics"))).text();
      expect(metrics).toContain('gozon_requests_shed_total{route="/api/orders"} 1');
      expect(metrics).toContain('gozon_queue_depth{queue="order-intake"} 3');
    } finally {
      await lock.release();
    }
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("60");
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(await refused.json()).toMatchObject({ status: 503, title: "Service Unavailable", detail: expect.stringContaining("overloaded") });
    const answers = await Promise.all([...inFlight, ...queued]);
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await ordersNamed(`${run} refused`)).toBe(0);
    expect(await ordersNamed(`${run} queued 3`)).toBe(1);
  });

  test("an order whose client goes away while it is queued is never written", async () => {
    const run = randomUUID();
    const lock = await holdOrdersTable();
    const client = new AbortController();
    let inFlight: Promise<Response>[], abandoned: Promise<unknown>;
    try {
      inFlight = await jamTheIntake(run);
      abandoned = placeOrder(`${run} abandoned`, { signal: client.signal }).catch((error: unknown) => error);
      await eventually(() => depth("order-intake") === 1, 10_000, "the order to be queued");
      client.abort();
      await eventually(() => depth("order-intake") === 0, 10_000, "the abandoned order to leave the queue");
    } finally {
      await lock.release();
    }
    expect((await Promise.all(inFlight)).map((answer) => answer.status)).toEqual([201, 201]);
    expect(await abandoned).toBeInstanceOf(Error);
    expect(await ordersNamed(`${run} in flight 2`)).toBe(1);
    expect(await ordersNamed(`${run} abandoned`)).toBe(0);
  });

  test("past the request gate, a cancel is refused with 503 and changes nothing", async () => {
    const run = randomUUID();
    const placed = await placeOrder(`${run} to cancel`);
    const order = (await placed.json()) as { id: string; status: string };
    const lock = await holdOrdersTable();
    let reads: Promise<Response>[];
    try {
      // Five reads hold the gate's places (each waits on the lock), two more fill its queue.
      reads = Array.from({ length: 7 }, () => fetch(url(`/api/orders/${order.id}`)));
      await eventually(() => depth("orders-requests") === 2, 10_000, "the request gate to be full");
      const cancel = await fetch(url(`/api/orders/${order.id}/cancel`), { method: "POST" });
      expect(cancel.status).toBe(503);
      expect(cancel.headers.get("retry-after")).toBe("60");
      expect(await (await fetch(url("/metrics"))).text()).toContain('gozon_requests_shed_total{route="/api/orders/:id/cancel"} 1');
    } finally {
      await lock.release();
    }
    expect((await Promise.all(reads)).map((read) => read.status)).toEqual(Array(7).fill(200));
    const [row] = await admin`select status from orders.orders where id = ${order.id}`;
    expect(row!.status).not.toMatch(/Cancel|Refund/);
  });
});
