import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { sql, type Kysely, type Migration } from "kysely";
import { openTestDatabase, testBackends, type TestDatabase } from "../testing/postgres";
import { createDatabase } from "./create-database";
import type { Database } from "./database";
import { migrate } from "./migrate";

const uniqueSchema = () => `module_${randomBytes(4).toString("hex")}`;

/** Creates `table` in the migration's schema and records each run of `up` in it. */
const createTable = (table: string): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable(table).addColumn("id", "serial", (column) => column.primaryKey()).addColumn("note", "text").execute();
    await db.insertInto(table).values({ note: "written by the migration" }).execute();
  },
});

const failing: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable("half_done").addColumn("id", "integer").execute();
    await sql`select 1 / 0`.execute(db);
  },
};

async function tablesIn(db: Kysely<any>, schema: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables where table_schema = ${schema} order by 1`.execute(db);
  return rows.map((row) => row.name);
}

async function history(db: Kysely<any>, schema: string): Promise<string[]> {
  const rows = await db.withSchema(schema).selectFrom("kysely_migration").select("name").orderBy("name").execute();
  return rows.map((row) => row.name);
}

for (const backend of testBackends) {
  describe(`migrate on ${backend}`, () => {
    let testDatabase: TestDatabase<any>;
    const db = () => testDatabase.database.kysely;

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
    });
    afterAll(() => testDatabase?.cleanup());

    test("creates the module's tables in its own schema, ready to use", async () => {
      const schema = uniqueSchema();

      await migrate(db(), { schema, migrations: { "001-create-items": createTable("items") } });

      await db().withSchema(schema).insertInto("items").values({ note: "inserted by the module" }).execute();
      expect(await db().withSchema(schema).selectFrom("items").select("note").orderBy("id").execute()).toEqual([
        { note: "written by the migration" },
        { note: "inserted by the module" },
      ]);
      expect(await tablesIn(db(), "public")).not.toContain("items");
    });

    test("applies each migration once, however often it runs, and later only the new ones", async () => {
      const schema = uniqueSchema();
      const first = { "001-create-items": createTable("items") };

      await migrate(db(), { schema, migrations: first });
      await migrate(db(), { schema, migrations: first });
      await migrate(db(), { schema, migrations: { ...first, "002-create-tags": createTable("tags") } });

      expect(await history(db(), schema)).toEqual(["001-create-items", "002-create-tags"]);
      expect(await db().withSchema(schema).selectFrom("items").selectAll().execute()).toHaveLength(1);
      expect(await db().withSchema(schema).selectFrom("tags").selectAll().execute()).toHaveLength(1);
    });

    test("keeps the histories of orders and payments apart in one database", async () => {
      await migrate(db(), { schema: "orders", migrations: { "001-create": createTable("orders") } });
      await migrate(db(), { schema: "payments", migrations: { "001-create": createTable("accounts"), "002-ledger": createTable("ledger") } });

      expect(await history(db(), "orders")).toEqual(["001-create"]);
      expect(await history(db(), "payments")).toEqual(["001-create", "002-ledger"]);
      expect(await tablesIn(db(), "orders")).toEqual(["kysely_migration", "kysely_migration_lock", "orders"]);
      expect(await tablesIn(db(), "payments")).toEqual(["accounts", "kysely_migration", "kysely_migration_lock", "ledger"]);
      expect(await tablesIn(db(), "public")).toEqual([]);
    });

    test("a failing migration rejects with its name and leaves nothing half-applied", async () => {
      const schema = uniqueSchema();
      const migrations = { "001-create-items": createTable("items"), "002-broken": failing };

      await expect(migrate(db(), { schema, migrations })).rejects.toThrow(/migration "002-broken" of schema "module_\w+" failed: division by zero/);

      expect(await tablesIn(db(), schema)).toEqual(["kysely_migration", "kysely_migration_lock"]);
      expect(await history(db(), schema)).toEqual([]);
      // Once fixed, the next start applies both.
      await migrate(db(), { schema, migrations: { ...migrations, "002-broken": createTable("fixed") } });
      expect(await history(db(), schema)).toEqual(["001-create-items", "002-broken"]);
    });

    test("processes migrating at once all succeed and apply each migration once", async () => {
      const schema = uniqueSchema();
      const migrations = { "001-create-items": createTable("items"), "002-create-tags": createTable("tags") };
      // Separate pools stand for separate processes; PGlite is one session per directory, so
      // there the concurrent callers share it.
      const { options } = testDatabase;
      const others: Database<any>[] = options.url ? await Promise.all([1, 2, 3, 4, 5].map(() => createDatabase<any>(options))) : [];
      const callers = options.url ? [testDatabase.database, ...others] : [1, 2, 3, 4, 5, 6].map(() => testDatabase.database);
      try {
        await Promise.all(callers.map((caller) => caller.ping())); // connected, so they really start together
        await Promise.all(callers.map((caller) => migrate(caller.kysely, { schema, migrations })));
      } finally {
        await Promise.all(others.map((other) => other.close()));
      }

      expect(await history(db(), schema)).toEqual(["001-create-items", "002-create-tags"]);
      expect(await db().withSchema(schema).selectFrom("items").selectAll().execute()).toHaveLength(1);
      expect(await db().withSchema(schema).selectFrom("tags").selectAll().execute()).toHaveLength(1);
    });
  });
}
