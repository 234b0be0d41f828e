import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { migrate } from "../../../shared/db";
import { functionDrift } from "../../../shared/testing/database-functions";
import { openTestDatabase, testBackends, type TestDatabase } from "../../../shared/testing/postgres";
import { ordersSchema } from "./orders.repository";
import { migrateOrders, ordersFunctions } from "./migrate-orders";
import { ordersMigrations } from "./migrations/001-create-orders";

// Each function of schema `orders` has one current text, its file in db/functions/: the
// database runs exactly that, on both backends.
for (const backend of testBackends) {
  describe(`migrateOrders on ${backend}`, () => {
    let testDatabase: TestDatabase<any>;
    const db = () => testDatabase.database.kysely;

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
    }, 30_000);
    afterAll(() => testDatabase?.cleanup());

    test("the migrations create no function: each comes from its file, applied after them", async () => {
      await migrate(db(), { schema: ordersSchema, migrations: ordersMigrations });
      const drift = await functionDrift(db(), ordersSchema, ordersFunctions);
      // Every file's function is missing, and nothing else differs.
      expect(drift.length).toBe(2);
      expect(drift.filter((missing) => missing.inDatabase !== null || missing.fromFiles === null)).toEqual([]);

      await migrateOrders(db());

      expect(await functionDrift(db(), ordersSchema, ordersFunctions)).toEqual([]);
    });

    test("every function the schema holds has its file, and runs what the file says", async () => {
      await migrateOrders(db());

      expect(await functionDrift(db(), ordersSchema, ordersFunctions)).toEqual([]);
    });
  });
}
