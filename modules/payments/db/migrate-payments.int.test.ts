import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { migrate } from "../../../shared/db";
import { functionDrift } from "../../../shared/testing/database-functions";
import { openTestDatabase, testBackends, type TestDatabase } from "../../../shared/testing/postgres";
import { paymentsSchema } from "./accounts.repository";
import { migratePayments, paymentsFunctions } from "./migrate-payments";
import { paymentsMigrations } from "./migrations/001-create-payments";

// Each function of schema `payments` has one current text, its file in db/functions/: the
// database runs exactly that, on both backends.
for (const backend of testBackends) {
  describe(`migratePayments on ${backend}`, () => {
    let testDatabase: TestDatabase<any>;
    const db = () => testDatabase.database.kysely;

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
    }, 30_000);
    afterAll(() => testDatabase?.cleanup());

    test("the migrations create no function: each comes from its file, applied after them", async () => {
      await migrate(db(), { schema: paymentsSchema, migrations: paymentsMigrations });
      const drift = await functionDrift(db(), paymentsSchema, paymentsFunctions);
      // Every file's function is missing, and nothing else differs.
      expect(drift.length).toBe(3);
      expect(drift.filter((missing) => missing.inDatabase !== null || missing.fromFiles === null)).toEqual([]);

      await migratePayments(db());

      expect(await functionDrift(db(), paymentsSchema, paymentsFunctions)).toEqual([]);
    });

    test("every function the schema holds has its file, and runs what the file says", async () => {
      await migratePayments(db());

      expect(await functionDrift(db(), paymentsSchema, paymentsFunctions)).toEqual([]);
    });
  });
}
