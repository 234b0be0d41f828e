import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { allModules } from "../support/all-modules";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logger";
import { startServer } from "../../shared/server";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { deleteRedisKeys, testRedisUrl, testRedisPrefix } from "../../shared/testing/redis";
import { startProcess, startTimeoutMs, type SystemProcess } from "../support/system-process";
import { openAccount, placeOrder, watchOrders } from "../support/walkthrough";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The walkthrough: account, deposit, order → PaymentCompleted pushed; an order over the balance → PaymentFailed. */
async function walkthrough(ordersUrl: string, paymentsUrl: string): Promise<void> {
  const userId = await openAccount(paymentsUrl, 1000);
  const live = await watchOrders(ordersUrl, userId);
  const paid = await placeOrder(ordersUrl, userId, 250.5);
  await eventually(() => live.updates.some((o) => o.id === paid.id && o.status === "PaymentCompleted"), 15_000, "PaymentCompleted pushed");
  expect(live.updates.filter((o) => o.id === paid.id).map((o) => o.status)).toEqual(["Created", "PaymentPending", "PaymentCompleted"]);

  const tooMuch = await placeOrder(ordersUrl, userId, 800);
  await eventually(() => live.updates.some((o) => o.id === tooMuch.id && o.status === "PaymentFailed"), 15_000, "PaymentFailed pushed");
  expect(live.updates.find((o) => o.id === tooMuch.id && o.status === "PaymentFailed")?.failureReason).toBe("insufficient_funds");
  live.close();

  const balance = (await (await fetch(`${paymentsUrl}/api/accounts/${userId}`)).json()) as { balance: number };
  expect(balance.balance).toBe(749.5);
}

async function documentedPaths(baseUrl: string): Promise<string[]> {
  const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  // GET /api/auth, GET /api/services and the dead-letter admin API belong to every process (like /health), not to a module's API.
  return Object.keys(document.paths).filter(
    (path) => path.startsWith("/api/") && path !== "/api/auth" && path !== "/api/services" && !path.startsWith("/api/admin/"),
  );
}

describe("the whole flow", () => {
  test("in mono mode, in one process: both APIs in one document, the walkthrough completes", async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const config = loadConfig({ PORT: "0", DATABASE_URL: database.url }, allModules);
    const server = await startServer(config, allModules, {
      logger: createLogger({ level: "error" }),
    });
    cleanups.push(() => server.stop());
    const baseUrl = `http://127.0.0.1:${server.port}`;
    expect(await documentedPaths(baseUrl)).toEqual(expect.arrayContaining(["/api/orders", "/api/accounts"]));
    await walkthrough(baseUrl, baseUrl);
  }, 60_000);

  describe("in split mode: two processes over Redis and PostgreSQL", () => {
    const prefix = testRedisPrefix();
    const processes: Record<"orders" | "payments", SystemProcess | undefined> = { orders: undefined, payments: undefined };
    const databases: Record<string, string> = {};

    async function start(mode: "orders" | "payments"): Promise<string> {
      const started = await startProcess({
        MODE: mode,
        DATABASE_URL: databases[mode]!,
        BUS: "redis",
        REDIS_URL: testRedisUrl,
        REDIS_PREFIX: prefix,
      });
      processes[mode] = started;
      cleanups.push(() => started.cleanup());
      return started.listening();
    }

    test("each process documents only its own API, and the walkthrough completes across them", async () => {
      for (const mode of ["orders", "payments"]) {
        const database = await createTestDatabase();
        cleanups.push(() => database.drop());
        databases[mode] = database.url;
      }
      cleanups.push(() => deleteRedisKeys(prefix, testRedisUrl));
      const [ordersUrl, paymentsUrl] = await Promise.all([start("orders"), start("payments")]);
      expect(await documentedPaths(ordersUrl)).toEqual(["/api/orders", "/api/orders/{id}", "/api/orders/{id}/cancel"]);
      expect((await documentedPaths(paymentsUrl)).every((path) => path.startsWith("/api/accounts"))).toBe(true);
      expect((await fetch(`${paymentsUrl}/api/orders?userId=${randomUUID()}`)).status).toBe(404);
      // Each process's admin API knows the dead letters of its own module's topic only.
      expect((await fetch(`${ordersUrl}/api/admin/dead-letters?topic=payment-processed`)).status).toBe(200);
      expect((await fetch(`${ordersUrl}/api/admin/dead-letters?topic=order-created`)).status).toBe(400);
      expect((await fetch(`${paymentsUrl}/api/admin/dead-letters?topic=order-created`)).status).toBe(200);
      await walkthrough(ordersUrl, paymentsUrl);
    }, startTimeoutMs + 30_000);

    test("SIGTERM mid-load: each process exits 0, and after a restart no order is stuck or paid twice", async () => {
      const paymentsUrl = await processes.payments!.listening();
      let ordersUrl = await processes.orders!.listening();
      const users = await Promise.all(Array.from({ length: 5 }, () => openAccount(paymentsUrl, 100)));
      const placed: { id: string; userId: string }[] = [];
      const load = (async () => {
        for (let i = 0; i < 60; i++) {
          const userId = users[i % users.length]!;
          placed.push({ id: (await placeOrder(ordersUrl, userId, 10)).id, userId });
        }
      })();
      await eventually(() => placed.length >= 15, 15_000, "load to be under way");
      expect(await processes.payments!.stop()).toBe(0);
      await load;
      expect(await processes.orders!.stop()).toBe(0);

      ordersUrl = await start("orders");
      const restartedPaymentsUrl = await start("payments");
      const statusOf = async (id: string) => ((await (await fetch(`${ordersUrl}/api/orders/${id}`)).json()) as { status: string }).status;
      await eventually(
        async () => (await Promise.all(placed.map((order) => statusOf(order.id)))).every((s) => s === "PaymentCompleted" || s === "PaymentFailed"),
        30_000,
        "every order to reach a terminal status",
      );
      // 12 orders of 10 per user against 100: exactly 10 paid each, the balance 0, never twice.
      for (const userId of users) {
        const account = (await (await fetch(`${restartedPaymentsUrl}/api/accounts/${userId}`)).json()) as { balance: number };
        expect(account.balance).toBe(0);
        const ledger = (await (await fetch(`${restartedPaymentsUrl}/api/accounts/${userId}/ledger?limit=500`)).json()) as {
          items: { kind: string; orderId: string | null }[];
        };
        const debits = ledger.items.filter((item) => item.kind === "debit");
        expect(debits).toHaveLength(10);
        expect(new Set(debits.map((item) => item.orderId)).size).toBe(10);
        const statuses = await Promise.all(placed.filter((order) => order.userId === userId).map((order) => statusOf(order.id)));
        expect(statuses.filter((s) => s === "PaymentCompleted")).toHaveLength(10);
      }
    }, 2 * startTimeoutMs + 60_000);
  });
});
