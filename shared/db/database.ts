import type { Kysely } from "kysely";

/**
 * Kysely over one module's database, as shared code sees it. Shared code (outbox, inbox, dead
 * letters, retention, migrations, hot statements) serves every module, so it is not typed by any
 * module's tables: it names its own tables as `<schema>.<table>` in sql templates, the schema
 * given at run time. A module narrows it to its own tables with
 * `withSchema(itsSchema) as Kysely<ItsTables>`. (Migrations take `Kysely<any>` as kysely
 * advises: they must not depend on today's table types.)
 */
export type ModuleDb = Kysely<any>;

/**
 * A module's database: kysely over PostgreSQL (postgres.js) or over an embedded PGlite. Both run
 * the same SQL and read BIGINT as a JS number and timestamptz as a Date.
 */
export interface Database<DB> {
  readonly kind: "postgres" | "pglite";
  /**
   * Open transactions with `kysely.transaction()` and query only through the `trx` it hands you:
   * on PGlite (one session) a query on the outer `kysely` inside a transaction waits forever.
   */
  readonly kysely: Kysely<DB>;
  /**
   * Subscribes to NOTIFY on `channel` (the exact, case-sensitive string given to `pg_notify`);
   * resolves once listening, so notifications committed after that are delivered, in commit
   * order, and none from a rolled-back transaction. Delivery is a wake-up hint, not a guarantee:
   * what is sent while the listening connection reconnects is lost, so keep a fallback poll.
   * Returns the function that unsubscribes (harmless after `close()`).
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Callers waiting for a connection (PostgreSQL: the pool's; PGlite: its one session) and how long
   * the first has waited, in ms. A wait is bounded: after 5 s it fails as the database unavailable.
   */
  waitingForConnection(): { depth: number; oldestWaitMs: number };
  /** True when a trivial query succeeds within 2 s (readiness probe); never throws, never hangs. */
  ping(): Promise<boolean>;
  /**
   * Lets queries and transactions in flight finish (on PostgreSQL for 5 s at most), then closes
   * the pool or the PGlite instance. Later queries reject; calling it again is harmless.
   */
  close(): Promise<void>;
}
