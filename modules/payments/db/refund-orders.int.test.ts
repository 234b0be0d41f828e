import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { eventually } from "../../../shared/testing/eventually";
import { testBackends } from "../../../shared/testing/postgres";
import { depositInto, insertAccount } from "./accounts.repository";
import { debitOrders } from "./debit-orders.test-helper";
import type { PaymentsDatabase } from "./payments.tables";
import { usePaymentsTestDatabase } from "./payments-test-database";
import { refundOrders } from "./refunds.repository";

// Refund requests (payments.refund_orders) and the debit they void (payments.debit_orders), on both backends.
for (const backend of testBackends) {
  describe(`refundOrders on ${backend}`, () => {
    const { db, inTransaction, accountWith, balanceOf } = usePaymentsTestDatabase(backend);
    const refund = (orderId: string, userId: string) => inTransaction((trx) => refundOrders(trx, [{ orderId, userId }]));
    const debit = (orderId: string, userId: string, amount: number) => inTransaction((trx) => debitOrders(trx, [{ orderId, userId, amount }]));

    const ledgerOf = (userId: string) =>
      db().selectFrom("ledger").select(["kind", "amount", "order_id", "balance_after"]).where("user_id", "=", userId).orderBy("id").execute();
    async function expectBalanceIsLedgerSum(userId: string): Promise<void> {
      const sum = (await ledgerOf(userId)).reduce((total, row) => total + (row.kind === "debit" ? -row.amount : row.amount), 0);
      expect(await balanceOf(userId)).toBe(sum);
    }

    test("a debited order is credited back once: one refund row, the balance back, a repeat answered the same", async () => {
      const userId = await accountWith(1_000);
      const orderId = randomUUID();
      expect(await debit(orderId, userId, 300)).toEqual([{ debited: true, balance: 700 }]);
      expect(await refund(orderId, userId)).toEqual([{ refunded: true, amount: 300, balance: 1_000 }]);
      // Again, as a redelivery the inbox no longer remembers: the same answer, nothing moves.
      expect(await refund(orderId, userId)).toEqual([{ refunded: true, amount: 300, balance: 1_000 }]);
      // And a late copy of its order-created is not charged again.
      expect(await debit(orderId, userId, 300)).toEqual([{ debited: false, cancelled: true }]);
      expect(await ledgerOf(userId)).toEqual([
        { kind: "deposit", amount: 1_000, order_id: null, balance_after: 1_000 },
        { kind: "debit", amount: 300, order_id: orderId, balance_after: 700 },
        { kind: "refund", amount: 300, order_id: orderId, balance_after: 1_000 },
      ]);
      await expectBalanceIsLedgerSum(userId);
    });

    test("a refund request before the debit cancels the order: its order-created is never charged", async () => {
      const userId = await accountWith(1_000);
      const orderId = randomUUID();
      expect(await refund(orderId, userId)).toEqual([{ refunded: false }]);
      expect(await debit(orderId, userId, 300)).toEqual([{ debited: false, cancelled: true }]);
      expect(await refund(orderId, userId)).toEqual([{ refunded: false }]);
      expect(await balanceOf(userId)).toBe(1_000);
      expect((await ledgerOf(userId)).map((row) => row.kind)).toEqual(["deposit"]);
    });

    test("a user without an account: cancelled, and still never charged once the account exists", async () => {
      const userId = randomUUID();
      const orderId = randomUUID();
      expect(await refund(orderId, userId)).toEqual([{ refunded: false }]);
      await insertAccount(db(), userId);
      await depositInto(db(), userId, 500);
      expect(await debit(orderId, userId, 100)).toEqual([{ debited: false, cancelled: true }]);
      expect(await balanceOf(userId)).toBe(500);
    });

    test("a batch mixing users, repeats and unpaid orders: answers in the batch's order, each order refunded once", async () => {
      const alice = await accountWith(1_000);
      const bob = await accountWith(1_000);
      const paid = { alice: randomUUID(), bob: randomUUID() };
      await debit(paid.alice, alice, 100);
      await debit(paid.bob, bob, 250);
      const unpaid = randomUUID();
      const answers = await inTransaction((trx) =>
        refundOrders(trx, [
          { orderId: paid.bob, userId: bob },
          { orderId: unpaid, userId: alice },
          { orderId: paid.alice, userId: alice },
          { orderId: paid.bob.toUpperCase(), userId: bob },
        ]),
      );
      expect(answers).toEqual([
        { refunded: true, amount: 250, balance: 1_000 },
        { refunded: false },
        { refunded: true, amount: 100, balance: 1_000 },
        { refunded: true, amount: 250, balance: 1_000 },
      ]);
      expect((await ledgerOf(bob)).filter((row) => row.kind === "refund")).toHaveLength(1);
      for (const userId of [alice, bob]) await expectBalanceIsLedgerSum(userId);
    });

    test("the database itself refuses a second refund or debit of one order", async () => {
      const userId = await accountWith(1_000);
      const orderId = randomUUID();
      await debit(orderId, userId, 100);
      await refund(orderId, userId);
      for (const kind of ["refund", "debit"]) {
        const again = sql`insert into payments.ledger (user_id, kind, amount, order_id, balance_after) values (${userId}, ${kind}, 100, ${orderId}, 1000)`;
        await expect(again.execute(db())).rejects.toThrow(/ledger_one_per_order_and_kind|duplicate key/);
      }
      const withoutOrder = sql`insert into payments.ledger (user_id, kind, amount, order_id, balance_after) values (${userId}, 'refund', 100, null, 1000)`;
      await expect(withoutOrder.execute(db())).rejects.toThrow(/ledger_order_rows_have_order|check constraint/);
    });

    // PGlite is one session: transactions there never overlap, so only PostgreSQL can race.
    if (backend === "postgres") {
      /**
       * Runs `first` in a transaction held open, then `second` beside it; once `second` has
       * finished or waits on a lock, commits `first` and returns both results. This is each
       * interleaving the locks must make safe, forced instead of hoped for.
       */
      async function whileHeld<A, B>(first: (trx: Kysely<PaymentsDatabase>) => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let ran!: (value: A) => void;
        const firstResult = new Promise<A>((resolve) => (ran = resolve));
        const holding = inTransaction(async (trx) => {
          const result = await first(trx);
          ran(result);
          await gate;
          return result;
        });
        const a = await Promise.race([firstResult, holding]);
        let settled = false;
        const secondRun = second().finally(() => (settled = true));
        const waiting = async () =>
          (await sql<{ count: number }>`select count(*)::int as count from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db())).rows[0]!.count;
        await eventually(async () => settled || (await waiting()) > 0, 10_000, "the second transaction to finish or wait on a lock");
        release();
        await holding;
        return [a, await secondRun];
      }

      test("refund first, debit waiting on the account: the debit sees the request and charges nothing", async () => {
        const userId = await accountWith(1_000);
        const orderId = randomUUID();
        const [answer, attempt] = await whileHeld((trx) => refundOrders(trx, [{ orderId, userId }]), () => debit(orderId, userId, 300));
        expect(answer).toEqual([{ refunded: false }]);
        expect(attempt).toEqual([{ debited: false, cancelled: true }]);
        expect(await balanceOf(userId)).toBe(1_000);
        expect((await ledgerOf(userId)).map((row) => row.kind)).toEqual(["deposit"]);
      });

      test("debit first, refund waiting on the account: the refund sees the debit and credits it back", async () => {
        const userId = await accountWith(1_000);
        const orderId = randomUUID();
        const [attempt, answer] = await whileHeld((trx) => debitOrders(trx, [{ orderId, userId, amount: 300 }]), () => refund(orderId, userId));
        expect(attempt).toEqual([{ debited: true, balance: 700 }]);
        expect(answer).toEqual([{ refunded: true, amount: 300, balance: 1_000 }]);
        expect((await ledgerOf(userId)).map((row) => row.kind)).toEqual(["deposit", "debit", "refund"]);
        await expectBalanceIsLedgerSum(userId);
      });

      test("refund for a user without an account, the account opened meanwhile: the order is still never charged", async () => {
        const userId = randomUUID();
        const orderId = randomUUID();
        const [answer, attempt] = await whileHeld(
          (trx) => refundOrders(trx, [{ orderId, userId }]),
          async () => {
            await insertAccount(db(), userId);
            await depositInto(db(), userId, 1_000);
            return debit(orderId, userId, 300);
          },
        );
        expect(answer).toEqual([{ refunded: false }]);
        expect(attempt).toEqual([{ debited: false, cancelled: true }]);
        expect(await balanceOf(userId)).toBe(1_000);
      });

      test("200 orders, each debited and cancelled at once from separate transactions: each charged and refunded, or neither", async () => {
        const users = [await accountWith(100_000), await accountWith(100_000)];
        const orders = Array.from({ length: 200 }, (_, index) => ({ orderId: randomUUID(), userId: users[index % 2]!, amount: 100 + index }));
        const outcomes = await Promise.all(
          orders.map(async (order, index) => {
            const debiting = () => debit(order.orderId, order.userId, order.amount);
            const refunding = () => refund(order.orderId, order.userId);
            // Half start with the debit, half with the refund; both in flight together.
            const [attempt, answer] = index % 2 === 0 ? await Promise.all([debiting(), refunding()]) : (await Promise.all([refunding(), debiting()])).reverse() as [Awaited<ReturnType<typeof debiting>>, Awaited<ReturnType<typeof refunding>>];
            return { attempt: attempt[0]!, answer: answer[0]! };
          }),
        );
        for (const [index, { attempt, answer }] of outcomes.entries()) {
          // Charged now ⇔ refunded; otherwise the debit saw the request and charged nothing.
          expect({ order: index, charged: attempt.debited, refunded: answer.refunded }).toEqual({ order: index, charged: answer.refunded, refunded: attempt.debited });
          if (!attempt.debited) expect(attempt).toEqual({ debited: false, cancelled: true });
        }
        const charged = outcomes.filter(({ attempt }) => attempt.debited).length;
        console.log(`debit/refund race: ${charged} of 200 charged then refunded, ${200 - charged} never charged`);
        for (const userId of users) {
          expect(await balanceOf(userId)).toBe(100_000);
          await expectBalanceIsLedgerSum(userId);
        }
      }, 30_000);
    }
  });
}
