import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { eventually } from "../testing/eventually";
import { createTestDatabase } from "../testing/postgres";
import { TcpProxy } from "../testing/tcp-proxy";
import { createDatabase } from "./create-database";
import type { Database } from "./database";
import { isDatabaseUnavailable } from "./unavailable";

/**
 * The PostgreSQL pool when connections drop (the server restarts, the network fails): a TCP proxy
 * of the test's own stands between the pool and the machine's PostgreSQL and is cut and restored.
 * Every query must fail fast while the server is away (never hang, never take the process down),
 * and the same pool must serve again, at full size, once it is back.
 */
let proxy: TcpProxy;
let database: Database<any>;
let drop: () => Promise<void>;
let databaseUrl: string;
const maxConnections = 4;

beforeAll(async () => {
  const created = await createTestDatabase();
  drop = created.drop;
  databaseUrl = created.url;
  proxy = await TcpProxy.start({ hostname: "127.0.0.1", port: Number(new URL(created.url).port || 5432) });
  database = await createDatabase<any>({ url: proxy.url(created.url), dataDir: "", maxConnections });
  await sql`create table t (n int)`.execute(database.kysely);
});

afterAll(async () => {
  await database?.close();
  proxy?.close();
  await drop?.();
});

const select = (n: number) => sql<{ n: number }>`select ${n}::int as n`.execute(database.kysely).then((result) => result.rows[0]!.n);

/** Settles how a promise ends, and how long it took. */
async function outcome<T>(work: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now();
  try {
    return { value: await work, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

/** Opens every connection of the pool and waits until none is mid-handshake, so an outage finds them all open. */
async function warmUp(): Promise<void> {
  await Promise.all(Array.from({ length: maxConnections * 2 }, (_, n) => select(n)));
  await eventually(() => proxy.quietFor(100), 5_000, "the pool's connections to be idle");
}

/** Cuts, runs `during`, restores, and checks the pool serves `maxConnections` at once again. */
async function outage(during: () => Promise<void>): Promise<void> {
  await warmUp();
  proxy.cut();
  try {
    await during();
  } finally {
    proxy.restore();
  }
  await expectServingAgain();
}

/** Serving at once after a restore (not after a reconnect backoff), and with every connection of the pool. */
async function expectServingAgain(options = { wholePool: true }): Promise<void> {
  const restoredAt = performance.now();
  await eventually(async () => (await outcome(select(1))).value === 1, 10_000, "the pool to serve again");
  expect(performance.now() - restoredAt).toBeLessThan(3_000);
  if (!options.wholePool) return;
  // Every connection usable again: as many transactions open at once as the pool has (each waits
  // inside until all are in, so a pool that lost a connection would time out here).
  let inside = 0;
  let allIn!: () => void;
  const everyoneIn = new Promise<void>((resolve) => (allIn = resolve));
  const held = await Promise.all(
    Array.from({ length: maxConnections }, (_, n) =>
      database.kysely.transaction().execute(async (trx) => {
        const row = (await sql<{ n: number }>`select ${n}::int as n`.execute(trx)).rows[0]!.n;
        if (++inside === maxConnections) allIn();
        await everyoneIn;
        return row;
      }),
    ),
  );
  expect(held).toEqual([0, 1, 2, 3]);
}

describe("when the connections drop", () => {
  test("queries in flight fail at once as unavailable, and so do new ones while the server is away", async () => {
    await outage(async () => {
      const inFlight = await Promise.all(Array.from({ length: 3 }, () => outcome(sql`select pg_sleep(5)`.execute(database.kysely))));
      const later = await Promise.all(Array.from({ length: 6 }, (_, n) => outcome(select(n))));
      for (const result of [...inFlight, ...later]) {
        expect(isDatabaseUnavailable(result.error)).toBe(true);
        expect(result.ms).toBeLessThan(6_000);
      }
    });
  }, 30_000);

  test("a transaction whose connection drops between two statements fails fast, and nothing of it is committed", async () => {
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let reachedPause!: () => void;
    const atPause = new Promise<void>((resolve) => (reachedPause = resolve));
    await warmUp();
    const transaction = outcome(
      database.kysely.transaction().execute(async (trx) => {
        await sql`insert into t values (1)`.execute(trx);
        reachedPause();
        await paused;
        await sql`insert into t values (2)`.execute(trx);
      }),
    );
    await atPause;
    proxy.cut();
    await eventually(() => proxy.connections === 0, 5_000, "the proxied connections to be closed");
    // The second insert would fail while the server is away; it must fail as well once it is back.
    proxy.restore();
    await expectServingAgain({ wholePool: false }); // one connection is still the transaction's
    resume();
    const result = await transaction;
    expect(isDatabaseUnavailable(result.error)).toBe(true);
    await expectServingAgain();
    expect((await sql<{ count: number }>`select count(*)::int as count from t`.execute(database.kysely)).rows[0]!.count).toBe(0);
  }, 30_000);

  test("the readiness probe says false while the server is away and true after", async () => {
    await outage(async () => {
      expect(await database.ping()).toBe(false);
    });
    expect(await database.ping()).toBe(true);
  }, 30_000);

  test("repeated outages do not shrink the pool", async () => {
    for (let round = 0; round < 3; round++) {
      await outage(async () => {
        const results = await Promise.all(Array.from({ length: maxConnections * 2 }, (_, n) => outcome(select(n))));
        expect(results.every((result) => isDatabaseUnavailable(result.error))).toBe(true);
      });
    }
  }, 60_000);

  test("a new connection that drops between its start-up and its first query fails that query as unavailable, and nothing else", async () => {
    // What escapes every caller: an unhandled rejection would take a server process down.
    const stray: unknown[] = [];
    const hear = (reason: unknown) => void stray.push(reason);
    process.on("unhandledRejection", hear);
    const fresh = await createDatabase<any>({ url: proxy.url(databaseUrl), dataDir: "", maxConnections: 1 });
    try {
      proxy.cutAtFirstQuery();
      const result = await outcome(fresh.kysely.transaction().execute((trx) => sql`select 1`.execute(trx)));
      expect(isDatabaseUnavailable(result.error)).toBe(true);
      // The client retries its connection while the proxy refuses it: give that attempt time to fail too.
      await Bun.sleep(500);
      expect(stray).toEqual([]);
      proxy.restore();
      await eventually(async () => (await outcome(sql`select 1 as n`.execute(fresh.kysely))).value !== undefined, 10_000, "the new client to serve");
    } finally {
      process.off("unhandledRejection", hear);
      proxy.restore();
      await fresh.close();
    }
  }, 30_000);
});
