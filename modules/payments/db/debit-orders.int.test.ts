import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { testBackends } from "../../../shared/testing/postgres";
import { depositInto, insertAccount } from "./accounts.repository";
import { debitOrders, type OrderDebit } from "./debit-orders.test-helper";
import { usePaymentsTestDatabase } from "./payments-test-database";

// The batch debit (payments.debit_orders) on both backends: the same SQL runs on PostgreSQL and PGlite.
for (const backend of testBackends) {
  describe(`debitOrders on ${backend}`, () => {
    const { db, inTransaction, accountWith, balanceOf } = usePaymentsTestDatabase(backend);
    const debitsOf = (userId: string) =>
      db().selectFrom("ledger").select(["order_id", "amount", "balance_after"]).where("user_id", "=", userId).where("kind", "=", "debit").orderBy("id").execute();
    async function ledgerSumOf(userId: string): Promise<number> {
      const rows = await db().selectFrom("ledger").select(["kind", "amount"]).where("user_id", "=", userId).execute();
      return rows.reduce((total, row) => total + (row.kind === "deposit" ? row.amount : -row.amount), 0);
    }
    const inOneTransaction = (items: OrderDebit[]) => inTransaction((trx) => debitOrders(trx, items));

    test("a batch mixing users: each user's orders in batch order, answers in batch order, balances equal the ledger", async () => {
      const alice = await accountWith(1_000);
      const bob = await accountWith(300);
      const paidBefore = { orderId: randomUUID(), userId: alice, amount: 100 };
      expect(await inOneTransaction([paidBefore])).toEqual([{ debited: true, balance: 900 }]);
      const twice = { orderId: randomUUID(), userId: bob, amount: 200 };
      const batch: OrderDebit[] = [
        { orderId: randomUUID(), userId: alice, amount: 600 },
        twice,
        { orderId: randomUUID(), userId: randomUUID(), amount: 50 },
        paidBefore,
        { orderId: randomUUID(), userId: alice, amount: 400 },
        twice,
        { orderId: randomUUID(), userId: bob, amount: 100 },
        { orderId: randomUUID(), userId: alice, amount: 300 },
      ];

      expect(await inOneTransaction(batch)).toEqual([
        { debited: true, balance: 300 },
        { debited: true, balance: 100 },
        { debited: false, alreadyDebited: false, balance: undefined },
        { debited: false, alreadyDebited: true, balance: 300 },
        { debited: false, alreadyDebited: false, balance: 300 },
        { debited: false, alreadyDebited: true, balance: 100 },
        { debited: true, balance: 0 },
        { debited: true, balance: 0 },
      ]);
      expect(await debitsOf(alice)).toEqual([
        { order_id: paidBefore.orderId, amount: 100, balance_after: 900 },
        { order_id: batch[0]!.orderId, amount: 600, balance_after: 300 },
        { order_id: batch[7]!.orderId, amount: 300, balance_after: 0 },
      ]);
      expect(await debitsOf(bob)).toEqual([
        { order_id: twice.orderId, amount: 200, balance_after: 100 },
        { order_id: batch[6]!.orderId, amount: 100, balance_after: 0 },
      ]);
      for (const userId of [alice, bob]) {
        expect(await balanceOf(userId)).toBe(0);
        expect(await ledgerSumOf(userId)).toBe(0);
      }
    });

    test("a batch that fails rolls back every debit in it", async () => {
      const userId = await accountWith(1_000);
      const failing = inTransaction(async (trx) => {
        await debitOrders(trx, [{ orderId: randomUUID(), userId, amount: 400 }]);
        throw new Error("the consumer's transaction fails after the debits");
      });
      await expect(failing).rejects.toThrow("after the debits");
      expect(await balanceOf(userId)).toBe(1_000);
      expect(await debitsOf(userId)).toEqual([]);
    });

    test("ids in upper case name the same account and order", async () => {
      const userId = await accountWith(500);
      const orderId = randomUUID();
      expect(await inOneTransaction([{ orderId: orderId.toUpperCase(), userId: userId.toUpperCase(), amount: 200 }])).toEqual([{ debited: true, balance: 300 }]);
      expect(await inOneTransaction([{ orderId, userId, amount: 200 }])).toEqual([{ debited: false, alreadyDebited: true, balance: 300 }]);
      expect(await debitsOf(userId)).toEqual([{ order_id: orderId, amount: 200, balance_after: 300 }]);
    });

    test("a declined order is never debited later, even once the account could pay it (a redelivery after the inbox window)", async () => {
      const userId = await accountWith(100);
      const tooDear = { orderId: randomUUID(), userId, amount: 150 };
      expect(await inOneTransaction([tooDear])).toEqual([{ debited: false, alreadyDebited: false, balance: 100 }]);
      await depositInto(db(), userId, 500);
      expect(await inOneTransaction([tooDear])).toEqual([{ debited: false, alreadyDebited: false, balance: 600 }]);

      const stranger = randomUUID();
      const noAccount = { orderId: randomUUID(), userId: stranger, amount: 10 };
      expect(await inOneTransaction([noAccount])).toEqual([{ debited: false, alreadyDebited: false, balance: undefined }]);
      await insertAccount(db(), stranger);
      await depositInto(db(), stranger, 1_000);
      // Still declined as it was then: no account (the account opened since does not pay it).
      expect(await inOneTransaction([noAccount])).toEqual([{ debited: false, alreadyDebited: false, balance: undefined }]);

      expect(await debitsOf(userId)).toEqual([]);
      expect(await debitsOf(stranger)).toEqual([]);
      expect(await balanceOf(userId)).toBe(600);
      expect(await balanceOf(stranger)).toBe(1_000);
      const declined = await db().selectFrom("declined_orders").select(["order_id", "reason"]).where("user_id", "in", [userId, stranger]).orderBy("reason").execute();
      expect(declined).toEqual([
        { order_id: tooDear.orderId, reason: "insufficient_funds" },
        { order_id: noAccount.orderId, reason: "no_account" },
      ]);
    });

    test("the ledger is read by its index, even by a plan made while it was nearly empty", async () => {
      // PL/pgSQL keeps a plan per statement for the session: force the generic one, made for the
      // table as it is now (a few rows), as a new database under load gets it. A plan that scans
      // a small table stays in use while the table grows, and then reads all of it per order.
      const userId = await accountWith(1_000);
      const twice = { orderId: randomUUID(), userId, amount: 10 };
      const seqScans = await inTransaction(async (trx) => {
        // The transaction's own counts: a backend's pending statistics, which are not sent
        // before the transaction ends, so the difference is what the debit did.
        const ledgerScans = async () =>
          (await sql<{ scans: number }>`
            select coalesce(sum(seq_scan), 0)::int as scans from pg_stat_xact_user_tables
            where schemaname = 'payments' and relname = 'ledger'`.execute(trx)).rows[0]!.scans;
        // Statistics of the ledger as it is now, a page or two, as a new database's first
        // automatic ANALYZE records them; the plans made next are made for that size.
        await sql`analyze payments.ledger`.execute(trx);
        await sql`set local plan_cache_mode = force_generic_plan`.execute(trx);
        const before = await ledgerScans();
        expect(await debitOrders(trx, [twice, { orderId: randomUUID(), userId: randomUUID(), amount: 10 }, twice])).toEqual([
          { debited: true, balance: 990 },
          { debited: false, alreadyDebited: false, balance: undefined },
          { debited: false, alreadyDebited: true, balance: 990 },
        ]);
        return (await ledgerScans()) - before;
      });
      expect(seqScans).toBe(0);
    });

    test("an empty batch debits nothing", async () => {
      expect(await debitOrders(db(), [])).toEqual([]);
    });
  });
}
