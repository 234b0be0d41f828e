import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { createDatabase, type CreateDatabaseOptions, type Database } from "../db";

/** The server tests create their databases on (trust auth); `TEST_POSTGRES_URL` overrides it. */
const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * A fresh PostgreSQL database `gozon_test_<hex>` for one test file. `drop()` removes it, ending
 * any session still connected to it, and may be called more than once.
 */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gozon_test_${randomBytes(6).toString("hex")}`;
  await asAdmin((admin) => admin.unsafe(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => asAdmin((admin) => admin.unsafe(`drop database if exists "${name}" with (force)`)),
  };
}

/** A fresh directory for a PGlite database under the OS temp dir; `remove()` deletes it. */
export async function createTestDataDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "gozon-pglite-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The backends every database test runs against. */
export const testBackends = ["postgres", "pglite"] as const;
export type TestBackend = (typeof testBackends)[number];

export interface TestDatabase<DB> {
  database: Database<DB>;
  /** What `database` was opened with: `createDatabase(options)` opens it again (PGlite: once closed). */
  options: CreateDatabaseOptions;
  /** Closes the database, then drops it or deletes its directory. */
  cleanup(): Promise<void>;
}

/** Opens a Database on a fresh PostgreSQL database or a fresh PGlite directory. */
export async function openTestDatabase<DB>(backend: TestBackend): Promise<TestDatabase<DB>> {
  if (backend === "postgres") {
    const { url, drop } = await createTestDatabase();
    const options = { url, dataDir: "" };
    const database = await createDatabase<DB>(options);
    return { database, options, cleanup: () => database.close().finally(drop) };
  }
  const { dir, remove } = await createTestDataDir();
  const options = { dataDir: dir };
  const database = await createDatabase<DB>(options);
  return { database, options, cleanup: () => database.close().finally(remove) };
}

async function asAdmin(work: (admin: postgres.Sql) => Promise<unknown>): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}
