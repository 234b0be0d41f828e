import type { Kysely } from "kysely";

/** A module's database: kysely over PostgreSQL (postgres.js) or over an embedded PGlite. */
export interface Database<DB> {
  readonly kind: "postgres" | "pglite";
  readonly kysely: Kysely<DB>;
  /** Subscribes to NOTIFY on `channel`; returns the function that unsubscribes. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** True when a trivial query succeeds within a short timeout (readiness probe). */
  ping(): Promise<boolean>;
  /** Closes the pool or the PGlite instance. */
  close(): Promise<void>;
}
