import { afterAll, beforeAll } from "bun:test";
import { openTestDatabase, type TestBackend, type TestDatabase } from "../../../shared/testing/postgres";
import type { OrdersDatabase } from "./orders.tables";
import { migrateOrders } from "./migrate-orders";

/**
 * For a describe block of the orders module's database tests: a fresh database on the backend,
 * migrated before the block's tests and dropped after them. Returns the getter of it.
 */
export function useOrdersTestDatabase(backend: TestBackend): () => TestDatabase<OrdersDatabase> {
  let testDatabase: TestDatabase<OrdersDatabase> | undefined;
  beforeAll(async () => {
    testDatabase = await openTestDatabase<OrdersDatabase>(backend);
    await migrateOrders(testDatabase.database.kysely);
  }, 30_000);
  afterAll(() => testDatabase?.cleanup());
  return () => testDatabase!;
}
