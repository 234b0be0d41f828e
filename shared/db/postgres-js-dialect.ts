import {
  PostgresDialect,
  type Dialect,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from "kysely";
import type postgres from "postgres";

/**
 * kysely's own PostgreSQL driver over a postgres.js pool, each kysely connection a reserved
 * postgres.js connection. Not kysely-postgres-js's PostgresJSDialect: its 3.0 driver drops the
 * command tag, so with kysely 0.28 a COMMIT that PostgreSQL answers with ROLLBACK (the transaction
 * had aborted on an error the caller caught) resolves as if it had committed. This way both
 * backends run the same driver, and such a transaction rejects with AbortedTransactionError.
 */
export function postgresJsDialect(sql: postgres.Sql<any>, closeTimeoutMs = 5_000): Dialect {
  return new PostgresDialect({ pool: new ReservingPool(sql, closeTimeoutMs) });
}

class ReservingPool implements PostgresPool {
  readonly #sql: postgres.Sql<any>;
  readonly #closeTimeoutMs: number;
  #leases = 0;
  #ending = false;
  #onDrained: (() => void) | undefined;

  constructor(sql: postgres.Sql<any>, closeTimeoutMs: number) {
    this.#sql = sql;
    this.#closeTimeoutMs = closeTimeoutMs;
  }

  async connect(): Promise<PostgresPoolClient> {
    if (this.#ending) throw new Error("the database is closed");
    this.#leases++;
    try {
      return new ReservedClient(await this.#sql.reserve(), () => this.#returned());
    } catch (error) {
      this.#returned();
      throw error;
    }
  }

  /**
   * Refuses new connections, waits up to the close timeout for those lent out, then closes the
   * pool (at once if they were not all back). The waiting is ours because postgres.js's own
   * `end()` never sees a reserved connection come back and would always sit out its timeout.
   */
  async end(): Promise<void> {
    this.#ending = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained =
      this.#leases === 0 ||
      (await Promise.race([
        new Promise<boolean>((resolve) => (this.#onDrained = () => resolve(true))),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.#closeTimeoutMs))),
      ]));
    clearTimeout(timer);
    await this.#sql.end({ timeout: drained ? this.#closeTimeoutMs / 1_000 : 0 });
  }

  #returned(): void {
    if (--this.#leases === 0) this.#onDrained?.();
  }
}

class ReservedClient implements PostgresPoolClient {
  readonly #reserved: postgres.ReservedSql<any>;
  readonly #onRelease: () => void;
  #released = false;
  #inTransaction = false;

  constructor(reserved: postgres.ReservedSql<any>, onRelease: () => void) {
    this.#reserved = reserved;
    this.#onRelease = onRelease;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sql: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sql !== "string") throw new Error("streaming (cursors) is not supported");
    return this.#reserved.unsafe(sql, [...parameters] as postgres.ParameterOrJSON<never>[]).then((result) => {
      const command = result.command.toUpperCase();
      if (command === "BEGIN" || command === "START") this.#inTransaction = true;
      if (command === "COMMIT" || command === "ROLLBACK") this.#inTransaction = false;
      return { command: command as PostgresQueryResult<R>["command"], rowCount: result.count ?? 0, rows: Array.from(result) as R[] };
    });
  }

  /**
   * A connection that still has a transaction open (a raw BEGIN) is rolled back before it goes
   * back to the pool, so the next user does not find itself inside it. postgres.js cannot discard
   * a reserved connection; it replaces broken ones by itself.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const giveBack = () => {
      this.#reserved.release();
      this.#onRelease();
    };
    if (this.#inTransaction) this.#reserved.unsafe("rollback").then(giveBack, giveBack);
    else giveBack();
  }
}
