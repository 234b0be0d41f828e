import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { orderCreatedTopic, paymentProcessedTopic } from "../../shared/contracts";
import { eventually } from "../../shared/testing/eventually";
import { checkInvariants, checkPaidInProcessingOrder, statusesOf, type ModuleDatabases } from "../support/invariants";
import { startLoad, type LoadProgress } from "../support/order-load";
import { PrivateRedis } from "../support/private-redis";
import { settle, startHarness as startSplitHarness, type Harness } from "../support/split-harness";
import { openAccount } from "../support/walkthrough";
import { testRedisUrl } from "../../shared/testing/redis";

/**
 * The delivery and payment guarantees (docs/architecture.md#flow) proved on the real thing: two
 * processes (MODE=orders, MODE=payments), each on a fresh PostgreSQL database, over Redis. Every
 * scenario ends with the invariants checked straight against both databases, and prints one line of
 * numbers.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => console.error("cleanup failed:", error));
}, 60_000);

const startHarness = (busUrl: string) => startSplitHarness(busUrl, (cleanup) => cleanups.push(cleanup));

/** Invariants must hold; returns the report for the summary line. */
async function expectInvariants(harness: Harness, accepted: string[]) {
  const report = await checkInvariants(harness.databases, accepted);
  expect(report.violations).toEqual([]);
  expect(await harness.streams.deadLetters()).toBe(0);
  return report;
}

/** Completed and failed among these orders. */
async function outcomes(databases: ModuleDatabases, ids: string[]) {
  const statuses = [...(await statusesOf(databases, ids)).values()];
  return { completed: statuses.filter((s) => s === "PaymentCompleted").length, failed: statuses.filter((s) => s === "PaymentFailed").length };
}

const randomInt = (from: number, to: number) => from + Math.floor(Math.random() * (to - from + 1));
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;
const loadNumbers = (load: LoadProgress) => ({
  attempted: load.attempted, accepted: load.accepted.length, refused: load.refused, broken: load.broken, rejected: load.rejected,
});

describe("guarantees of the split system (real processes, PostgreSQL, Redis)", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness(testRedisUrl);
  }, 60_000);

  test("crash: kill -9 payments twice and orders once mid-flow; every accepted order ends terminal, paid at most once", async () => {
    const startedAt = Date.now();
    const { system } = harness;
    const users = await Promise.all(Array.from({ length: 8 }, (_, i) => openAccount(system.urls.payments, 150 + 60 * i)));
    const load = startLoad({
      ordersUrl: system.urls.orders,
      count: 500,
      order: (i) => ({ userId: users[i % users.length]!, amount: randomInt(5, 15) }),
      concurrency: 8,
      ratePerSecond: 40,
    });
    // A random moment each. The first two land on a random count of accepted orders; the last on a
    // random count of orders consumed by the restarted payments process, so it dies while draining
    // the backlog its predecessor's crash left (mid-batch, with transactions open).
    const crashes: string[] = [];
    const crash = async (side: "orders" | "payments", moment: string) => {
      await system.crashAndRestart(side);
      crashes.push(`${side} at ${moment}`);
    };
    const paymentsAt = randomInt(50, 150);
    await eventually(() => load.progress.accepted.length >= paymentsAt, 60_000, `${paymentsAt} accepted orders`);
    await crash("payments", `${paymentsAt} accepted`);
    const ordersAt = randomInt(200, 260);
    await eventually(() => load.progress.accepted.length >= ordersAt, 60_000, `${ordersAt} accepted orders`);
    await crash("orders", `${ordersAt} accepted`);
    const drainedAt = randomInt(1, 120);
    const paymentsInbox = async () =>
      (await sql<{ count: number }>`select count(*)::int as count from payments.inbox`.execute(harness.databases.payments)).rows[0]!.count;
    const paidBefore = await paymentsInbox();
    await eventually(async () => (await paymentsInbox()) >= paidBefore + drainedAt, 60_000, `payments to consume ${drainedAt} after its restart`);
    await crash("payments", `${drainedAt} consumed after its restart`);
    const result = await load.done;
    await settle(harness, 90_000, "every order terminal after the crashes");

    const accepted = result.accepted.map((order) => order.id);
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(accepted.length).toBeGreaterThan(300);
    const report = await expectInvariants(harness, accepted);
    // Nothing created that was not asked for: at most the attempts whose answer was lost in the crash.
    expect(report.orders).toBeGreaterThanOrEqual(accepted.length);
    expect(report.orders).toBeLessThanOrEqual(accepted.length + result.broken);
    const { completed, failed } = await outcomes(harness.databases, accepted);
    expect(completed + failed).toBe(accepted.length);
    expect(completed).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    const [payments, orders] = [await system.counters("payments"), await system.counters("orders")];
    console.log("crash:", {
      ...loadNumbers(result), completed, failed, ordersInDatabase: report.orders,
      crashes: crashes.join("; "),
      duplicatesSkipped: { payments: payments.duplicatesSkipped, orders: orders.duplicatesSkipped },
      retries: payments.retries + orders.retries, deadLetters: await harness.streams.deadLetters(), seconds: seconds(startedAt),
    });
  }, 170_000);

  test("replay: every order-created and payment-processed published again changes no balance, ledger row or status", async () => {
    const startedAt = Date.now();
    const { system, databases, streams } = harness;
    const users = await Promise.all(Array.from({ length: 3 }, () => openAccount(system.urls.payments, 200)));
    const flow = await startLoad({
      ordersUrl: system.urls.orders, count: 60, order: (i) => ({ userId: users[i % 3]!, amount: randomInt(5, 15) }), concurrency: 8,
    }).done;
    await settle(harness, 30_000, "the flow before the replay");
    const before = await snapshot(databases);

    // What an operator replays: every message ever sent on both topics, as the outboxes recorded
    // them (same key, same envelope, so the same message id), plus whatever the streams still hold.
    const sent = async (db: typeof databases.orders, schema: string, topic: string) =>
      (await sql<{ key: string; value: string }>`select key, value from ${sql.table(`${schema}.outbox`)} where topic = ${topic} order by id`.execute(db)).rows;
    const orderCreated = [...(await sent(databases.orders, "orders", orderCreatedTopic)), ...(await streams.retained(orderCreatedTopic))];
    const paymentProcessed = [...(await sent(databases.payments, "payments", paymentProcessedTopic)), ...(await streams.retained(paymentProcessedTopic))];
    const [paymentsBefore, ordersBefore] = [await system.counters("payments"), await system.counters("orders")];
    await streams.republish(orderCreatedTopic, orderCreated);
    await streams.republish(paymentProcessedTopic, paymentProcessed);

    await eventually(async () => {
      const [payments, orders] = [await system.counters("payments"), await system.counters("orders")];
      return payments.consumed - paymentsBefore.consumed >= orderCreated.length && orders.consumed - ordersBefore.consumed >= paymentProcessed.length;
    }, 30_000, "the replayed messages to be consumed");
    await settle(harness, 30_000, "the replay to be acknowledged");
    const [payments, orders] = [await system.counters("payments"), await system.counters("orders")];
    expect(payments.duplicatesSkipped - paymentsBefore.duplicatesSkipped).toBe(orderCreated.length);
    expect(orders.duplicatesSkipped - ordersBefore.duplicatesSkipped).toBe(paymentProcessed.length);
    expect(await snapshot(databases)).toEqual(before);
    const report = await expectInvariants(harness, flow.accepted.map((order) => order.id));
    console.log("replay:", {
      flowOrders: flow.accepted.length, replayed: { orderCreated: orderCreated.length, paymentProcessed: paymentProcessed.length },
      duplicatesSkipped: {
        payments: payments.duplicatesSkipped - paymentsBefore.duplicatesSkipped, orders: orders.duplicatesSkipped - ordersBefore.duplicatesSkipped,
      },
      ordersInDatabase: report.orders, ledgerDebits: report.debits, deadLetters: await streams.deadLetters(), seconds: seconds(startedAt),
    });
  }, 90_000);

  test("contention: 200 concurrent orders on 5 accounts of 100 pay exactly the affordable ones, in processing order", async () => {
    const startedAt = Date.now();
    const { system, databases } = harness;
    const users = await Promise.all(Array.from({ length: 5 }, () => openAccount(system.urls.payments, 100)));
    const result = await startLoad({
      ordersUrl: system.urls.orders, count: 200, order: (i) => ({ userId: users[i % 5]!, amount: randomInt(7, 13) }), concurrency: 200,
    }).done;
    expect(result.accepted).toHaveLength(200);
    await settle(harness, 30_000, "every contended order terminal");

    const { paid, violations } = await checkPaidInProcessingOrder(databases, users);
    expect(violations).toEqual([]);
    for (const count of paid) expect(count).toBeGreaterThan(0);
    for (const count of paid) expect(count).toBeLessThan(40);
    const report = await expectInvariants(harness, result.accepted.map((order) => order.id));
    const { completed, failed } = await outcomes(databases, result.accepted.map((order) => order.id));
    expect(completed).toBe(paid.reduce((sum, count) => sum + count, 0));
    const balances = (await sql<{ balance: number }>`select balance from payments.accounts where user_id = any(${users}::uuid[])`.execute(databases.payments)).rows;
    console.log("contention:", {
      accepted: result.accepted.length, completed, failed, paidPerAccount: paid.join("/"),
      balancesLeft: balances.map((row) => row.balance / 100).join("/"), ordersInDatabase: report.orders, seconds: seconds(startedAt),
    });
  }, 60_000);
});

describe("broker outage (a private redis-server: the machine's Redis is shared)", () => {
  test("Redis unreachable (SIGSTOP) and then crashed (SIGKILL, AOF restart) mid-flow: nothing lost, nothing doubled", async () => {
    const startedAt = Date.now();
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.remove());
    const harness = await startHarness(redis.url);
    const { system } = harness;
    const users = await Promise.all(Array.from({ length: 4 }, (_, i) => openAccount(system.urls.payments, 200 + 100 * i)));
    const load = startLoad({
      ordersUrl: system.urls.orders, count: 300, order: (i) => ({ userId: users[i % 4]!, amount: randomInt(5, 15) }),
      concurrency: 4, ratePerSecond: 25,
    });

    const acceptedWhile = async (outage: () => Promise<void>) => {
      const before = load.progress.accepted.length;
      await outage();
      return load.progress.accepted.length - before;
    };
    await eventually(() => load.progress.accepted.length >= 40, 30_000, "load under way before the pause");
    const duringPause = await acceptedWhile(async () => {
      redis.pause();
      await Bun.sleep(4_000); // the outage itself
      redis.resume();
    });
    await eventually(() => load.progress.accepted.length >= 150, 30_000, "load under way before the crash");
    const duringCrash = await acceptedWhile(async () => {
      await redis.crash();
      await Bun.sleep(3_000); // the outage itself
      await redis.restart();
    });
    const result = await load.done;
    await settle(harness, 60_000, "every order terminal after the outages");

    const accepted = result.accepted.map((order) => order.id);
    expect(duringPause).toBeGreaterThan(0);
    expect(duringCrash).toBeGreaterThan(0);
    expect(result.accepted).toHaveLength(300);
    const report = await expectInvariants(harness, accepted);
    const { completed, failed } = await outcomes(harness.databases, accepted);
    expect(completed + failed).toBe(accepted.length);
    const [payments, orders] = [await system.counters("payments"), await system.counters("orders")];
    console.log("broker outage:", {
      ...loadNumbers(result), acceptedWhileRedisPaused: duringPause, acceptedWhileRedisDown: duringCrash, completed, failed,
      ordersInDatabase: report.orders, duplicatesSkipped: { payments: payments.duplicatesSkipped, orders: orders.duplicatesSkipped },
      retries: payments.retries + orders.retries, deadLetters: await harness.streams.deadLetters(), seconds: seconds(startedAt),
    });
  }, 120_000);
});

/** Everything a replay must leave as it was. */
async function snapshot(databases: ModuleDatabases) {
  const rows = async (db: typeof databases.orders, query: ReturnType<typeof sql>) => (await query.execute(db)).rows;
  return {
    orders: await rows(databases.orders, sql`select id, status, failure_reason, updated_at from orders.orders order by seq`),
    ordersOutbox: await rows(databases.orders, sql`select count(*)::int as count from orders.outbox`),
    ordersInbox: await rows(databases.orders, sql`select count(*)::int as count from orders.inbox`),
    accounts: await rows(databases.payments, sql`select user_id, balance from payments.accounts order by user_id`),
    ledger: await rows(databases.payments, sql`select * from payments.ledger order by id`),
    paymentsOutbox: await rows(databases.payments, sql`select count(*)::int as count from payments.outbox`),
    paymentsInbox: await rows(databases.payments, sql`select count(*)::int as count from payments.inbox`),
  };
}
