import { sql, type RawBuilder } from "kysely";
import { DependencyUnavailableError, type Bus } from "../../bus/bus";
import { publishByTopic } from "../outbox";
import { arrayLiteral } from "../../db/array-literal";
import { redriveHeaders } from "./dead-letter";
import type { DeadLetter, DeadLetterListFilter, DeadLetterStore, DeadLetterSummary, RedriveFilter, RedriveResult } from "./dead-letter-store";
import type { DeadLetterState } from "./dead-letters.tables";
import type { ModuleDb } from "../../db";

export interface DeadLettersOptions {
  module: string;
  /** The module's kysely and the schema of its `dead_letters` table. */
  db: ModuleDb;
  schema: string;
  bus: Bus;
  topics: readonly string[];
}

interface Row {
  id: string;
  topic: string;
  key: string;
  subject: string | null;
  error: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  replay_count: number;
  state: DeadLetterState;
}

interface FullRow extends Row {
  message_base64: string;
  headers: string;
}

const summaryColumns = sql`id, topic, key, subject, error, attempts, first_failed_at, last_failed_at, replay_count, state`;
const detailColumns = sql`${summaryColumns}, headers, encode(message, 'base64') as message_base64`;

/** Ids re-driven per transaction by `redriveMatching`. */
const redriveChunk = 100;

/** A module's `dead_letters` table behind the DeadLetterStore port. */
export class DeadLetters implements DeadLetterStore {
  readonly module: string;
  readonly topics: readonly string[];
  readonly #options: DeadLettersOptions;
  readonly #table: RawBuilder<unknown>;

  constructor(options: DeadLettersOptions) {
    this.#options = options;
    this.module = options.module;
    this.topics = options.topics;
    this.#table = sql.table(`${options.schema}.dead_letters`);
  }

  async list(filter: DeadLetterListFilter): Promise<DeadLetterSummary[]> {
    const conditions = [sql`true`];
    if (filter.topic !== undefined) conditions.push(sql`topic = ${filter.topic}`);
    if (filter.subject !== undefined) conditions.push(sql`subject = ${filter.subject}`);
    if (filter.state !== undefined) conditions.push(sql`state = ${filter.state}`);
    if (filter.before) conditions.push(sql`(last_failed_at, id) < (${filter.before.lastFailedAt.toISOString()}::timestamptz, ${filter.before.id}::uuid)`);
    const { rows } = await sql<Row>`
      select ${summaryColumns} from ${this.#table}
      where ${sql.join(conditions, sql` and `)}
      order by last_failed_at desc, id desc limit ${filter.limit}`.execute(this.#options.db);
    return rows.map((row) => this.#summary(row));
  }

  async find(id: string): Promise<DeadLetter | undefined> {
    return this.#options.db.transaction().execute(async (trx) => {
      const row = await this.#select(trx, id, false);
      return row && this.#detail(row);
    });
  }

  async redrive(id: string): Promise<RedriveResult> {
    return this.#options.db.transaction().execute(async (trx) => {
      const row = await this.#select(trx, id, true);
      if (!row) return { refused: "unknown" as const };
      if (row.state === "discarded") return { refused: "discarded" as const };
      await this.#publish([row]);
      return { redriven: this.#detail(await this.#markRedriven(trx, [id]).then((rows) => rows[0]!)) };
    });
  }

  async discard(id: string): Promise<DeadLetter | undefined> {
    const { rows } = await sql<FullRow>`
      update ${this.#table} set state = 'discarded', resolved_at = now() where id = ${id}::uuid
      returning ${detailColumns}`.execute(this.#options.db);
    return rows[0] && this.#detail(rows[0]);
  }

  async redriveMatching(filter: RedriveFilter): Promise<number> {
    // The ids are taken first, so what is re-driven and dead-lettered again meanwhile is not taken twice.
    const { rows } = await sql<{ id: string }>`
      select id from ${this.#table} where ${this.#matching(filter)} order by first_failed_at, id`.execute(this.#options.db);
    let redriven = 0;
    for (let start = 0; start < rows.length; start += redriveChunk) {
      const ids = rows.slice(start, start + redriveChunk).map((row) => row.id);
      redriven += await this.#options.db.transaction().execute(async (trx) => {
        const { rows: locked } = await sql<FullRow>`
          select ${detailColumns} from ${this.#table}
          where id = any(${arrayLiteral(ids)}::text::uuid[]) and ${this.#matching(filter)}
          order by first_failed_at, id for update`.execute(trx);
        if (locked.length === 0) return 0;
        await this.#publish(locked);
        return (await this.#markRedriven(trx, locked.map((row) => row.id))).length;
      });
    }
    return redriven;
  }

  async counts(): Promise<{ topic: string; state: DeadLetterState; count: number }[]> {
    const { rows } = await sql<{ topic: string; state: DeadLetterState; count: number }>`
      select topic, state, count(*)::int as count from ${this.#table} group by topic, state`.execute(this.#options.db);
    return rows;
  }

  #matching(filter: RedriveFilter): RawBuilder<unknown> {
    const conditions = [sql`state = 'pending'`];
    if (filter.topic !== undefined) conditions.push(sql`topic = ${filter.topic}`);
    if (filter.errorContains !== undefined) conditions.push(sql`strpos(lower(error), lower(${filter.errorContains})) > 0`);
    return sql.join(conditions, sql` and `);
  }

  async #select(trx: ModuleDb, id: string, forUpdate: boolean): Promise<FullRow | undefined> {
    const { rows } = await sql<FullRow>`
      select ${detailColumns} from ${this.#table} where id = ${id}::uuid
      ${forUpdate ? sql`for update` : sql``}`.execute(trx);
    return rows[0];
  }

  /** Publishes the rows' messages to their original topics, in the given order per topic. */
  async #publish(rows: FullRow[]): Promise<void> {
    const messages = rows.map((row) => ({ topic: row.topic, key: row.key, value: decode(row.message_base64), headers: redriveHeaders(row.id, parseHeaders(row.headers)) }));
    try {
      await publishByTopic(this.#options.bus, messages);
    } catch (error) {
      throw new DependencyUnavailableError(`the bus did not take the re-driven message: ${String(error)}`, { cause: error });
    }
  }

  async #markRedriven(trx: ModuleDb, ids: string[]): Promise<FullRow[]> {
    const { rows } = await sql<FullRow>`
      update ${this.#table} set state = 'redriven', replay_count = replay_count + 1, resolved_at = now()
      where id = any(${arrayLiteral(ids)}::text::uuid[])
      returning ${detailColumns}`.execute(trx);
    return rows;
  }

  #summary(row: Row): DeadLetterSummary {
    return {
      id: row.id,
      module: this.module,
      topic: row.topic,
      key: row.key,
      subject: row.subject,
      error: row.error,
      attempts: row.attempts,
      firstFailedAt: row.first_failed_at,
      lastFailedAt: row.last_failed_at,
      replayCount: row.replay_count,
      state: row.state,
    };
  }

  #detail(row: FullRow): DeadLetter {
    return { ...this.#summary(row), message: decode(row.message_base64), headers: parseHeaders(row.headers) };
  }
}

function decode(base64: string): string {
  return Buffer.from(base64, "base64").toString("utf8");
}

function parseHeaders(text: string): Record<string, string> {
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return {};
  }
}
