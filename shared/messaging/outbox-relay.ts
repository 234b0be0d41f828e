import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import type { Bus, OutgoingMessage } from "../bus/bus";
import { sleep } from "../bus/delivery";
import { Notifier } from "../bus/notifier";
import type { Database } from "../db";
import type { Logger } from "../logger";
import type { OutboxState } from "../metrics";
import type { MessagingTables, OutboxTable } from "./messaging.tables";
import { arrayLiteral } from "../db/array-literal";
import { outboxChannel } from "./outbox";

export type OutboxRow = Selectable<OutboxTable>;

export interface OutboxRelayOptions {
  /** The module's database (for LISTEN) and its kysely with the module's schema applied. */
  database: Database<any>;
  db: Kysely<any>;
  schema: string;
  bus: Bus;
  logger?: Logger;
  /** Rows claimed and published per round trip. Default 500. */
  batchSize?: number;
  /** Fallback poll when no NOTIFY arrives, and how often a standby relay checks the lock. Default 1 s. */
  pollMs?: number;
  /**
   * Topics whose writers publish their rows themselves right after the commit (`CommittedPublisher`).
   * The relay leaves such rows alone for `writerGraceMs` (default 2 s), then publishes whatever
   * the writer missed (it crashed, or the bus refused). Default none.
   */
  writerPublishedTopics?: string[];
  writerGraceMs?: number;
  /**
   * Runs in the transaction that marks rows published (e.g. orders → PaymentPending). It may
   * return what to do once that transaction has committed (e.g. push the changes to browsers);
   * the relay awaits it before its next round.
   */
  onPublished?(trx: Transaction<any>, rows: OutboxRow[]): Promise<(() => Promise<void>) | void>;
}

/**
 * Publishes a module's outbox (DESIGN §8). Each round is one transaction that takes the module's
 * advisory lock, claims the oldest unpublished rows in id order, publishes them and marks them
 * published. Only the instance holding the lock publishes, so per-key order holds with several
 * instances running; the others stay on standby. A crash after publishing and before the commit
 * publishes the rows again: consumers de-duplicate on the message id. Rows of
 * `writerPublishedTopics` are their writers' to publish first; the relay is their fallback.
 */
export class OutboxRelay {
  readonly #wake = new Notifier();
  readonly #stop = new AbortController();
  readonly #options: Required<Omit<OutboxRelayOptions, "logger" | "onPublished">> & OutboxRelayOptions;
  readonly #claim: ClaimOptions;
  #loop: Promise<void> = Promise.resolve();
  #unlisten: (() => Promise<void>) | undefined;
  /** Set by every NOTIFY: one that lands while a round runs must not wait for the next poll. */
  #notified = false;

  constructor(options: OutboxRelayOptions) {
    this.#options = { batchSize: 500, pollMs: 1_000, writerPublishedTopics: [], writerGraceMs: 2_000, ...options };
    const { schema, batchSize, writerPublishedTopics, writerGraceMs } = this.#options;
    this.#claim = { schema, batchSize, writerPublishedTopics, writerGraceMs };
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

  /** Wakes the relay now (tests, and writers in this process that skip NOTIFY). */
  wake(): void {
    this.#notified = true;
    this.#wake.notify();
  }

  async #run(): Promise<void> {
    const { batchSize, pollMs, logger } = this.#options;
    while (!this.#stop.signal.aborted) {
      try {
        this.#notified = false;
        // A macrotask turn per round, so a busy relay never starves HTTP (PGlite resolves in microtasks).
        await new Promise((resolve) => setImmediate(resolve));
        const published = await this.relayOnce();
        if (published === "standby") await sleep(pollMs, this.#stop.signal);
        else if (published < batchSize && !this.#notified) await this.#wake.wait(pollMs);
      } catch (error) {
        logger?.error("outbox relay round failed, retrying", { schema: this.#options.schema, error: String(error) });
        await sleep(pollMs, this.#stop.signal);
      }
    }
  }

  /** One round: returns how many rows it published, or "standby" when another instance is active. */
  async relayOnce(): Promise<number | "standby"> {
    const { db, bus, onPublished } = this.#options;
    const after: { commit?: () => Promise<void> } = {};
    const result = await db.transaction().execute(async (trx) => {
      const { locked, rows } = await claim(trx, this.#claim);
      if (!locked) return "standby" as const;
      if (rows.length === 0) return 0;
      for (const [topic, messages] of byTopic(rows)) await bus.publish(topic, messages);
      after.commit = (await onPublished?.(trx, rows)) ?? undefined;
      return rows.length;
    });
    await after.commit?.();
    return result;
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

interface ClaimOptions {
  schema: string;
  batchSize: number;
  writerPublishedTopics: string[];
  writerGraceMs: number;
}

/**
 * In one statement: takes the module's transaction-scoped advisory lock (one active relay per
 * module, released at commit) and, if it got it, marks the oldest unpublished rows published and
 * returns them in id order. Marking before publishing is safe: if publishing fails, the
 * transaction rolls back and the rows are unpublished again. Rows of writer-published topics are
 * left to their writers during the grace period.
 */
async function claim(trx: Transaction<any>, options: ClaimOptions): Promise<{ locked: boolean; rows: OutboxRow[] }> {
  const { schema, batchSize, writerPublishedTopics, writerGraceMs } = options;
  const outbox = sql.table(`${schema}.outbox`);
  const { rows } = await sql<{ locked: boolean } & ({ id: number } | { id: null }) & Omit<OutboxRow, "id">>`
    with lock as materialized (select pg_try_advisory_xact_lock(hashtext(${`gozon.outbox.${schema}`})) as locked),
    claimed as (
      update ${outbox} set published_at = now()
      where published_at is null and id in (
        select id from ${outbox}
        where published_at is null and (select locked from lock)
          and (topic <> all(${arrayLiteral(writerPublishedTopics)}::text::text[])
               or created_at < now() - ${writerGraceMs}::int * interval '1 millisecond')
        order by id limit ${batchSize}
      )
      returning *
    )
    select lock.locked, claimed.* from lock left join claimed on true`.execute(trx);
  const locked = rows[0]?.locked === true;
  const claimed = rows.filter((row): row is typeof row & { id: number } => row.id !== null) as OutboxRow[];
  claimed.sort((a, b) => a.id - b.id);
  return { locked, rows: claimed };
}

/** Rows grouped by topic, each group in id order (order matters per key, keys live in one topic). */
function byTopic(rows: OutboxRow[]): Map<string, OutgoingMessage[]> {
  const topics = new Map<string, OutgoingMessage[]>();
  for (const row of rows) {
    const messages = topics.get(row.topic) ?? [];
    // The row's stored trace context (returned by the claim's `returning *`) goes out as the message's headers.
    messages.push(row.headers ? { key: row.key, value: row.value, headers: row.headers } : { key: row.key, value: row.value });
    topics.set(row.topic, messages);
  }
  return topics;
}
