import { afterAll, beforeAll } from "bun:test";
import { migrate } from "../../../shared/db";
import { openTestDatabase, type TestBackend, type TestDatabase } from "../../../shared/testing/postgres";
import { ordersSchema } from "./orders.repository";
import type { OrdersDatabase } from "./orders.tables";
import { ordersMigrations } from "./migrations/001-create-orders";

/**
 * For a describe block of the orders module's database tests: a fresh database on the backend,
 * migrated before the block's tests and dropped after them. Returns the getter of it.
 */
export function useOrdersTestDatabase(backend: TestBackend): () => TestDatabase<OrdersDatabase> {
  let testDatabase: TestDatabase<OrdersDatabase> | undefined;
  beforeAll(async () => {
    testDatabase = await openTestDatabase<OrdersDatabase>(backend);
    await migrate(testDatabase.database.kysely, { schema: ordersSchema, migrations: ordersMigrations });
  }, 30_000);
  afterAll(() => testDatabase?.cleanup());
  return () => testDatabase!;
}
