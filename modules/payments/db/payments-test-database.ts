import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { useMigratedTestDatabase } from "../../../shared/testing/migrated-test-database";
import type { TestBackend } from "../../../shared/testing/postgres";
import { depositInto, findAccount, insertAccount, paymentsSchema } from "./accounts.repository";
import { migratePayments } from "./migrate-payments";
import type { PaymentsDatabase } from "./payments.tables";

/** A describe block's payments database, and what its tests do with it. */
export interface PaymentsTestDatabase {
  /** Kysely over schema `payments`. */
  db(): Kysely<PaymentsDatabase>;
  /** Runs `work` in a transaction over schema `payments`. */
  inTransaction<T>(work: (trx: Kysely<PaymentsDatabase>) => Promise<T>): Promise<T>;
  /** A new user's account holding `balance` (minor units); returns the user id. */
  accountWith(balance: number): Promise<string>;
  balanceOf(userId: string): Promise<number | undefined>;
}

/**
 * For a describe block of the payments module's database tests: a fresh database on the backend,
 * migrated before the block's tests and dropped after them.
 */
export function usePaymentsTestDatabase(backend: TestBackend): PaymentsTestDatabase {
  const testDatabase = useMigratedTestDatabase<PaymentsDatabase>(backend, migratePayments);
  const kysely = () => testDatabase().database.kysely;
  const db = () => kysely().withSchema(paymentsSchema) as Kysely<PaymentsDatabase>;
  return {
    db,
    inTransaction: (work) => kysely().transaction().execute((trx) => work(trx.withSchema(paymentsSchema) as Kysely<PaymentsDatabase>)),
    async accountWith(balance) {
      const userId = randomUUID();
      await insertAccount(db(), userId);
      if (balance > 0) await depositInto(db(), userId, balance);
      return userId;
    },
    balanceOf: async (userId) => (await findAccount(db(), userId))?.balance,
  };
}
