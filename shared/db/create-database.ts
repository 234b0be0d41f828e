import { mkdir } from "node:fs/promises";
import { PGlite, types } from "@electric-sql/pglite";
import { Kysely, sql } from "kysely";
import postgres from "postgres";
import type { Database, ModuleDb } from "./database";
import { PGliteSession, pgliteDialect } from "./pglite-dialect";
import { postgresJsDialect } from "./postgres-js-dialect";

export interface CreateDatabaseOptions {
  /** PostgreSQL URL (postgres.js honours `sslmode` in it). Unset: embedded PGlite in `dataDir`. */
  url?: string;
  /** PGlite's directory, created if missing; one process at a time may open it. */
  dataDir: string;
  /** Pool size for PostgreSQL (PGlite is one session). Default 10. */
  maxConnections?: number;
}

const pingTimeoutMs = 2_000;

/**
 * Opens a module's database: PostgreSQL when `url` is set, else PGlite persisted in `dataDir`
 * (about 4 s to start). PostgreSQL connects lazily: an unreachable server shows in `ping()`
 * and in the first query, not here.
 */
export async function createDatabase<DB>(options: CreateDatabaseOptions): Promise<Database<DB>> {
  return options.url ? openPostgres<DB>(options.url, options.maxConnections ?? 10) : openPGlite<DB>(options.dataDir);
}

/**
 * BIGINT columns hold money in minor units (and counts): read them as JS numbers, and refuse a
 * value a number cannot hold exactly rather than round it.
 */
function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT ${text} is beyond the exact range of a JS number`);
  return value;
}

function openPostgres<DB>(url: string, max: number): Database<DB> {
  const options: postgres.Options<{}> = {
    // Seconds. Bounds the TCP connect only; ping() has its own deadline for a server that accepts
    // and never answers.
    connect_timeout: 5,
    // Seconds before a connection that failed is tried again. postgres.js's default grows to 20 s
    // after a few failures, so the pool would stay down that long after the server is back.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    // "already exists, skipping" and the like would otherwise go to console.log.
    onnotice: () => {},
    // No catalog query on each new connection. postgres.js 3.4 sends it unawaited: a connection
    // that drops during it and cannot reconnect rejects it with no handler, an unhandled rejection
    // that takes the process down (porsager/postgres#1192). Array parameters go as literals
    // (SlotClient), and every array the application reads comes as JSON.
    fetch_types: false,
    types: {
      bigint: { to: 20, from: [20], serialize: (value: number | bigint) => String(value), parse: parseBigint },
    },
  };
  const { dialect, pool } = postgresJsDialect((onclose) => postgres(url, { ...options, max: 1, onclose }), { size: max });
  const kysely = new Kysely<DB>({ dialect });
  // Only for LISTEN: postgres.js listens on a connection of its own and re-LISTENs after reconnecting.
  const listener = postgres(url, { ...options, max: 1 });
  return {
    kind: "postgres",
    kysely,
    async listen(channel, onNotify) {
      const { unlisten } = await listener.listen(channel, (payload) => onNotify(payload));
      return () => unlisten().catch(() => {});
    },
    ping: () => ping(kysely),
    waitingForConnection: () => pool.waitingState(),
    close: once(async () => {
      await kysely.destroy();
      await listener.end({ timeout: 0 });
    }),
  };
}

async function openPGlite<DB>(dataDir: string): Promise<Database<DB>> {
  if (!dataDir) throw new Error("createDatabase: dataDir is required when no PostgreSQL url is given");
  await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, { parsers: { [types.INT8]: parseBigint } });
  const session = new PGliteSession(pglite);
  const kysely = new Kysely<DB>({ dialect: pgliteDialect(session) });
  return {
    kind: "pglite",
    kysely,
    async listen(channel, onNotify) {
      // PGlite sends `LISTEN <channel>` unquoted, folding the name to lower case. Quoted, the name
      // is taken as is, as postgres.js does; PGlite strips the quotes but does not unescape, hence
      // no quote inside. Its returned unsubscribe folds the name again: unlisten() gets it quoted.
      // Both run holding the session: a LISTEN sent into another caller's transaction would be
      // undone by its rollback.
      if (channel.includes('"')) throw new Error(`NOTIFY channel names may not contain a double quote: ${channel}`);
      const quoted = `"${channel}"`;
      const callback = (payload: string) => onNotify(payload);
      await session.runExclusive(() => pglite.listen(quoted, callback));
      return () => session.runExclusive(() => pglite.unlisten(quoted, callback)).catch(() => {});
    },
    ping: () => ping(kysely),
    waitingForConnection: () => session.waitingState(),
    close: once(async () => {
      await kysely.destroy();
      await pglite.close();
    }),
  };
}

/** `select 1` within the deadline; false on error or timeout. */
async function ping(kysely: ModuleDb): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), pingTimeoutMs);
  });
  const probe = sql`select 1`.execute(kysely).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function once(action: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= action());
}
