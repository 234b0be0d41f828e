import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { orderCreatedTopic, paymentProcessedTopic, refundProcessedTopic, refundRequestedTopic } from "../../shared/contracts";
import { eventually } from "../../shared/testing/eventually";
import { checkInvariants } from "../support/invariants";
import { settle, startHarness, type Harness } from "../support/split-harness";
import { openAccount, placeOrder, watchOrders } from "../support/walkthrough";
import { testRedisUrl } from "../../shared/testing/redis";

/**
 * Cancelling orders on the real thing: split mode, two processes over Redis, a
 * PostgreSQL database each. A cancel races its order's payment across both processes, through a
 * kill -9 and redeliveries; each order must end with the customer's money, exactly once.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => console.error("cleanup failed:", error));
}, 60_000);

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness(testRedisUrl, (cleanup) => cleanups.push(cleanup));
}, 60_000);

const randomInt = (from: number, to: number) => from + Math.floor(Math.random() * (to - from + 1));
const cancel = (orderId: string) => fetch(`${harness.system.urls.orders}/api/orders/${orderId}/cancel`, { method: "POST" });

interface LedgerItem {
  kind: string;
  amount: number;
  orderId: string | null;
  balanceAfter: number;
}
async function ledgerOf(userId: string): Promise<LedgerItem[]> {
  const response = await fetch(`${harness.system.urls.payments}/api/accounts/${userId}/ledger?limit=500`);
  return ((await response.json()) as { items: LedgerItem[] }).items;
}
async function balanceOf(userId: string): Promise<number> {
  return ((await (await fetch(`${harness.system.urls.payments}/api/accounts/${userId}`)).json()) as { balance: number }).balance;
}

/** Everything a repeated cancel or a replay must leave as it was, on both sides. */
async function snapshot() {
  const { orders, payments } = harness.databases;
  const rows = async (db: typeof orders, query: ReturnType<typeof sql>) => (await query.execute(db)).rows;
  return {
    orders: await rows(orders, sql`select id, status, failure_reason, updated_at from orders.orders order by seq`),
    ordersOutbox: await rows(orders, sql`select count(*)::int as count from orders.outbox`),
    ordersInbox: await rows(orders, sql`select count(*)::int as count from orders.inbox`),
    accounts: await rows(payments, sql`select user_id, balance from payments.accounts order by user_id`),
    ledger: await rows(payments, sql`select * from payments.ledger order by id`),
    refundRequests: await rows(payments, sql`select * from payments.refund_requests order by order_id`),
    paymentsOutbox: await rows(payments, sql`select count(*)::int as count from payments.outbox`),
    paymentsInbox: await rows(payments, sql`select count(*)::int as count from payments.inbox`),
  };
}

async function expectInvariants(accepted: string[]) {
  const report = await checkInvariants(harness.databases, accepted);
  expect(report.violations).toEqual([]);
  expect(await harness.streams.deadLetters()).toBe(0);
  return report;
}

describe("cancelling orders in split mode (real processes, PostgreSQL, Redis)", () => {
  test("a paid order cancelled ends Refunded: its debit and one refund, the balance back, Refunded pushed; again changes nothing", async () => {
    const { urls } = harness.system;
    const userId = await openAccount(urls.payments, 100);
    const live = await watchOrders(urls.orders, userId);
    const order = await placeOrder(urls.orders, userId, 30);
    await eventually(() => live.updates.some((o) => o.id === order.id && o.status === "PaymentCompleted"), 15_000, "PaymentCompleted pushed");
    expect(await balanceOf(userId)).toBe(70);

    const response = await cancel(order.id);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ id: order.id, status: "RefundPending" });
    await eventually(() => live.updates.some((o) => o.id === order.id && o.status === "Refunded"), 15_000, "Refunded pushed");
    expect(live.updates.filter((o) => o.id === order.id).map((o) => o.status)).toEqual(["Created", "PaymentPending", "PaymentCompleted", "RefundPending", "Refunded"]);
    expect(await balanceOf(userId)).toBe(100);
    expect((await ledgerOf(userId)).map(({ kind, amount, orderId, balanceAfter }) => [kind, amount, orderId, balanceAfter])).toEqual([
      ["refund", 30, order.id, 100],
      ["debit", 30, order.id, 70],
      ["deposit", 100, null, 100],
    ]);

    await settle(harness, 15_000, "the refund to settle");
    const before = await snapshot();
    const again = await cancel(order.id);
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ id: order.id, status: "Refunded" });
    await settle(harness, 15_000, "nothing to settle");
    expect(await snapshot()).toEqual(before);
    live.close();
  }, 60_000);

  test("PaymentFailed is 409, an unknown order 404, a malformed id 400", async () => {
    const { urls } = harness.system;
    const userId = await openAccount(urls.payments, 10);
    const live = await watchOrders(urls.orders, userId);
    const order = await placeOrder(urls.orders, userId, 50);
    await eventually(() => live.updates.some((o) => o.id === order.id && o.status === "PaymentFailed"), 15_000, "PaymentFailed pushed");
    const refused = await cancel(order.id);
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect((await cancel(randomUUID())).status).toBe(404);
    expect((await cancel("12345")).status).toBe(400);
    live.close();
  }, 60_000);

  /** Filled by the race below, replayed by the test after it. */
  const raced: { accepted: string[] } = { accepted: [] };

  test("100 orders cancelled while their payments are in flight, payments killed -9 and restarted: every order Cancelled or Refunded, every balance back", async () => {
    const startedAt = Date.now();
    const { system, databases, streams } = harness;
    const deposit = 1_000;
    const users = await Promise.all(Array.from({ length: 10 }, () => openAccount(system.urls.payments, deposit)));
    const userOf = (index: number) => users[index % users.length]!;
    const answers: Record<string, number> = {};
    const cancelledAs: Record<string, number> = {};
    /** Cancels and counts the answer; resolves with the status the 202 reports. */
    const cancelCounted = async (orderId: string) => {
      const response = await cancel(orderId);
      answers[response.status] = (answers[response.status] ?? 0) + 1;
      const status = response.status === 202 ? ((await response.json()) as { status: string }).status : await response.text();
      cancelledAs[status] = (cancelledAs[status] ?? 0) + 1;
      return status;
    };
    const statusesOf = async (ids: string[]) =>
      (await sql<{ status: string }>`select status from orders.orders where id = any(${ids}::uuid[])`.execute(databases.orders)).rows.map((row) => row.status);
    const all = (ids: string[], status: string) => async () => {
      const statuses = await statusesOf(ids);
      return statuses.length === ids.length && statuses.every((each) => each === status);
    };

    // Both ends of the race happen by construction, never by luck: 30 orders are cancelled only
    // once paid (→ Refunded); 30 are placed and cancelled while Payments is down, their
    // order-created held off the bus until Payments has answered their cancels (→ Cancelled). The
    // other 40 race: each cancelled right after its 201 or a few ms later (up to 200), while
    // Payments pays the ones before it and across its crash; they may end either way.
    const paidFirst = await Promise.all(Array.from({ length: 30 }, (_, index) => placeOrder(system.urls.orders, userOf(index), randomInt(5, 15))));
    raced.accepted.push(...paidFirst.map((order) => order.id));
    await eventually(all(paidFirst.map((order) => order.id), "PaymentCompleted"), 30_000, "the paid-first orders paid");

    // A step every 33 ms (pacing, not waiting for a condition): 3 in 7 cancel the next paid-first
    // order (RefundPending for certain), the others place a racing order and cancel it.
    const crashAt = randomInt(20, 50);
    let stepsStarted = 0;
    const paidFirstCancels: string[] = [];
    const step = async (index: number) => {
      await Bun.sleep(index * 33);
      stepsStarted++;
      if (index % 7 < 3) {
        const next = Math.floor(index / 7) * 3 + (index % 7);
        paidFirstCancels[next] = await cancelCounted(paidFirst[next]!.id);
        return;
      }
      const order = await placeOrder(system.urls.orders, userOf(index), randomInt(5, 15));
      raced.accepted.push(order.id);
      const delay = [0, 0, 1, 2, 5, 10, 25, 50, 100, 200][randomInt(0, 9)]!;
      if (delay > 0) await Bun.sleep(delay);
      await cancelCounted(order.id);
    };
    const load = Promise.all(Array.from({ length: 70 }, (_, index) => step(index)));
    await eventually(() => stepsStarted >= crashAt, 30_000, `${crashAt} steps started`);
    const pendingBeforeCrash = (await sql<{ count: number }>`select count(*)::int as count from orders.orders where status not in ('Cancelled', 'Refunded')`.execute(databases.orders)).rows[0]!.count;
    await system.crash("payments");

    // Cancelled first, for certain: Payments is down, so no payment result can come before the cancel…
    const cancelledFirst = await Promise.all(
      Array.from({ length: 30 }, async (_, index) => {
        const order = await placeOrder(system.urls.orders, userOf(index), randomInt(5, 15));
        raced.accepted.push(order.id);
        expect(await cancelCounted(order.id)).toBe("CancelRequested");
        return order.id;
      }),
    );
    // …and their order-created, once Orders has published it for good (marked: never again),
    // is taken off the bus until Payments has answered the refund requests.
    await eventually(
      async () =>
        (await sql<{ count: number }>`
          select count(*)::int as count from orders.outbox
          where topic = ${orderCreatedTopic} and published_at is not null and (value::json->'payload'->>'orderId')::uuid = any(${cancelledFirst}::uuid[])`.execute(databases.orders))
          .rows[0]!.count === cancelledFirst.length,
      15_000,
      "the cancelled-first orders' order-created published",
    );
    const heldOrders = new Set(cancelledFirst);
    const orderIdOf = (value: string) => (JSON.parse(value) as { payload: { orderId: string } }).payload.orderId;
    const held = await streams.take(orderCreatedTopic, (message) => heldOrders.has(orderIdOf(message.value)));
    expect(new Set(held.map((message) => orderIdOf(message.value)))).toEqual(heldOrders);
    await system.restart("payments");
    await eventually(all(cancelledFirst, "Cancelled"), 30_000, "the cancelled-first orders Cancelled");
    // Now Payments gets them: each finds its order's refund request and debits nothing.
    await streams.republish(orderCreatedTopic, held);

    await load;
    await settle(harness, 90_000, "every cancelled order settled after the crash");

    expect(raced.accepted).toHaveLength(100);
    expect(answers).toEqual({ 202: 100 });
    expect(paidFirstCancels).toEqual(paidFirst.map(() => "RefundPending"));
    const statuses = (await sql<{ id: string; status: string; user_id: string }>`select id, status, user_id from orders.orders where id = any(${raced.accepted}::uuid[])`.execute(databases.orders)).rows;
    expect(statuses).toHaveLength(100);
    const byStatus = (status: string) => statuses.filter((row) => row.status === status).map((row) => row.id);
    expect(byStatus("Cancelled").length + byStatus("Refunded").length).toBe(100);
    expect(byStatus("Refunded")).toEqual(expect.arrayContaining(paidFirst.map((order) => order.id)));
    expect(byStatus("Cancelled")).toEqual(expect.arrayContaining(cancelledFirst));
    for (const userId of users) expect(await balanceOf(userId)).toBe(deposit);

    const ledger = (await sql<{ kind: string; order_id: string }>`select kind, order_id from payments.ledger where order_id = any(${raced.accepted}::uuid[])`.execute(databases.payments)).rows;
    const kindsOf = (orderId: string) => ledger.filter((row) => row.order_id === orderId).map((row) => row.kind).sort();
    for (const orderId of byStatus("Refunded")) expect({ orderId, kinds: kindsOf(orderId) }).toEqual({ orderId, kinds: ["debit", "refund"] });
    for (const orderId of byStatus("Cancelled")) expect({ orderId, kinds: kindsOf(orderId) }).toEqual({ orderId, kinds: [] });
    const report = await expectInvariants(raced.accepted);
    const payments = await system.counters("payments");
    console.log("cancel race:", {
      cancelledAs, crashAt, pendingBeforeCrash, cancelled: report.cancelled, refunded: report.refunded, refunds: report.refunds,
      duplicatesSkipped: payments.duplicatesSkipped, retries: payments.retries, seconds: Math.round((Date.now() - startedAt) / 100) / 10,
    });
  }, 150_000);

  test("replaying every message of the race (refund requests and answers, orders and payments) changes nothing", async () => {
    expect(raced.accepted.length).toBe(100);
    const { system, databases, streams } = harness;
    const before = await snapshot();
    const sent = async (db: typeof databases.orders, schema: string, topic: string) =>
      (await sql<{ key: string; value: string }>`select key, value from ${sql.table(`${schema}.outbox`)} where topic = ${topic} order by id`.execute(db)).rows;
    const topics = [
      { topic: refundRequestedTopic, from: { db: databases.orders, schema: "orders" }, consumer: "payments" as const },
      { topic: orderCreatedTopic, from: { db: databases.orders, schema: "orders" }, consumer: "payments" as const },
      { topic: refundProcessedTopic, from: { db: databases.payments, schema: "payments" }, consumer: "orders" as const },
      { topic: paymentProcessedTopic, from: { db: databases.payments, schema: "payments" }, consumer: "orders" as const },
    ];
    const replayed = { payments: 0, orders: 0 };
    const counted = { payments: await system.counters("payments"), orders: await system.counters("orders") };
    for (const { topic, from, consumer } of topics) {
      const messages = [...(await sent(from.db, from.schema, topic)), ...(await streams.retained(topic))];
      expect(messages.length).toBeGreaterThan(0);
      await streams.republish(topic, messages);
      replayed[consumer] += messages.length;
    }
    await eventually(async () => {
      const [payments, orders] = [await system.counters("payments"), await system.counters("orders")];
      return payments.consumed - counted.payments.consumed >= replayed.payments && orders.consumed - counted.orders.consumed >= replayed.orders;
    }, 30_000, "the replayed messages to be consumed");
    await settle(harness, 30_000, "the replay to be acknowledged");
    const [payments, orders] = [await system.counters("payments"), await system.counters("orders")];
    expect(payments.duplicatesSkipped - counted.payments.duplicatesSkipped).toBe(replayed.payments);
    expect(orders.duplicatesSkipped - counted.orders.duplicatesSkipped).toBe(replayed.orders);
    expect(await snapshot()).toEqual(before);
    await expectInvariants(raced.accepted);
    console.log("cancel replay:", { replayed });
  }, 90_000);
});

/** Without the inbox (a replay after its retention window), the tables alone still refund once. */
describe("a refund request replayed after the inbox forgot it", () => {
  test("gets the same answer again and moves no money", async () => {
    const { system, databases, streams } = harness;
    const userId = await openAccount(system.urls.payments, 100);
    const order = await placeOrder(system.urls.orders, userId, 40);
    await eventually(async () => (await balanceOf(userId)) === 60, 15_000, "the debit");
    expect((await cancel(order.id)).status).toBe(202);
    await eventually(async () => (await balanceOf(userId)) === 100, 15_000, "the refund");
    await settle(harness, 15_000, "the refund to settle");
    const [request] = (await sql<{ key: string; value: string }>`select key, value from orders.outbox where topic = ${refundRequestedTopic} and value::json->'payload'->>'orderId' = ${order.id}`.execute(databases.orders)).rows;
    expect(request).toBeDefined();
    await sql`delete from payments.inbox where message_id = ${(JSON.parse(request!.value) as { id: string }).id}::uuid`.execute(databases.payments);
    const ledgerBefore = await ledgerOf(userId);
    const answersBefore = (await sql<{ count: number }>`select count(*)::int as count from payments.outbox where topic = ${refundProcessedTopic} and key = ${userId}`.execute(databases.payments)).rows[0]!.count;
    await streams.republish(refundRequestedTopic, [request!]);
    await eventually(
      async () => (await sql<{ count: number }>`select count(*)::int as count from payments.outbox where topic = ${refundProcessedTopic} and key = ${userId}`.execute(databases.payments)).rows[0]!.count === answersBefore + 1,
      15_000,
      "the second answer",
    );
    await settle(harness, 15_000, "the second answer to settle");
    const answers = (await sql<{ value: string }>`select value from payments.outbox where topic = ${refundProcessedTopic} and key = ${userId} order by id`.execute(databases.payments)).rows.map(
      (row) => (JSON.parse(row.value) as { payload: unknown }).payload,
    );
    expect(answers).toEqual([
      { orderId: order.id, userId, status: "refunded", amount: 4_000, balance: 10_000 },
      { orderId: order.id, userId, status: "refunded", amount: 4_000, balance: 10_000 },
    ]);
    expect(await ledgerOf(userId)).toEqual(ledgerBefore);
    expect(await balanceOf(userId)).toBe(100);
    const status = ((await (await fetch(`${system.urls.orders}/api/orders/${order.id}`)).json()) as { status: string }).status;
    expect(status).toBe("Refunded");
  }, 60_000);
});
