import { useMigratedTestDatabase } from "../../../shared/testing/migrated-test-database";
import type { TestBackend, TestDatabase } from "../../../shared/testing/postgres";
import { migrateOrders } from "./migrate-orders";
import type { OrdersDatabase } from "./orders.tables";

/**
 * For a describe block of the orders module's database tests: a fresh database on the backend,
 * migrated before the block's tests and dropped after them. Returns the getter of it.
 */
export function useOrdersTestDatabase(backend: TestBackend): () => TestDatabase<OrdersDatabase> {
  return useMigratedTestDatabase<OrdersDatabase>(backend, migrateOrders);
}
