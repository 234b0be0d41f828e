import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { deadLetterTopic, type Bus, type Delivery } from "../../shared/bus/bus";
import { newEnvelope, orderCreatedTopic, paymentProcessedEnvelope, paymentProcessedTopic, type PaymentProcessed } from "../../shared/contracts";
import type { Database } from "../../shared/db";
import { refusingPublish } from "../../shared/testing/refusing-bus";
import { eventually } from "../../shared/testing/eventually";
import { startModuleUnderTest, type ModuleUnderTest } from "../../shared/testing/module-under-test";
import { consumerStatement, runConsumerStatement } from "../../shared/messaging/inbox";
import { debitOrders } from "./db/debit-orders.test-helper";
import { payOrdersEffects } from "./db/pay-orders.statement";
import type { PaymentsDatabase } from "./db/payments.tables";
import { paymentsModule } from "./index";

for (const busKind of ["memory", "redis"] as const) {
  describe(`payments over the ${busKind} bus, on PostgreSQL`, () => {
    let paymentsUnderTest: ModuleUnderTest<PaymentsDatabase>;
    let database: Database<PaymentsDatabase>;
    let bus: Bus;
    let app: ModuleUnderTest<PaymentsDatabase>["app"];
    const results: PaymentProcessed[] = [];
    /** The headers each payment-processed message was published with, by message id. */
    const resultHeaders = new Map<string, Record<string, string>>();
    const deadLetters: Delivery[] = [];

    beforeAll(async () => {
      paymentsUnderTest = await startModuleUnderTest<PaymentsDatabase>(paymentsModule, { bus: busKind });
      ({ database, bus, app } = paymentsUnderTest);
      await bus.subscribe(paymentProcessedTopic, "test-observer", async (m) => {
        const result = JSON.parse(m.value) as PaymentProcessed;
        results.push(result);
        resultHeaders.set(result.id, m.headers);
      });
      await bus.subscribe(deadLetterTopic(orderCreatedTopic), "test-observer", async (m) => void deadLetters.push(m));
    });

    afterAll(() => paymentsUnderTest.stop());

    const payments = () => database.kysely.withSchema("payments") as Kysely<PaymentsDatabase>;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      app.request(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });
    async function accountWith(balance: number): Promise<string> {
      const userId = randomUUID();
      expect((await post("/api/accounts", { userId })).status).toBe(201);
      if (balance > 0) expect((await post(`/api/accounts/${userId}/deposit`, { amount: balance })).status).toBe(200);
      return userId;
    }
    const order = (userId: string, amount: number, orderId = randomUUID()) =>
      newEnvelope(orderCreatedTopic, userId, { orderId, userId, amount, description: "test order" });
    const publishOrders = (envelopes: ReturnType<typeof order>[]) =>
      bus.publish(orderCreatedTopic, envelopes.map((envelope) => ({ key: envelope.key, value: JSON.stringify(envelope) })));
    const resultsFor = (orderId: string) => results.filter((result) => result.payload.orderId === orderId);
    async function ledgerOf(userId: string) {
      return payments().selectFrom("ledger").selectAll().where("user_id", "=", userId).orderBy("id").execute();
    }
    async function ledgerSumOf(userId: string): Promise<number> {
      return (await ledgerOf(userId)).reduce((total, row) => total + (row.kind === "deposit" ? row.amount : -row.amount), 0);
    }
    async function balanceOf(userId: string): Promise<number> {
      const account = await payments().selectFrom("accounts").select("balance").where("user_id", "=", userId).executeTakeFirstOrThrow();
      return account.balance;
    }

    test("an order is paid: the balance drops, one debit in the ledger, one completed result", async () => {
      const userId = await accountWith(100);
      const created = order(userId, 2_550);
      await publishOrders([created]);
      await eventually(() => resultsFor(created.payload.orderId).length === 1, 10_000, "the payment result");
      expect(resultsFor(created.payload.orderId)[0]!.payload).toEqual({
        orderId: created.payload.orderId, userId, status: "completed", balance: 7_450,
      });
      expect(await balanceOf(userId)).toBe(7_450);
      const debits = (await ledgerOf(userId)).filter((row) => row.kind === "debit");
      expect(debits.map((row) => [row.order_id, row.amount, row.balance_after])).toEqual([[created.payload.orderId, 2_550, 7_450]]);
    });

    test("the same order-created delivered 5 times debits once and publishes one result", async () => {
      const userId = await accountWith(100);
      const created = order(userId, 1_000);
      for (let i = 0; i < 5; i++) await publishOrders([created]);
      const marker = order(userId, 1); // same key, so handled after the five copies
      await publishOrders([marker]);
      await eventually(() => resultsFor(marker.payload.orderId).length === 1, 10_000, "the marker's result");
      expect(resultsFor(created.payload.orderId)).toHaveLength(1);
      expect((await ledgerOf(userId)).filter((row) => row.order_id === created.payload.orderId)).toHaveLength(1);
      expect(await balanceOf(userId)).toBe(10_000 - 1_000 - 1);
    });

    test("100 orders of 10 against a balance of 500: 50 paid, 50 refused, balance 0 and equal to the ledger", async () => {
      const userId = await accountWith(500);
      const orders = Array.from({ length: 100 }, () => order(userId, 1_000));
      await Promise.all(orders.map((created) => publishOrders([created])));
      await eventually(() => orders.every((created) => resultsFor(created.payload.orderId).length === 1), 20_000, "100 results");
      const outcomes = orders.map((created) => resultsFor(created.payload.orderId)[0]!.payload);
      expect(outcomes.filter((outcome) => outcome.status === "completed")).toHaveLength(50);
      expect(outcomes.filter((outcome) => outcome.reason === "insufficient_funds")).toHaveLength(50);
      expect(await balanceOf(userId)).toBe(0);
      const ledger = await ledgerOf(userId);
      const sum = ledger.reduce((total, row) => total + (row.kind === "deposit" ? row.amount : -row.amount), 0);
      expect(sum).toBe(0);
      expect(ledger.filter((row) => row.kind === "debit")).toHaveLength(50);
      expect(ledger.every((row) => row.balance_after >= 0)).toBe(true);
    }, 30_000);

    test("several orders of one user sent together, the balance covering some: paid in message order, the rest refused", async () => {
      const userId = await accountWith(50);
      // Message order decides: by amount, or in any other order, another set would be paid.
      const orders = [2_000, 2_000, 500, 2_000, 500].map((amount) => order(userId, amount));
      await publishOrders(orders);
      await eventually(() => orders.every((created) => resultsFor(created.payload.orderId).length === 1), 10_000, "5 results");
      expect(orders.map((created) => resultsFor(created.payload.orderId)[0]!.payload)).toEqual([
        { orderId: orders[0]!.payload.orderId, userId, status: "completed", balance: 3_000 },
        { orderId: orders[1]!.payload.orderId, userId, status: "completed", balance: 1_000 },
        { orderId: orders[2]!.payload.orderId, userId, status: "completed", balance: 500 },
        { orderId: orders[3]!.payload.orderId, userId, status: "failed", reason: "insufficient_funds", balance: 500 },
        { orderId: orders[4]!.payload.orderId, userId, status: "completed", balance: 0 },
      ]);
      const debits = (await ledgerOf(userId)).filter((row) => row.kind === "debit");
      expect(debits.map((row) => [row.order_id, row.amount, row.balance_after])).toEqual([
        [orders[0]!.payload.orderId, 2_000, 3_000],
        [orders[1]!.payload.orderId, 2_000, 1_000],
        [orders[2]!.payload.orderId, 500, 500],
        [orders[4]!.payload.orderId, 500, 0],
      ]);
      expect(await balanceOf(userId)).toBe(0);
      expect(await ledgerSumOf(userId)).toBe(0);
    });

    test("one batch mixing users, an unknown account and an order paid before: each gets its own result, in the batch's order", async () => {
      const rich = await accountWith(100);
      const poor = await accountWith(5);
      const paidBefore = order(rich, 1_000);
      await publishOrders([paidBefore]);
      await eventually(() => resultsFor(paidBefore.payload.orderId).length === 1, 10_000, "the first payment");
      const unknownUser = randomUUID();
      // A new message (new id, so the inbox lets it through) for the order already paid.
      const repeated = newEnvelope(orderCreatedTopic, rich, paidBefore.payload);
      const batch = [order(poor, 300), order(rich, 2_000), order(unknownUser, 100), repeated, order(poor, 400), order(rich, 7_000), order(rich, 1)];
      // Straight into the consumer's one statement, so the orders are one batch whatever the bus does.
      const statement = consumerStatement("payments", orderCreatedTopic, payOrdersEffects);
      const { rows } = await runConsumerStatement(database.kysely, statement, payOrdersEffects, batch);
      expect(rows[0]!.fresh).toBe(batch.length);
      const returned = rows.map((row) => paymentProcessedEnvelope.parse(JSON.parse(row.value!)).payload);
      const expected = [
        { orderId: batch[0]!.payload.orderId, userId: poor, status: "completed", balance: 200 },
        { orderId: batch[1]!.payload.orderId, userId: rich, status: "completed", balance: 7_000 },
        { orderId: batch[2]!.payload.orderId, userId: unknownUser, status: "failed", reason: "account_not_found" },
        { orderId: paidBefore.payload.orderId, userId: rich, status: "completed", balance: 7_000 },
        { orderId: batch[4]!.payload.orderId, userId: poor, status: "failed", reason: "insufficient_funds", balance: 200 },
        { orderId: batch[5]!.payload.orderId, userId: rich, status: "completed", balance: 0 },
        { orderId: batch[6]!.payload.orderId, userId: rich, status: "failed", reason: "insufficient_funds", balance: 0 },
      ];
      expect(returned).toEqual(expected as never);
      // Nobody published at commit here (no consumer ran it): the relay publishes what the batch
      // committed once the writer's grace period has passed, one result per message.
      const expectedCount = (created: (typeof batch)[number]) => (created === repeated ? 2 : 1);
      await eventually(() => batch.every((created) => resultsFor(created.payload.orderId).length === expectedCount(created)), 10_000, "the batch's results");
      expect(batch.map((created) => resultsFor(created.payload.orderId).at(-1)!.payload)).toEqual(expected as never);
      expect(await balanceOf(rich)).toBe(0);
      expect(await balanceOf(poor)).toBe(200);
      expect(await ledgerSumOf(rich)).toBe(0);
      expect(await ledgerSumOf(poor)).toBe(200);
      expect((await ledgerOf(rich)).filter((row) => row.order_id === paidBefore.payload.orderId)).toHaveLength(1);
      expect((await ledgerOf(rich)).filter((row) => row.kind === "debit").map((row) => row.order_id)).toEqual([
        paidBefore.payload.orderId, batch[1]!.payload.orderId, batch[5]!.payload.orderId,
      ]);
      expect((await ledgerOf(poor)).filter((row) => row.kind === "debit").map((row) => row.order_id)).toEqual([batch[0]!.payload.orderId]);
    });

    test("with trace headers: each result's outbox row stores its order's trace context in the same statement, and the relay publishes it as the message's headers", async () => {
      const userId = await accountWith(100);
      const traced = order(userId, 100);
      const untraced = order(userId, 200);
      const headers = { traceparent: `00-${"c".repeat(32)}-${"d".repeat(16)}-01`, tracestate: "vendor=1", baggage: `gozon.order_id=${traced.payload.orderId}` };
      const statement = consumerStatement("payments", orderCreatedTopic, payOrdersEffects);
      const { rows } = await runConsumerStatement(database.kysely, statement, payOrdersEffects, [traced, untraced], (created) => (created === traced ? headers : undefined));
      expect(rows.map((row) => row.headers)).toEqual([headers, null]);
      const stored = await payments().selectFrom("outbox").select(["id", "headers"]).where("id", "in", rows.map((row) => row.id!)).orderBy("id").execute();
      expect(stored.map((row) => row.headers)).toEqual([headers, null]);
      // Nobody published at commit: the relay publishes both after the writer's grace period, with the stored headers.
      await eventually(() => resultsFor(traced.payload.orderId).length === 1 && resultsFor(untraced.payload.orderId).length === 1, 10_000, "both results");
      expect(resultHeaders.get(resultsFor(traced.payload.orderId)[0]!.id)).toMatchObject(headers);
      expect(resultHeaders.get(resultsFor(untraced.payload.orderId)[0]!.id)!.traceparent).toBeUndefined();
    });

    test("an order for a user without an account fails with account_not_found", async () => {
      const created = order(randomUUID(), 500);
      await publishOrders([created]);
      await eventually(() => resultsFor(created.payload.orderId).length === 1, 10_000, "the result");
      expect(resultsFor(created.payload.orderId)[0]!.payload).toMatchObject({ status: "failed", reason: "account_not_found" });
    });

    test("a malformed message goes to order-created.dlq and the messages behind it are still paid", async () => {
      const userId = await accountWith(10);
      const garbage = `{"id":"not-a-uuid","type":"order-created","tag":"${randomUUID()}"`;
      await bus.publish(orderCreatedTopic, [{ key: userId, value: garbage }]);
      const wrongShape = JSON.stringify({ ...order(userId, 100), payload: { orderId: randomUUID(), amount: -5 } });
      await bus.publish(orderCreatedTopic, [{ key: userId, value: wrongShape }]);
      const behind = order(userId, 100);
      await publishOrders([behind]);
      await eventually(() => resultsFor(behind.payload.orderId).length === 1, 10_000, "the order behind the bad ones");
      await eventually(() => deadLetters.some((m) => m.value === garbage) && deadLetters.some((m) => m.value === wrongShape), 10_000, "both dead letters");
      expect(resultsFor(behind.payload.orderId)[0]!.payload.status).toBe("completed");
      expect(deadLetters.find((m) => m.value === garbage)!.headers["x-attempts"]).toBe("1");
    });

    test("a crash between the debit's commit and the publish loses nothing: the relay publishes on restart", async () => {
      const userId = await accountWith(50);
      // The module restarted on a bus that refuses its results: as if it crashed after each commit.
      await paymentsUnderTest.restart({ bus: refusingPublish(bus, paymentProcessedTopic) });
      const created = order(userId, 2_000);
      await publishOrders([created]);
      // The debit commits with its outbox row, but the result cannot be published.
      await eventually(async () => (await balanceOf(userId)) === 3_000, 10_000, "the debit");
      expect(resultsFor(created.payload.orderId)).toHaveLength(0);

      await paymentsUnderTest.restart();
      await eventually(() => resultsFor(created.payload.orderId).length === 1, 10_000, "the result after restart");
      expect(resultsFor(created.payload.orderId)[0]!.payload).toMatchObject({ status: "completed", balance: 3_000 });
      expect((await ledgerOf(userId)).filter((row) => row.kind === "debit")).toHaveLength(1);
    }, 30_000);

    test("deposits honour Idempotency-Key: one effect per key, 422 for another body with it", async () => {
      const userId = await accountWith(0);
      const key = randomUUID();
      const first = await post(`/api/accounts/${userId}/deposit`, { amount: 12.5 }, { "Idempotency-Key": key });
      const again = await post(`/api/accounts/${userId}/deposit`, { amount: 12.5 }, { "Idempotency-Key": key });
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ userId, balance: 12.5 });
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ userId, balance: 12.5 });
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      const other = await post(`/api/accounts/${userId}/deposit`, { amount: 13 }, { "Idempotency-Key": key });
      expect(other.status).toBe(422);
      expect(other.headers.get("content-type")).toContain("application/problem+json");
      expect((await ledgerOf(userId)).filter((row) => row.kind === "deposit")).toHaveLength(1);
      expect(await balanceOf(userId)).toBe(1_250);
    });

    if (busKind === "memory") {
      test("100 debits racing on one account from separate transactions: exactly 50 succeed", async () => {
        const userId = await accountWith(500);
        const outcomes = await Promise.all(
          Array.from({ length: 100 }, () =>
            database.kysely.transaction().execute((trx) =>
              debitOrders(trx.withSchema("payments") as Kysely<PaymentsDatabase>, [{ userId, orderId: randomUUID(), amount: 1_000 }]),
            ),
          ),
        );
        expect(outcomes.filter(([attempt]) => attempt!.debited)).toHaveLength(50);
        expect(await balanceOf(userId)).toBe(0);
        expect(await ledgerSumOf(userId)).toBe(0);
      }, 30_000);

      test("batches racing over the same accounts, each listing them in another order: all commit, no overdraft", async () => {
        const users = [await accountWith(100), await accountWith(100), await accountWith(100)];
        // 20 batches of 6 orders of 1_000: each user gets 40 orders against 10_000, so 10 are paid.
        const batches = Array.from({ length: 20 }, (_, round) => {
          const rotated = [...users.slice(round % 3), ...users.slice(0, round % 3)];
          const ordered = round % 2 === 0 ? rotated : rotated.reverse();
          return [...ordered, ...ordered].map((userId) => ({ userId, orderId: randomUUID(), amount: 1_000 }));
        });
        // Without one lock order across batches these would deadlock, and some transactions fail.
        const outcomes = await Promise.all(
          batches.map((batch) =>
            database.kysely.transaction().execute((trx) => debitOrders(trx.withSchema("payments") as Kysely<PaymentsDatabase>, batch)),
          ),
        );
        for (const userId of users) {
          const attempts = batches.flatMap((batch, b) => batch.map((item, i) => ({ item, attempt: outcomes[b]![i]! }))).filter(({ item }) => item.userId === userId);
          expect(attempts.filter(({ attempt }) => attempt.debited)).toHaveLength(10);
          expect(attempts.filter(({ attempt }) => !attempt.debited && "alreadyDebited" in attempt && !attempt.alreadyDebited && attempt.balance === 0)).toHaveLength(30);
          expect(await balanceOf(userId)).toBe(0);
          expect(await ledgerSumOf(userId)).toBe(0);
          expect((await ledgerOf(userId)).every((row) => row.balance_after >= 0)).toBe(true);
        }
      }, 30_000);

      test("the HTTP API: create, duplicate, read, unknown, invalid input and the ledger, newest first", async () => {
        const userId = randomUUID();
        const created = await post("/api/accounts", { userId });
        expect(created.status).toBe(201);
        expect(await created.json()).toMatchObject({ userId, balance: 0 });
        expect((await post("/api/accounts", { userId })).status).toBe(409);
        expect((await post(`/api/Accounts/${userId.toUpperCase()}/deposit`, { amount: 5 })).status).toBe(200);
        expect((await post(`/api/accounts/${userId}/deposit`, { amount: 7.25 })).status).toBe(200);
        const read = await app.request(`/api/accounts/${userId}`);
        expect(await read.json()).toEqual({ userId, balance: 12.25 });
        expect((await app.request(`/api/accounts/${randomUUID()}`)).status).toBe(404);
        for (const amount of [0, -1, 1.234, "5", null]) {
          const refused = await post(`/api/accounts/${userId}/deposit`, { amount });
          expect(refused.status).toBe(400);
          expect(refused.headers.get("content-type")).toContain("application/problem+json");
        }
        expect((await post("/api/accounts", { userId: "not-a-uuid" })).status).toBe(400);
        expect((await post(`/api/accounts/${randomUUID()}/deposit`, { amount: 1 })).status).toBe(404);
        const ledger = (await (await app.request(`/api/accounts/${userId}/ledger`)).json()) as { items: { amount: number }[] };
        expect(ledger.items.map((item) => item.amount)).toEqual([7.25, 5]);
        expect(await balanceOf(userId)).toBe(1_225);
      });
    }
  });
}
