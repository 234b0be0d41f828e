import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { eventually } from "../testing/eventually";
import { openTestDatabase, testBackends, type TestDatabase } from "../testing/postgres";
import { createDatabase } from "./create-database";

const unique = (prefix: string) => `${prefix}_${randomBytes(4).toString("hex")}`;
const notify = (db: Kysely<any>, channel: string, payload: string) => sql`select pg_notify(${channel}, ${payload})`.execute(db);

for (const backend of testBackends) {
  describe(`createDatabase on ${backend}`, () => {
    let testDatabase: TestDatabase<any>;
    const db = () => testDatabase.database.kysely;

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
    });
    afterAll(() => testDatabase?.cleanup());

    test("reports its kind and answers ping", async () => {
      expect(testDatabase.database.kind).toBe(backend);
      expect(await testDatabase.database.ping()).toBe(true);
    });

    test("reads BIGINT as an exact number and timestamptz as a Date", async () => {
      const table = unique("amounts");
      await sql`create table ${sql.id(table)} (amount bigint not null, at timestamptz not null default now())`.execute(db());
      const at = new Date("2026-01-02T03:04:05.678Z");
      await db().insertInto(table).values([{ amount: 100_000_000_000_000 }, { amount: 1, at }]).execute();

      const rows = await db().selectFrom(table).selectAll().orderBy("amount", "desc").execute();
      expect(rows.map((row) => row.amount)).toEqual([100_000_000_000_000, 1]);
      expect(rows[0]?.at).toBeInstanceOf(Date);
      expect(rows[1]?.at).toEqual(at);
      const { count } = await db().selectFrom(table).select((eb) => eb.fn.countAll().as("count")).executeTakeFirstOrThrow();
      expect(count).toBe(2);
    });

    test("refuses a BIGINT beyond 2^53 rather than rounding it, and stays usable", async () => {
      await expect(sql`select 9007199254740993::bigint as amount`.execute(db())).rejects.toThrow(/beyond the exact range/);
      expect((await sql<{ ok: number }>`select 1 as ok`.execute(db())).rows).toEqual([{ ok: 1 }]);
    });

    test("rolls back a transaction whose callback throws", async () => {
      const table = unique("rolled_back");
      await sql`create table ${sql.id(table)} (id int primary key)`.execute(db());
      const failing = db()
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto(table).values({ id: 1 }).execute();
          throw new Error("changed my mind");
        });
      await expect(failing).rejects.toThrow("changed my mind");
      await failing.catch(() => {});
      expect(await db().selectFrom(table).selectAll().execute()).toEqual([]);
    });

    test("rejects, not reports committed, a transaction whose failed statement was caught", async () => {
      const table = unique("aborted");
      await sql`create table ${sql.id(table)} (id int primary key)`.execute(db());
      const committing = db()
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto(table).values({ id: 1 }).execute();
          await sql`select 1 / 0`.execute(trx).catch(() => "swallowed: the transaction is now aborted");
        });
      await expect(committing).rejects.toMatchObject({ name: "AbortedTransactionError" });
      await committing.catch(() => {});
      expect(await db().selectFrom(table).selectAll().execute()).toEqual([]);
    });

    test("runs concurrent read-modify-write transactions without losing an update", async () => {
      const table = unique("counter");
      await sql`create table ${sql.id(table)} (id int primary key, value int not null)`.execute(db());
      await db().insertInto(table).values({ id: 1, value: 0 }).execute();
      const increment = () =>
        db()
          .transaction()
          .execute(async (trx) => {
            // FOR UPDATE serialises PostgreSQL sessions; on PGlite only the session queue does.
            const { value } = await trx.selectFrom(table).select("value").where("id", "=", 1).forUpdate().executeTakeFirstOrThrow();
            await trx.updateTable(table).set({ value: value + 1 }).where("id", "=", 1).execute();
          });
      const worker = async () => {
        for (let round = 0; round < 50; round++) await increment();
      };

      await Promise.all([worker(), worker()]);

      expect(await db().selectFrom(table).select("value").executeTakeFirstOrThrow()).toEqual({ value: 100 });
    });

    test("LISTEN gets committed notifications in order and none from a rolled-back transaction", async () => {
      const channel = unique("Gozon_Channel"); // mixed case: the name is taken as is on both backends
      const received: string[] = [];
      const unsubscribe = await testDatabase.database.listen(channel, (payload) => received.push(payload));

      await db()
        .transaction()
        .execute(async (trx) => {
          await notify(trx, channel, "rolled back");
          throw new Error("roll back");
        })
        .catch(() => {});
      await db()
        .transaction()
        .execute(async (trx) => {
          await notify(trx, channel, "first");
          await notify(trx, channel, "second");
        });

      await eventually(() => received.length >= 2, 5_000, "two notifications");
      expect(received).toEqual(["first", "second"]);

      await unsubscribe();
      const sentinel: string[] = [];
      const unsubscribeSentinel = await testDatabase.database.listen(`${channel}_sentinel`, (payload) => sentinel.push(payload));
      await db()
        .transaction()
        .execute(async (trx) => {
          await notify(trx, channel, "after unsubscribe");
          await notify(trx, `${channel}_sentinel`, "done");
        });
      // Notifications arrive in order: once the sentinel's is in, the other would have been too.
      await eventually(() => sentinel.length === 1, 5_000, "the sentinel notification");
      expect(received).toEqual(["first", "second"]);
      await unsubscribeSentinel();
    });

    test("a LISTEN begun during another caller's transaction survives that transaction's rollback", async () => {
      const channel = unique("late_channel");
      const received: string[] = [];
      let listening: Promise<() => Promise<void>> | undefined;
      await db()
        .transaction()
        .execute(async (trx) => {
          listening = testDatabase.database.listen(channel, (payload) => received.push(payload));
          await sql`select 1`.execute(trx);
          throw new Error("roll back");
        })
        .catch(() => {});
      const unsubscribe = await listening!;

      await notify(db(), channel, "delivered");

      await eventually(() => received.length === 1, 5_000, "the notification");
      await unsubscribe();
    });

    test("a transaction left open by a raw BEGIN is rolled back when its connection is returned", async () => {
      const table = unique("leaked");
      await sql`create table ${sql.id(table)} (id int primary key)`.execute(db());
      // One connection, so the next query surely gets the one the transaction was left open on.
      const { options } = testDatabase;
      const single = options.url ? await createDatabase<any>({ ...options, maxConnections: 1 }) : testDatabase.database;
      try {
        await single.kysely.connection().execute(async (connection) => {
          await sql`begin`.execute(connection);
          await connection.insertInto(table).values({ id: 1 }).execute();
        });

        expect(await single.kysely.selectFrom(table).selectAll().execute()).toEqual([]);
        await single.kysely.insertInto(table).values({ id: 2 }).execute();
        expect(await db().selectFrom(table).selectAll().execute()).toEqual([{ id: 2 }]);
      } finally {
        if (single !== testDatabase.database) await single.close();
      }
    });

    test("close() lets a transaction in flight commit; then ping is false, queries reject, unsubscribing and closing again are harmless, data stays", async () => {
      const table = unique("kept");
      await sql`create table ${sql.id(table)} (id int primary key)`.execute(db());
      const unsubscribe = await testDatabase.database.listen(unique("closing_channel"), () => {});
      let entered!: () => void;
      let letCommit!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const gate = new Promise<void>((resolve) => (letCommit = resolve));
      const inFlight = db()
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto(table).values({ id: 7 }).execute();
          entered();
          await gate;
        });
      await inside;

      const started = performance.now();
      const closing = testDatabase.database.close();
      letCommit();
      await inFlight;
      await closing;

      // Well inside the 5 s after which close() would cut connections: it waited for the commit only.
      expect(performance.now() - started).toBeLessThan(4_000);
      expect(await testDatabase.database.ping()).toBe(false);
      await expect(sql`select 1`.execute(db())).rejects.toThrow();
      await unsubscribe();
      await testDatabase.database.close();
      const reopened = await createDatabase<any>(testDatabase.options);
      try {
        expect(await reopened.kysely.selectFrom(table).selectAll().execute()).toEqual([{ id: 7 }]);
      } finally {
        await reopened.close();
      }
    });
  });
}

describe("createDatabase on an unreachable PostgreSQL", () => {
  test("ping answers false within its 2 s deadline", async () => {
    const database = await createDatabase({ url: "postgres://postgres@127.0.0.1:1/postgres", dataDir: "" });
    try {
      const started = performance.now();
      expect(await database.ping()).toBe(false);
      expect(performance.now() - started).toBeLessThan(2_500);
    } finally {
      await database.close();
    }
  });
});
