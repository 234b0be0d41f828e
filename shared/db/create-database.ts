import { mkdir } from "node:fs/promises";
import { PGlite, types } from "@electric-sql/pglite";
import { Kysely } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import postgres from "postgres";
import type { Database } from "./database";
import { pgliteDialect } from "./pglite-dialect";

export interface CreateDatabaseOptions {
  /** PostgreSQL URL (postgres.js honours `sslmode` in it). Unset: embedded PGlite in `dataDir`. */
  url?: string;
  dataDir: string;
  /** Pool size for PostgreSQL. Default 10. */
  maxConnections?: number;
}

/**
 * BIGINT columns hold money in minor units: read them as JS numbers, and refuse any value a
 * number cannot hold exactly rather than round it.
 */
function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT ${text} is beyond the exact range of a JS number`);
  return value;
}

export async function createDatabase<DB>(options: CreateDatabaseOptions): Promise<Database<DB>> {
  return options.url ? createPostgres<DB>(options.url, options.maxConnections ?? 10) : createPGlite<DB>(options.dataDir);
}

function createPostgres<DB>(url: string, max: number): Database<DB> {
  const sql = postgres(url, {
    max,
    connect_timeout: 5,
    onnotice: () => {},
    types: {
      bigint: { to: 20, from: [20], serialize: (value: number) => String(value), parse: parseBigint },
    },
  });
  const kysely = new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: sql }) });
  return {
    kind: "postgres",
    kysely,
    async listen(channel, onNotify) {
      const { unlisten } = await sql.listen(channel, (payload) => onNotify(payload));
      return unlisten;
    },
    ping: () => withTimeout(sql`select 1`.then(() => true), 2_000),
    async close() {
      await kysely.destroy();
    },
  };
}

async function createPGlite<DB>(dataDir: string): Promise<Database<DB>> {
  await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, { parsers: { [types.INT8]: parseBigint } });
  const kysely = new Kysely<DB>({ dialect: pgliteDialect(pglite) });
  let closed = false;
  return {
    kind: "pglite",
    kysely,
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(channel, onNotify);
      return async () => {
        if (!closed) await unlisten();
      };
    },
    ping: async () => !closed && !pglite.closed,
    async close() {
      if (closed) return;
      closed = true;
      await kysely.destroy();
    },
  };
}

/** Resolves false when the probe throws or takes longer than `ms`. */
function withTimeout(probe: Promise<boolean>, ms: number): Promise<boolean> {
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref());
  return Promise.race([probe.catch(() => false), timeout]);
}
