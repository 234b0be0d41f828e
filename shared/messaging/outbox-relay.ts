import { sql, type Kysely, type RawBuilder, type Selectable, type Transaction } from "kysely";
import type { Bus } from "../bus/bus";
import { defaultFetchIntervalMs, sleep, spaceOut } from "../bus/delivery";
import { Notifier } from "../bus/notifier";
import type { Database, ModuleDb } from "../db";
import type { Logger } from "../logger";
import type { OutboxState } from "../metrics";
import type { MessagingTables, OutboxTable } from "./messaging.tables";
import { StatementTemplate } from "../db/statement-template";
import { outboxChannel, publishByTopic } from "./outbox";
import { claimCtes } from "./statement-ctes";

const { claimed, effect } = claimCtes;

export type OutboxRow = Selectable<OutboxTable>;

export interface OutboxRelayOptions {
  /** The module's database (for LISTEN) and its kysely with the module's schema applied. */
  database: Database<any>;
  db: ModuleDb;
  schema: string;
  bus: Bus;
  logger?: Logger;
  /** Rows claimed and published per round trip. Default 500. */
  batchSize?: number;
  /** Fallback poll when no NOTIFY arrives, and how often a standby relay checks the lock. Default 1 s. */
  pollMs?: number;
  /**
   * Shortest time between the starts of two rounds (a coalescing window): rows committed soon
   * after a round wait until this long after it and go together. A relay that was idle starts a
   * round at once. Default 5 ms (`defaultFetchIntervalMs`).
   */
  roundIntervalMs?: number;
  /**
   * How long the relay leaves rows written for delivery at commit (`delivery = 'at-commit'`) to
   * their writers before it publishes whatever they missed (a crash, the bus refused). Default 2 s.
   */
  atCommitGraceMs?: number;
  /** What the relay's claim statement does besides claiming (see `ClaimEffects`). */
  claimEffects?: ClaimEffects;
}

/**
 * A module's own work on the rows the relay publishes, done by the claim statement itself, inside
 * the round's transaction (e.g. orders → PaymentPending): if publishing fails, it is undone with
 * the claim. `ctes` are CTEs that read `claimCtes.claimed` (the claimed outbox rows) and end with
 * a CTE `claimCtes.effect` of one row whose json column `value` the statement answers;
 * `afterCommit` gets that value once the round has committed (e.g. to push the changes to
 * browsers), and the relay awaits it before its next round. It must not throw.
 */
export interface ClaimEffects {
  ctes: RawBuilder<unknown>;
  afterCommit(value: unknown, rows: OutboxRow[]): Promise<void>;
}

/**
 * Publishes a module's outbox (docs/architecture.md#outbox). Each round is one transaction that
 * takes the module's advisory lock, claims the oldest unpublished rows in id order, publishes them
 * and marks them published. Only the instance holding the lock publishes, so per-key order holds
 * with several instances running; the others stay on standby. A crash after publishing and before
 * the commit publishes the rows again: consumers de-duplicate on the message id. Rows written for
 * delivery at commit are their writers' to publish first; the relay is their fallback.
 */
export class OutboxRelay {
  readonly #wake = new Notifier();
  readonly #stop = new AbortController();
  readonly #options: Required<Omit<OutboxRelayOptions, "logger" | "claimEffects">> & OutboxRelayOptions;
  readonly #claim: StatementTemplate<never, ClaimedRow>;
  #loop: Promise<void> = Promise.resolve();
  #unlisten: (() => Promise<void>) | undefined;
  /** Set by every NOTIFY: one that lands while a round runs must not wait for the next poll. */
  #notified = false;
  #active = false;

  constructor(options: OutboxRelayOptions) {
    this.#options = { batchSize: 500, pollMs: 1_000, roundIntervalMs: defaultFetchIntervalMs, atCommitGraceMs: 2_000, ...options };
    const { schema, batchSize, atCommitGraceMs, claimEffects } = this.#options;
    this.#claim = claimStatement({ schema, batchSize, atCommitGraceMs, effects: claimEffects?.ctes });
  }

  async start(): Promise<void> {
    this.#unlisten = await this.#options.database.listen(outboxChannel(this.#options.schema), () => this.wake());
    this.#loop = this.#run();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake.notify();
    await this.#loop;
    await this.#unlisten?.();
  }

  /**
   * Whether this relay held the module's lock in its last round (it is the one publishing). A
   * writer in this process may then skip NOTIFY and `wake()` it after its commit instead.
   */
  get active(): boolean {
    return this.#active;
  }

  /** Wakes the relay now (tests, and writers in this process that skip NOTIFY). */
  wake(): void {
    this.#notified = true;
    this.#wake.notify();
  }

  async #run(): Promise<void> {
    const { batchSize, pollMs, roundIntervalMs, logger } = this.#options;
    let lastRound = Number.NEGATIVE_INFINITY;
    while (!this.#stop.signal.aborted) {
      try {
        // A macrotask turn per round, so a busy relay never starves HTTP (PGlite resolves in microtasks).
        await new Promise((resolve) => setImmediate(resolve));
        await spaceOut(lastRound, roundIntervalMs, this.#stop.signal);
        lastRound = performance.now();
        this.#notified = false;
        const published = await this.relayOnce();
        this.#active = published !== "standby";
        if (published === "standby") await sleep(pollMs, this.#stop.signal);
        else if (published < batchSize && !this.#notified) await this.#wake.wait(pollMs);
      } catch (error) {
        this.#active = false;
        logger?.error("outbox relay round failed, retrying", { schema: this.#options.schema, error: String(error) });
        await sleep(pollMs, this.#stop.signal);
      }
    }
  }

  /** One round: returns how many rows it published, or "standby" when another instance is active. */
  async relayOnce(): Promise<number | "standby"> {
    const { db, bus, claimEffects } = this.#options;
    const round = await db.transaction().execute(async (trx) => {
      const claimed = await claim(trx, this.#claim);
      // Each row's stored trace context (the claim's `returning *`) goes out as the message's headers.
      if (claimed.locked) await publishByTopic(bus, claimed.rows);
      return claimed;
    });
    if (!round.locked) return "standby";
    if (round.rows.length > 0) await claimEffects?.afterCommit(round.effect, round.rows);
    return round.rows.length;
  }

  /** The backlog and the age of its oldest row, for the metrics. */
  async state(): Promise<OutboxState> {
    const row = await (this.#options.db as Kysely<MessagingTables>)
      .selectFrom("outbox")
      .select((eb) => [eb.fn.countAll<number>().as("backlog"), eb.fn.min("created_at").as("oldest")])
      .where("published_at", "is", null)
      .executeTakeFirstOrThrow();
    const oldest = row.oldest as Date | null;
    return { backlog: Number(row.backlog), oldestAgeSeconds: oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1_000) : 0 };
  }
}

export interface ClaimOptions {
  schema: string;
  batchSize: number;
  atCommitGraceMs: number;
  effects: RawBuilder<unknown> | undefined;
}

/**
 * In one statement: takes the module's transaction-scoped advisory lock (one active relay per
 * module, released at commit) and, if it got it, marks the oldest unpublished rows published and
 * returns them in id order. Marking before publishing is safe: if publishing fails, the
 * transaction rolls back and the rows are unpublished again. Rows written for delivery at commit
 * are left to their writers during the grace period. The module's claim effects run in the same
 * statement; their value comes back with the rows.
 */
export function claimStatement(options: ClaimOptions): StatementTemplate<never, ClaimedRow> {
  const { schema, batchSize, atCommitGraceMs, effects } = options;
  const outbox = sql.table(`${schema}.outbox`);
  return new StatementTemplate([], () => sql<ClaimedRow>`
    with lock as materialized (select pg_try_advisory_xact_lock(hashtext(${`gozon.outbox.${schema}`})) as locked),
    ${claimed} as (
      update ${outbox} set published_at = now()
      where published_at is null and id in (
        select id from ${outbox}
        where published_at is null and (select locked from lock)
          and (delivery = 'relay' or created_at < now() - ${atCommitGraceMs}::int * interval '1 millisecond')
        order by id limit ${batchSize}
      )
      returning *
    )${effects ? sql`, ${effects}` : sql``}
    select lock.locked, ${claimed}.*,
      -- The effect once, on the first row: a round of 500 rows must not carry it 500 times.
      ${effects ? sql`case when row_number() over () = 1 then (select value from ${effect}) end` : sql`null::json`} as effect
    from lock left join ${claimed} on true`);
}

type ClaimedRow = { locked: boolean; effect: unknown } & ({ id: number } | { id: null }) & Omit<OutboxRow, "id">;

async function claim(trx: Transaction<any>, statement: StatementTemplate<never, ClaimedRow>): Promise<{ locked: boolean; rows: OutboxRow[]; effect: unknown }> {
  const { rows } = await statement.execute(trx, {});
  const locked = rows[0]?.locked === true;
  const effect = rows.find((row) => row.effect !== null && row.effect !== undefined)?.effect;
  const claimed = rows
    .filter((row): row is ClaimedRow & { id: number } => row.id !== null)
    .map(({ locked: _locked, effect: _effect, ...row }) => row as OutboxRow);
  claimed.sort((a, b) => a.id - b.id);
  return { locked, rows: claimed, effect };
}
