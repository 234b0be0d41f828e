import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { allModules } from "../support/all-modules";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logger";
import { startServer, type RunningServer } from "../../shared/server";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { TcpProxy } from "../../shared/testing/tcp-proxy";
import { checkInvariants, openModuleDatabases, pendingOrders, unpublishedOutboxRows, type ModuleDatabases } from "../support/invariants";
import { json, openAccount } from "../support/walkthrough";

/**
 * A module's database goes away and comes back while the process runs. The
 * machine's PostgreSQL is shared, so each module reaches it through a TCP proxy of the test's own;
 * the outage is the proxy dropping every connection and refusing new ones for a few seconds.
 * While it lasts, the module's API answers 503 problem+json with Retry-After at once (never a
 * 500, never a hang) and /health/ready names the database; afterwards the same requests succeed
 * without a restart, relays and consumers resume by themselves, and nothing is half-written.
 */
const outageMs = 3_000;
/** Longest a request may take while the database is down: a few seconds, never a hang. */
const answerWithinMs = 6_000;

let server: RunningServer;
let baseUrl: string;
let drop: () => Promise<void>;
let databases: ModuleDatabases;
const proxies: Partial<Record<"orders" | "payments", TcpProxy>> = {};
const logLines: { level: string; msg: string }[] = [];

beforeAll(async () => {
  const database = await createTestDatabase();
  drop = database.drop;
  const target = { hostname: "127.0.0.1", port: Number(new URL(database.url).port || 5432) };
  proxies.orders = await TcpProxy.start(target);
  proxies.payments = await TcpProxy.start(target);
  const config = loadConfig({
    PORT: "0",
    ORDERS_DATABASE_URL: proxies.orders.url(database.url),
    PAYMENTS_DATABASE_URL: proxies.payments.url(database.url),
  }, allModules);
  server = await startServer(config, allModules, {
    logger: createLogger({ level: "warn", write: (line) => logLines.push(JSON.parse(line)) }),
  });
  baseUrl = `http://127.0.0.1:${server.port}`;
  // The checks read the database directly, not through the proxies.
  databases = await openModuleDatabases({ orders: database.url, payments: database.url });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  proxies.orders?.close();
  proxies.payments?.close();
  await databases?.close();
  await drop?.();
}, 30_000);

interface Answer {
  status: number;
  ms: number;
  contentType: string | null;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/** Sends a request and notes what came back and how long it took. */
async function call(path: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    ms: performance.now() - started,
    contentType: response.headers.get("content-type"),
    retryAfter: response.headers.get("retry-after"),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** 503 problem+json with a Retry-After of 1–5 s, answered within a few seconds. */
function expectUnavailable(answer: Answer, what: string): void {
  expect({ what, status: answer.status, contentType: answer.contentType }).toEqual({ what, status: 503, contentType: "application/problem+json" });
  expect([typeof answer.body.type, typeof answer.body.title, answer.body.status, typeof answer.body.detail]).toEqual(["string", "string", 503, "string"]);
  const retryAfter = Number(answer.retryAfter);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 5).toBe(true);
  expect(answer.ms).toBeLessThan(answerWithinMs);
}

const deposit = (userId: string, amount: number, key: string) => call(`/api/accounts/${userId}/deposit`, json({ amount }, { "idempotency-key": key }));
const order = (userId: string, amount: number, key: string) => call("/api/orders", json({ userId, amount, description: "outage" }, { "idempotency-key": key }));

/** Opens every pooled connection of both modules (10 each) before an outage, so none is opened during it. */
async function warmUp(userId: string): Promise<void> {
  await Promise.all(Array.from({ length: 12 }, () => Promise.all([call(`/api/accounts/${userId}`), call(`/api/orders?userId=${userId}`)])));
}

/** Every order terminal and both outboxes published. */
async function settle(what: string): Promise<void> {
  await eventually(async () => (await pendingOrders(databases)) === 0 && (await unpublishedOutboxRows(databases)) === 0, 30_000, what);
}

/** Orders with no order-created row in their module's outbox: an order must never be stored without it. */
async function ordersWithoutOutboxRow(): Promise<number> {
  const { rows } = await sql<{ count: number }>`
    select count(*)::int as count from orders.orders o
    where not exists (select 1 from orders.outbox x where x.topic = 'order-created' and (x.value::jsonb -> 'payload' ->> 'orderId')::uuid = o.id)`.execute(databases.orders);
  return rows[0]!.count;
}

async function deadLettered(): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("gozon_messages_dead_lettered_total{"))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

const unhandledErrors = () => logLines.filter((line) => line.msg === "unhandled error");

describe("a module's database goes down and comes back", () => {
  test("Payments' database: its API is 503 with Retry-After, Orders goes on, and afterwards everything is applied once", async () => {
    const userId = await openAccount(baseUrl, 100);
    await warmUp(userId);
    await settle("the system to be idle before the outage");

    proxies.payments!.cut();
    const downAt = Date.now();
    expectUnavailable(await deposit(userId, 25, "outage-deposit"), "deposit");
    expectUnavailable(await call(`/api/accounts/${userId}`), "balance");
    expectUnavailable(await call(`/api/accounts/${userId}/ledger`), "ledger");
    expectUnavailable(await call("/api/accounts", json({ userId: randomUUID() })), "open an account");
    const ready = await call("/health/ready");
    expect([ready.status, ready.contentType]).toEqual([503, "application/problem+json"]);
    expect(String(ready.body.detail)).toContain("payments database");
    expect(ready.body.checks).toEqual({ bus: "up", "orders database": "up", "payments database": "down" });
    // Orders keeps its own database: an order is taken now and paid once Payments is back.
    const placed = await order(userId, 40, "outage-order");
    expect(placed.status).toBe(201);
    await Bun.sleep(Math.max(0, outageMs - (Date.now() - downAt))); // the outage itself
    proxies.payments!.restore();

    // No restart: the same requests succeed once the database answers again.
    await eventually(async () => (await call(`/api/accounts/${userId}`)).status === 200, 10_000, "the balance to be served again");
    expect((await deposit(userId, 25, "outage-deposit")).status).toBe(200);
    const replay = await deposit(userId, 25, "outage-deposit");
    expect(replay.status).toBe(200);
    await settle("the order placed during the outage to be paid");
    expect((await call(`/api/orders/${placed.body.id}`)).body.status).toBe("PaymentCompleted");
    expect((await call(`/api/accounts/${userId}`)).body.balance).toBe(85);
    const ledger = (await call(`/api/accounts/${userId}/ledger`)).body.items as { kind: string; amount: number }[];
    expect(ledger.map((entry) => `${entry.kind} ${entry.amount}`).sort()).toEqual(["debit 40", "deposit 100", "deposit 25"]);
    expect((await call("/health/ready")).status).toBe(200);

    const report = await checkInvariants(databases, [String(placed.body.id)]);
    expect(report.violations).toEqual([]);
    expect(await deadLettered()).toBe(0);
    expect(unhandledErrors()).toEqual([]);
  }, 60_000);

  test("the whole database, mid-load: both APIs are 503 at once, nothing is half-written, and retried requests apply once", async () => {
    const users = await Promise.all(Array.from({ length: 4 }, () => openAccount(baseUrl, 1_000)));
    await warmUp(users[0]!);
    await settle("the system to be idle before the outage");

    // Requests each with its own Idempotency-Key, as a careful client sends them.
    const attempts: { kind: "order" | "deposit"; userId: string; amount: number; key: string; answers: Answer[] }[] = [];
    let answered = 0;
    let onTenthAnswer!: () => void;
    const tenthAnswer = new Promise<void>((resolve) => (onTenthAnswer = resolve));
    const send = async (attempt: (typeof attempts)[number]) => {
      const answer = await (attempt.kind === "order" ? order : deposit)(attempt.userId, attempt.amount, attempt.key);
      attempt.answers.push(answer);
      if (++answered === 10) onTenthAnswer();
      return answer;
    };
    const newAttempts = (count: number) =>
      Array.from({ length: count }, (_, index) => {
        const attempt = { kind: index % 3 === 2 ? ("deposit" as const) : ("order" as const), userId: users[index % users.length]!, amount: 1 + (index % 7), key: randomUUID(), answers: [] };
        attempts.push(attempt);
        return attempt;
      });

    // A burst, and the outage starts once a quarter of it is answered: some requests are mid-transaction.
    const burst = newAttempts(40).map(send);
    await tenthAnswer;
    proxies.orders!.cut();
    proxies.payments!.cut();
    const downAt = Date.now();
    await Promise.all(burst);
    // Everything sent while it is down is refused at once.
    const during = await Promise.all(newAttempts(12).map(send));
    for (const answer of during) expectUnavailable(answer, "a write while the database is down");
    expectUnavailable(await call(`/api/orders?userId=${users[0]}`), "list orders");
    expectUnavailable(await call(`/api/accounts/${users[0]}`), "balance");
    const ready = await call("/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ bus: "up", "orders database": "down", "payments database": "down" });
    await Bun.sleep(Math.max(0, outageMs - (Date.now() - downAt))); // the outage itself
    proxies.orders!.restore();
    proxies.payments!.restore();

    // Every answer so far was a success or a 503 problem+json in time; never a 500.
    for (const attempt of attempts) {
      const [answer] = attempt.answers;
      if (answer!.status !== 503) expect([attempt.kind, answer!.status]).toEqual([attempt.kind, attempt.kind === "order" ? 201 : 200]);
      else expectUnavailable(answer!, `${attempt.kind} in the burst`);
    }
    const refused = attempts.filter((attempt) => attempt.answers[0]!.status === 503).length;
    expect(refused).toBeGreaterThanOrEqual(during.length);

    // The client retries what was refused, with the same key, until it is taken.
    await eventually(async () => (await call("/health/ready")).status === 200, 10_000, "the process to be ready again");
    for (const attempt of attempts.filter((candidate) => candidate.answers[0]!.status === 503)) {
      await eventually(async () => (await send(attempt)).status < 300, 10_000, `the ${attempt.kind} ${attempt.key} to be taken on retry`);
    }
    await settle("every order to be paid and both outboxes published after the outage");

    // Nothing half-written, nothing twice: one order per order key, one deposit per deposit key.
    const orderKeys = attempts.filter((attempt) => attempt.kind === "order");
    const depositKeys = attempts.filter((attempt) => attempt.kind === "deposit");
    const accepted = orderKeys.map((attempt) => String(attempt.answers.at(-1)!.body.id));
    expect(new Set(accepted).size).toBe(orderKeys.length);
    const ordersOfUsers = await sql<{ count: number }>`select count(*)::int as count from orders.orders where user_id = any(${users}::uuid[])`.execute(databases.orders);
    expect(ordersOfUsers.rows[0]!.count).toBe(orderKeys.length);
    const deposits = await sql<{ count: number }>`select count(*)::int as count from payments.ledger where kind = 'deposit' and user_id = any(${users}::uuid[])`.execute(databases.payments);
    expect(deposits.rows[0]!.count).toBe(users.length + depositKeys.length);
    expect(await ordersWithoutOutboxRow()).toBe(0);
    const report = await checkInvariants(databases, accepted);
    expect(report.violations).toEqual([]);
    expect(await deadLettered()).toBe(0);
    expect(unhandledErrors()).toEqual([]);
    const slowest = Math.max(...attempts.flatMap((attempt) => attempt.answers.map((answer) => answer.ms)));
    console.log(
      `whole-database outage of ${outageMs} ms: ${attempts.length} writes, ${refused} answered 503 (slowest answer ${Math.round(slowest)} ms), ` +
        `all applied once after retries; ${report.orders} orders (${report.completed} paid), 0 dead letters`,
    );
  }, 90_000);
});
