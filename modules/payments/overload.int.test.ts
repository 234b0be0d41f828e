import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { Admission } from "../../shared/admission/admission";
import { MemoryBroker } from "../../shared/bus/memory/memory-broker";
import { MemoryBus } from "../../shared/bus/memory/memory-bus";
import { defaultQueueBounds, loadConfig } from "../../shared/config";
import { createDatabase, type Database } from "../../shared/db";
import { createAuthPolicy } from "../../shared/http/auth";
import { createApp } from "../../shared/http/create-app";
import { createLogger } from "../../shared/logger";
import { Metrics } from "../../shared/metrics";
import type { Module } from "../../shared/module";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import type { PaymentsDatabase } from "./db/payments.tables";
import { paymentsModule } from "./index";

const logger = createLogger({ level: "error" });

describe("payments under overload (PostgreSQL)", () => {
  let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
  let database: Database<PaymentsDatabase>;
  let bus: MemoryBus;
  let module: Module;
  let server: ReturnType<typeof Bun.serve>;
  let admin: postgres.Sql;
  const admission = new Admission();

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = await createDatabase<PaymentsDatabase>({ url: testDatabase.url, dataDir: "" });
    bus = new MemoryBus({ broker: new MemoryBroker() });
    const metrics = new Metrics();
    // A request queue of two, and no wait bound within the test's time: only the count refuses.
    const queueBounds = { ...defaultQueueBounds, requests: { maxQueue: 2, maxWaitMs: 60_000 } };
    const ports = { database, bus, logger, metrics, auth: createAuthPolicy({ kind: "none" }), retention: loadConfig({}).retention, admission, queueBounds };
    module = paymentsModule.create(ports, paymentsModule.settings.parse({}));
    await module.start();
    const app = createApp({ logger, metrics, admission });
    app.route("/", module.routes);
    server = Bun.serve({ port: 0, fetch: app.fetch });
    admin = postgres(testDatabase.url, { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    await server.stop(true);
    await module.stop();
    await bus.close();
    await database.close();
    await admin.end();
    await testDatabase.drop();
  });

  const url = (path: string) => new URL(path, server.url).toString();
  const post = (path: string, body: unknown) => fetch(url(path), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const depth = () => admission.states().find((state) => state.queue === "payments-requests")?.depth;

  test("past the request gate a deposit is refused at once with 503 and Retry-After, and moves no money", async () => {
    const userId = randomUUID();
    expect((await post("/api/accounts", { userId })).status).toBe(201);
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // Holds the accounts table: every deposit waits on it, holding its place in the gate.
    const holding = admin.begin(async (tx) => {
      await tx`lock table payments.accounts in access exclusive mode`;
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await isLocked;
    let admitted: Promise<Response>[];
    try {
      // Five deposits hold the gate's places, two more fill its queue.
      admitted = Array.from({ length: 7 }, () => post(`/api/accounts/${userId}/deposit`, { amount: 1 }));
      await eventually(() => depth() === 2, 10_000, "the request gate to be full");
      const refused = await post(`/api/accounts/${userId}/deposit`, { amount: 1 });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("60");
      expect(refused.headers.get("content-type")).toBe("application/problem+json");
    } finally {
      release();
      await holding;
    }
    expect((await Promise.all(admitted)).map((answer) => answer.status)).toEqual(Array(7).fill(200));
    const account = (await (await fetch(url(`/api/accounts/${userId}`))).json()) as { balance: number };
    expect(account.balance).toBe(7);
    const ledger = (await (await fetch(url(`/api/accounts/${userId}/ledger`))).json()) as { items: unknown[] };
    expect(ledger.items).toHaveLength(7);
  });
});
