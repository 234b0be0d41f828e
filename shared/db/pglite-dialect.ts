import type { PGlite } from "@electric-sql/pglite";
import { PostgresDialect, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from "kysely";

/**
 * A kysely dialect for PGlite, built on kysely's own PostgresDialect over a one-connection "pool".
 * PGlite is a single session, so the pool hands its one connection to one caller at a time
 * (FIFO): transactions from concurrent callers never interleave. A consequence: a query on the
 * outer kysely instance inside a transaction waits for that transaction forever — always use the
 * transaction handle.
 */
export function pgliteDialect(pglite: PGlite): PostgresDialect {
  return new PostgresDialect({ pool: new PGlitePool(pglite) });
}

class PGlitePool implements PostgresPool {
  #busy = false;
  readonly #waiting: Array<() => void> = [];
  readonly #client: PostgresPoolClient;

  constructor(private readonly pglite: PGlite) {
    const release = () => {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#busy = false;
    };
    this.#client = {
      query: (async (sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<unknown>> => {
        const result = await pglite.query(sql, [...parameters]);
        return {
          command: commandOf(sql),
          rowCount: result.affectedRows ?? result.rows.length,
          rows: result.rows,
        };
      }) as PostgresPoolClient["query"],
      release,
    };
  }

  connect(): Promise<PostgresPoolClient> {
    if (!this.#busy) {
      this.#busy = true;
      return Promise.resolve(this.#client);
    }
    return new Promise((resolve) => this.#waiting.push(() => resolve(this.#client)));
  }

  async end(): Promise<void> {
    await this.pglite.close();
  }
}

/** The statement's command, as pg reports it (kysely reads numAffectedRows for DML only). */
function commandOf(sql: string): PostgresQueryResult<unknown>["command"] {
  const keyword = /^\s*(?:with\b[\s\S]*?\)\s*)?(\w+)/i.exec(sql)?.[1]?.toUpperCase();
  switch (keyword) {
    case "INSERT":
    case "UPDATE":
    case "DELETE":
    case "MERGE":
    case "COMMIT":
    case "ROLLBACK":
      return keyword;
    default:
      return "SELECT";
  }
}
