import { afterAll, beforeAll } from "bun:test";
import type { ModuleDb } from "../db";
import { openTestDatabase, type TestBackend, type TestDatabase } from "./postgres";

/**
 * For a describe block of a module's database tests: a fresh database on the backend, brought up
 * to date by `migrate` (the module's migrations and function files) before the block's tests and
 * dropped after them. Returns the getter of it.
 */
export function useMigratedTestDatabase<DB>(backend: TestBackend, migrate: (db: ModuleDb) => Promise<void>): () => TestDatabase<DB> {
  let testDatabase: TestDatabase<DB> | undefined;
  beforeAll(async () => {
    testDatabase = await openTestDatabase<DB>(backend);
    await migrate(testDatabase.database.kysely);
  }, 30_000);
  afterAll(() => testDatabase?.cleanup());
  return () => testDatabase!;
}
