import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Migration } from "kysely";
import { migrate, type ModuleDb } from "../db";
import { functionDrift } from "./database-functions";
import { openTestDatabase, testBackends, type TestDatabase } from "./postgres";

export interface FunctionFilesSuiteOptions {
  /** The suite's name: the module's migrate function. */
  name: string;
  /** The module's migrate function, as its door calls it (migrations, then function files). */
  migrateModule(db: ModuleDb): Promise<void>;
  schema: string;
  migrations: Record<string, Migration>;
  /** The folder of the module's function files, and how many functions they define. */
  functions: URL;
  functionCount: number;
}

/**
 * A module's functions have one current text each, their files: the migrations create none, and
 * once migrated the database runs exactly what the files say, on both backends.
 */
export function functionFilesSuite(options: FunctionFilesSuiteOptions): void {
  const { name, migrateModule, schema, migrations, functions, functionCount } = options;
  for (const backend of testBackends) {
    describe(`${name} on ${backend}`, () => {
      let testDatabase: TestDatabase<any>;
      const db = () => testDatabase.database.kysely;

      beforeAll(async () => {
        testDatabase = await openTestDatabase(backend);
      }, 30_000);
      afterAll(() => testDatabase?.cleanup());

      test("the migrations create no function: each comes from its file, applied after them", async () => {
        await migrate(db(), { schema, migrations });
        const drift = await functionDrift(db(), schema, functions);
        // Every file's function is missing, and nothing else differs.
        expect(drift.length).toBe(functionCount);
        expect(drift.filter((missing) => missing.inDatabase !== null || missing.fromFiles === null)).toEqual([]);

        await migrateModule(db());

        expect(await functionDrift(db(), schema, functions)).toEqual([]);
      });

      test("every function the schema holds has its file, and runs what the file says", async () => {
        await migrateModule(db());

        expect(await functionDrift(db(), schema, functions)).toEqual([]);
      });
    });
  }
}
