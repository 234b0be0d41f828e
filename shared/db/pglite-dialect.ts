import type { PGlite, Results } from "@electric-sql/pglite";
import {
  PostgresDialect,
  type Dialect,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from "kysely";

/**
 * PGlite is ONE session: two transactions sent to it at once would run as one. This "pool" hands
 * that session to one caller at a time, in arrival order, so kysely transactions from concurrent
 * callers never interleave.
 *
 * The price: inside a transaction, a query on the outer kysely instance waits for the session the
 * transaction holds, i.e. forever. Always query through the transaction handle (`trx`).
 */
export class PGliteSession implements PostgresPool {
  readonly #pglite: PGlite;
  /** Callers waiting for the session, each with when it started waiting (performance.now()). */
  readonly #waiting: Array<{ resume: () => void; since: number }> = [];
  #held = false;
  #ended = false;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  /** Waits for the session; the caller owns it until `release()`. Rejects after `end()`. */
  async connect(): Promise<PostgresPoolClient> {
    await this.#acquire();
    return new SessionLease(this.#pglite, () => this.#release());
  }

  /** Callers waiting for the session, and how long the first has waited. */
  waitingState(now = performance.now()): { depth: number; oldestWaitMs: number } {
    const first = this.#waiting[0];
    return { depth: this.#waiting.length, oldestWaitMs: first ? now - first.since : 0 };
  }

  /** Runs `work` holding the session: for PGlite calls made outside kysely (LISTEN). */
  async runExclusive<T>(work: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  /**
   * Refuses new callers, then waits for the holder and the callers already queued. Closing the
   * PGlite instance is left to whoever created it.
   */
  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#turn();
  }

  async #acquire(): Promise<void> {
    if (this.#ended) throw new Error("the PGlite database is closed");
    await this.#turn();
  }

  async #turn(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return;
    }
    await new Promise<void>((resume) => this.#waiting.push({ resume, since: performance.now() }));
  }

  #release(): void {
    const handOver = () => {
      const next = this.#waiting.shift();
      if (next) next.resume();
      else this.#held = false;
    };
    // A holder that left a transaction open (a failed ROLLBACK, a raw BEGIN) must not pass it on.
    if (!this.#pglite.closed && this.#pglite.isInTransaction()) {
      this.#pglite.query("rollback").then(handOver, handOver);
    } else {
      handOver();
    }
  }
}

/** kysely's own PostgreSQL driver over the PGlite session. */
export function pgliteDialect(session: PGliteSession): Dialect {
  return new PostgresDialect({ pool: session });
}

/** One turn with the session; a fresh object per turn, so a released lease cannot query. */
class SessionLease implements PostgresPoolClient {
  readonly #pglite: PGlite;
  readonly #onRelease: () => void;
  #released = false;

  constructor(pglite: PGlite, onRelease: () => void) {
    this.#pglite = pglite;
    this.#onRelease = onRelease;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sql: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sql !== "string") throw new Error("streaming (cursors) is not supported on PGlite");
    if (this.#released) return Promise.reject(new Error("this PGlite session lease was already released"));
    return this.#pglite.query<R>(sql, [...parameters]).then((result) => toQueryResult(sql, result));
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease();
  }
}

/**
 * kysely reads the command tag: DML tags carry the affected row count, and a COMMIT answered by
 * ROLLBACK means the transaction had aborted (kysely then rejects instead of reporting success).
 * PGlite 0.5 reports the real tag; the SQL's first keyword is only a fallback, since it misreads
 * both that case and `WITH … INSERT`.
 */
function toQueryResult<R>(sql: string, result: Results<R>): PostgresQueryResult<R> {
  const command = (result.command ?? /^\s*(\w+)/.exec(sql)?.[1] ?? "SELECT").toUpperCase();
  return {
    command: command as PostgresQueryResult<R>["command"],
    rowCount: result.affectedRows ?? result.rowCount ?? 0,
    rows: result.rows,
  };
}
