import {
  PostgresDialect,
  type Dialect,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from "kysely";
import type postgres from "postgres";
import { asParameter } from "./array-literal";
import { DatabaseUnavailableError } from "./unavailable";

/** Opens one postgres.js client of at most one connection; `onClose` hears each time it closes. */
export type SingleConnectionFactory = (onClose: () => void) => postgres.Sql<any>;

export interface PostgresJsPoolOptions {
  /** Connections (single-connection clients) at most. */
  size: number;
  /** How long end() waits for connections lent out. Default 5 s. */
  closeTimeoutMs?: number;
  /** Longest wait for a free connection; then DatabaseUnavailableError (ACQUIRE_TIMEOUT). Default 5 s. */
  acquireTimeoutMs?: number;
}

/**
 * kysely's own PostgreSQL driver over postgres.js, each kysely connection one of `size`
 * single-connection postgres.js clients lent out by a small pool of ours. Not
 * kysely-postgres-js's PostgresJSDialect: its 3.0 driver drops the command tag, so with kysely
 * 0.28 a COMMIT that PostgreSQL answers with ROLLBACK (the transaction had aborted on an error the
 * caller caught) resolves as if it had committed. This way both backends run the same driver, and
 * such a transaction rejects with AbortedTransactionError.
 *
 * Not postgres.js's `reserve()` either: in 3.4 a reservation that fails while the server is down
 * stays in its queue and later swallows a connection (the next caller then waits forever), and a
 * reserved connection that dropped is handed back as open, where the next query hangs or throws
 * from a timer and kills the process. A single-connection client tells us when its connection
 * closes, so a transaction whose connection dropped is failed instead of carrying on, outside any
 * transaction, on a new one. And a client whose connection closed is replaced by a new one before
 * it is lent again: postgres.js 3.4 can leave a write pending on a closed connection object, after
 * which that object never sends its startup message again (every reconnect ends in
 * CONNECT_TIMEOUT).
 */
export function postgresJsDialect(openConnection: SingleConnectionFactory, options: PostgresJsPoolOptions): { dialect: Dialect; pool: ConnectionPool } {
  const pool = new ConnectionPool(openConnection, options);
  return { dialect: new PostgresDialect({ pool }), pool };
}

/** One connection of the pool: its client and how many times that client's connection has closed. */
interface Slot {
  sql: postgres.Sql<any>;
  closes: number;
}

export class ConnectionPool implements PostgresPool {
  readonly #slots: Slot[];
  /** Free slots, the most recently used last: few connections stay busy under a light load. */
  readonly #idle: Slot[];
  /** Callers waiting for a free slot, oldest first, each with when it started waiting (performance.now()). */
  readonly #waiting: { give: (slot: Slot) => void; since: number }[] = [];
  readonly #closeTimeoutMs: number;
  readonly #acquireTimeoutMs: number;
  #ending = false;
  #onDrained: (() => void) | undefined;

  readonly #openConnection: SingleConnectionFactory;

  constructor(openConnection: SingleConnectionFactory, options: PostgresJsPoolOptions) {
    this.#openConnection = openConnection;
    this.#slots = Array.from({ length: options.size }, () => this.#renew({ sql: undefined as unknown as postgres.Sql<any>, closes: 0 }));
    this.#idle = [...this.#slots];
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.#acquireTimeoutMs = options.acquireTimeoutMs ?? 5_000;
  }

  async connect(): Promise<PostgresPoolClient> {
    if (this.#ending) throw new DatabaseUnavailableError("the database is closed", "CONNECTION_ENDED");
    const slot = this.#idle.pop() ?? (await this.#waitForSlot());
    if (slot.closes > 0) this.#renew(slot);
    return new SlotClient(slot, () => this.#giveBack(slot));
  }

  /** Callers waiting for a connection, and how long the first has waited. */
  waitingState(now = performance.now()): { depth: number; oldestWaitMs: number } {
    const first = this.#waiting[0];
    return { depth: this.#waiting.length, oldestWaitMs: first ? now - first.since : 0 };
  }

  /** Gives the slot a new client (postgres.js connects lazily: on its first query); the old one is dropped. */
  #renew(slot: Slot): Slot {
    const old = slot.sql;
    const client = this.#openConnection(() => {
      if (slot.sql === client) slot.closes++;
    });
    slot.sql = client;
    slot.closes = 0;
    old?.end({ timeout: 0 }).catch(() => {});
    return slot;
  }

  /** The next slot given back, or ACQUIRE_TIMEOUT: a request never waits forever for a connection. */
  #waitForSlot(): Promise<Slot> {
    return new Promise((resolve, reject) => {
      const waiter = {
        give: (slot: Slot) => {
          clearTimeout(timer);
          resolve(slot);
        },
        since: performance.now(),
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        reject(new DatabaseUnavailableError(`no database connection free within ${this.#acquireTimeoutMs} ms`, "ACQUIRE_TIMEOUT"));
      }, this.#acquireTimeoutMs);
      this.#waiting.push(waiter);
    });
  }

  #giveBack(slot: Slot): void {
    const next = this.#waiting.shift();
    if (next && !this.#ending) return next.give(slot);
    this.#idle.push(slot);
    if (this.#idle.length === this.#slots.length) this.#onDrained?.();
  }

  /**
   * Refuses new connections, waits up to the close timeout for those lent out, then closes every
   * client (at once if they were not all back).
   */
  async end(): Promise<void> {
    this.#ending = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained =
      this.#idle.length === this.#slots.length ||
      (await Promise.race([
        new Promise<boolean>((resolve) => (this.#onDrained = () => resolve(true))),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.#closeTimeoutMs))),
      ]));
    clearTimeout(timer);
    await Promise.all(this.#slots.map((slot) => slot.sql.end({ timeout: drained ? this.#closeTimeoutMs / 1_000 : 0 })));
  }
}

class SlotClient implements PostgresPoolClient {
  readonly #slot: Slot;
  readonly #onRelease: () => void;
  #released = false;
  /** The slot's close count when BEGIN succeeded; undefined outside a transaction. */
  #transactionOn: number | undefined;

  constructor(slot: Slot, onRelease: () => void) {
    this.#slot = slot;
    this.#onRelease = onRelease;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sql: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sql !== "string") throw new Error("streaming (cursors) is not supported");
    // The transaction's connection is gone: the server rolled it back. Sending the rest would
    // reconnect and run it outside any transaction.
    if (this.#transactionOn !== undefined && this.#slot.closes !== this.#transactionOn) {
      return Promise.reject(new DatabaseUnavailableError("the database connection was lost mid-transaction", "CONNECTION_CLOSED"));
    }
    // Named prepared statements: kysely's SQL text is stable per query shape, so the server
    // parses and plans each shape once per connection (measured: about half the CPU per query).
    const options = { prepare: parameters.length > 0 };
    return this.#slot.sql.unsafe(sql, parameters.map(asParameter) as postgres.ParameterOrJSON<never>[], options).then((result) => {
      const command = result.command.toUpperCase();
      if (command === "BEGIN" || command === "START") this.#transactionOn = this.#slot.closes;
      if (command === "COMMIT" || command === "ROLLBACK") this.#transactionOn = undefined;
      return { command: command as PostgresQueryResult<R>["command"], rowCount: result.count ?? 0, rows: Array.from(result) as R[] };
    });
  }

  /**
   * A connection that still has a transaction open (a raw BEGIN) is rolled back before it goes
   * back to the pool, so the next user does not find itself inside it.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const giveBack = () => this.#onRelease();
    // A transaction whose connection dropped was rolled back by the server; the slot gets a new client.
    if (this.#transactionOn === this.#slot.closes) this.#slot.sql.unsafe("rollback").then(giveBack, giveBack);
    else giveBack();
  }
}
