import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { sql, type Kysely, type Migration } from "kysely";
import { functionDrift } from "../testing/database-functions";
import { openTestDatabase, testBackends, type TestDatabase } from "../testing/postgres";
import { migrate } from "./migrate";

/** A module's migration that creates `schema.price(n)` with an older body (n × 2). */
const createPrice = (schema: string): Migration => ({
  async up(db: Kysely<any>) {
    await sql`create function ${sql.id(schema, "price")}(n integer) returns integer language sql as $$ select n * 2 $$`.execute(db);
  },
});

const priceFile = (schema: string, factor: number) =>
  `-- The price of n items.\ncreate or replace function ${schema}.price(n integer) returns integer\nlanguage sql as $$ select n * ${factor} $$\n`;

const priceOf = async (db: Kysely<any>, schema: string, n: number) =>
  (await sql<{ price: number }>`select ${sql.id(schema, "price")}(${n}::integer) as price`.execute(db)).rows[0]!.price;

for (const backend of testBackends) {
  describe(`function files on ${backend}`, () => {
    let testDatabase: TestDatabase<any>;
    let folder: string;
    const folders: string[] = [];
    const db = () => testDatabase.database.kysely;
    const functions = () => pathToFileURL(`${folder}/`);

    /** A module with one migration creating `price` and a functions folder whose file replaces it. */
    async function migratedModule(): Promise<string> {
      const schema = `module_${randomBytes(4).toString("hex")}`;
      folder = await mkdtemp(join(tmpdir(), "gozon-functions-"));
      folders.push(folder);
      await writeFile(join(folder, "price.sql"), priceFile(schema, 3));
      await migrate(db(), { schema, migrations: { "001-price": createPrice(schema) }, functions: functions() });
      return schema;
    }

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
    }, 30_000);
    afterAll(async () => {
      await testDatabase?.cleanup();
      await Promise.all(folders.map((each) => rm(each, { recursive: true, force: true })));
    });

    test("the file's text replaces what the migration created, and applying it again changes nothing", async () => {
      const schema = await migratedModule();
      expect(await priceOf(db(), schema, 5)).toBe(15);

      await migrate(db(), { schema, migrations: { "001-price": createPrice(schema) }, functions: functions() });

      expect(await priceOf(db(), schema, 5)).toBe(15);
      expect(await functionDrift(db(), schema, functions())).toEqual([]);
    });

    test("a function changed behind its file is reported, with both definitions", async () => {
      const schema = await migratedModule();
      await sql.raw(priceFile(schema, 4)).execute(db());

      const drift = await functionDrift(db(), schema, functions());

      expect(drift).toEqual([{ function: `${schema}.price(n integer)`, inDatabase: expect.stringContaining("n * 4"), fromFiles: expect.stringContaining("n * 3") }]);
      expect(await priceOf(db(), schema, 5)).toBe(20); // the check leaves the database as it was
    });

    test("a function without a file, and a file whose function the database lacks, are reported", async () => {
      const schema = await migratedModule();
      await sql`create function ${sql.id(schema, "tax")}(n integer) returns integer language sql as $$ select n / 10 $$`.execute(db());
      await unlink(join(folder, "price.sql"));
      await writeFile(join(folder, "discount.sql"), `create or replace function ${schema}.discount(n integer) returns integer language sql as $$ select n $$`);

      const drift = await functionDrift(db(), schema, functions());

      expect(drift.map(({ function: name, inDatabase, fromFiles }) => [name, inDatabase !== null, fromFiles !== null])).toEqual([
        [`${schema}.discount(n integer)`, false, true],
        [`${schema}.price(n integer)`, true, false],
        [`${schema}.tax(n integer)`, true, false],
      ]);
    });

    test("a failing file rejects with its name", async () => {
      const schema = await migratedModule();
      await writeFile(join(folder, "broken.sql"), `create or replace function ${schema}.broken() returns integer language sql as $$ select nothing $$`);

      await expect(migrate(db(), { schema, migrations: { "001-price": createPrice(schema) }, functions: functions() })).rejects.toThrow(
        /function file "broken.sql" failed: .*nothing/,
      );
    });
  });
}
