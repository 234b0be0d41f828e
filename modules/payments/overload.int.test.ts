import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { Admission } from "../../shared/admission/admission";
import { defaultQueueBounds } from "../../shared/config";
import { eventually } from "../../shared/testing/eventually";
import { startModuleUnderTest, type ModuleUnderTest } from "../../shared/testing/module-under-test";
import type { PaymentsDatabase } from "./db/payments.tables";
import { paymentsModule } from "./index";

describe("payments under overload (PostgreSQL)", () => {
  let system: ModuleUnderTest<PaymentsDatabase>;
  let admin: postgres.Sql;
  const admission = new Admission();
  // A request queue of two, and no wait bound within the test's time: only the count refuses.
  const queueBounds = { ...defaultQueueBounds, requests: { maxQueue: 2, maxWaitMs: 60_000 } };

  beforeAll(async () => {
    system = await startModuleUnderTest(paymentsModule, { bus: "memory", serve: true, admission: { admission, queueBounds } });
    admin = postgres(system.databaseUrl, { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    await admin.end();
    await system.stop();
  });

  const url = (path: string) => system.url(path);
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
