import { afterAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { sql } from "kysely";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { deleteRedisKeys, testRedisUrl, testRedisPrefix } from "../../shared/testing/redis";
import { BusStreams } from "../support/bus-streams";
import { checkInvariants, openModuleDatabases, pendingOrders, unpublishedOutboxRows } from "../support/invariants";
import { startLoad } from "../support/order-load";
import { startProcess, type SystemProcess } from "../support/system-process";
import { openAccount, watchOrders, type OrderUpdate } from "../support/walkthrough";

/**
 * Many instances: two orders and two payments processes on one database and one Redis, one of each
 * killed with -9 while orders flow in through both orders instances. Nothing accepted is lost,
 * nothing is paid twice, and the browsers connected to the surviving orders instance see the final
 * status of every order, whichever instance took it. A short partition lease keeps the fail-over
 * (and the test) short.
 */
const lease = "2s";
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error("cleanup failed:", error));
}, 30_000);

const randomInt = (from: number, to: number) => from + Math.floor(Math.random() * (to - from + 1));

test("two of each module on one database and bus; one of each killed with -9 mid-load: nothing lost or doubled, every final status pushed", async () => {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const prefix = testRedisPrefix();
  cleanups.push(() => deleteRedisKeys(prefix));
  const env = { DATABASE_URL: database.url, BUS: "redis", REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix, REDIS_PARTITION_LEASE: lease };
  const launch = async (mode: "orders" | "payments") => {
    const started = await startProcess({ ...env, MODE: mode });
    cleanups.push(() => started.stop().then(() => started.cleanup()));
    return { process: started, url: await started.listening() };
  };
  // One after the other: each applies its module's migrations at start-up.
  const payments = [await launch("payments"), await launch("payments")] as const;
  const orders = [await launch("orders"), await launch("orders")] as const;
  const [doomedOrders, survivingOrders] = orders;
  const [doomedPayments] = payments;

  const databases = await openModuleDatabases({ orders: database.url, payments: database.url });
  cleanups.push(() => databases.close());
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  cleanups.push(async () => redis.disconnect());
  const streams = new BusStreams(redis, prefix);

  const users = await Promise.all(Array.from({ length: 8 }, (_, i) => openAccount(payments[i % 2]!.url, 100 + 40 * i)));
  const sockets = await Promise.all(users.map((userId) => watchOrders(survivingOrders.url, userId)));
  cleanups.push(async () => sockets.forEach((socket) => socket.close()));

  // A client balancing its orders over both orders instances, at a steady rate so the kills land mid-flow.
  const loads = orders.map(({ url }, side) =>
    startLoad({ ordersUrl: url, count: 150, order: (i) => ({ userId: users[(2 * i + side) % users.length]!, amount: randomInt(5, 15) }), concurrency: 4, ratePerSecond: 25 }),
  );
  const accepted = () => loads.reduce((sum, load) => sum + load.progress.accepted.length, 0);
  const paymentsKilledAt = randomInt(40, 80);
  await eventually(() => accepted() >= paymentsKilledAt, 30_000, `${paymentsKilledAt} accepted orders`);
  await doomedPayments.process.kill();
  const ordersKilledAt = randomInt(120, 160);
  await eventually(() => accepted() >= ordersKilledAt, 30_000, `${ordersKilledAt} accepted orders`);
  await doomedOrders.process.kill();
  const results = await Promise.all(loads.map((load) => load.done));

  const state = async () => `pending ${await pendingOrders(databases)}, unpublished ${await unpublishedOutboxRows(databases)}, in flight ${await streams.inFlight()}`;
  await eventually(
    async () => (await pendingOrders(databases)) === 0 && (await unpublishedOutboxRows(databases)) === 0 && (await streams.inFlight()) === 0,
    30_000,
    "every order terminal, both outboxes published, nothing in flight",
  ).catch(async (error: unknown) => {
    throw new Error(`${String(error)} (${await state()})\n${survivingOrders.process.output.stdout.slice(-3_000)}`);
  });

  const acceptedIds = results.flatMap((result) => result.accepted.map((order) => order.id));
  const broken = results.reduce((sum, result) => sum + result.broken, 0);
  expect(acceptedIds.length).toBeGreaterThan(200);
  const report = await checkInvariants(databases, acceptedIds);
  expect(report.violations).toEqual([]);
  expect(await streams.deadLetters()).toBe(0);
  // Nothing created that was not asked for: at most the attempts whose answer was lost in the kill.
  expect(report.orders).toBeGreaterThanOrEqual(acceptedIds.length);
  expect(report.orders).toBeLessThanOrEqual(acceptedIds.length + broken);
  expect(report.completed).toBeGreaterThan(0);
  expect(report.failed).toBeGreaterThan(0);

  // Every order's final status reached the sockets on the surviving instance, the one the database holds.
  const final = (await sql<{ id: string; status: string }>`select id, status from orders.orders`.execute(databases.orders)).rows;
  const seen = () => {
    const terminal = new Map<string, string>();
    for (const update of sockets.flatMap((socket) => socket.updates) as OrderUpdate[]) {
      if (update.status === "PaymentCompleted" || update.status === "PaymentFailed") terminal.set(update.id, update.status);
    }
    return terminal;
  };
  await eventually(() => final.every((order) => seen().get(order.id) === order.status), 10_000, "every final status on the surviving instance's sockets").catch(
    (error: unknown) => {
      const missing = final.filter((order) => seen().get(order.id) !== order.status);
      throw new Error(`${String(error)}: ${missing.length} of ${final.length} missing, e.g. ${JSON.stringify(missing.slice(0, 3))}`);
    },
  );

  console.log("many instances:", {
    attempted: results.reduce((sum, result) => sum + result.attempted, 0),
    accepted: acceptedIds.length,
    refused: results.reduce((sum, result) => sum + result.refused, 0),
    broken,
    completed: report.completed,
    failed: report.failed,
    killed: `payments at ${paymentsKilledAt} accepted, orders at ${ordersKilledAt}`,
    finalStatusesPushed: final.length,
  });
}, 90_000);
