import { sql, type Kysely, type RawBuilder } from "kysely";
import type { z } from "zod";
import { DependencyUnavailableError, PoisonMessageError, type Bus, type Delivery, type Subscription } from "../bus/bus";
import { describeMessage } from "../bus/delivery";
import { maxEnvelopeBytes } from "../contracts/envelope";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { Logger } from "../logger";
import type { ConsumerObserver } from "../metrics";
import { StatementTemplate } from "../db/statement-template";
import { traceOfBatch, type TraceOf } from "../tracing/trace-headers";
import type { QueuedMessage } from "./outbox";
import { consumerCtes } from "./statement-ctes";

const { fresh, queued } = consumerCtes;

/**
 * Records message ids in the inbox inside the caller's transaction and returns the ids seen for
 * the first time. The insert is the check (ON CONFLICT DO NOTHING), never a read-then-write:
 * when two instances get the same message at once, the second insert waits on the first's key
 * and, once that commits, skips it. The ids travel as one JSON parameter, so the statement's text
 * is the same for every batch size (one prepared statement).
 */
export async function recordFirstSeen(trx: Kysely<any>, schema: string, topic: string, messageIds: string[]): Promise<Set<string>> {
  const unique = [...new Set(messageIds)];
  if (unique.length === 0) return new Set();
  const inserted = await sql<{ message_id: string }>`
    insert into ${sql.table(`${schema}.inbox`)} (message_id, topic)
    select m.id::uuid, ${topic}::text from json_array_elements_text(${JSON.stringify(unique)}::text::json) as m(id)
    on conflict (message_id) do nothing
    returning message_id`.execute(trx);
  return new Set(inserted.rows.map((row) => row.message_id));
}

/** Parses a delivery's envelope; a message that does not fit is poison (dead-lettered at once). */
export function parseEnvelope<Schema extends z.ZodType>(schema: Schema, message: Delivery): z.infer<Schema> {
  if (Buffer.byteLength(message.value) > maxEnvelopeBytes) {
    throw new PoisonMessageError(`message at ${message.topic}/${message.partition}/${message.position} is larger than ${maxEnvelopeBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(message.value);
  } catch {
    throw new PoisonMessageError(`message at ${message.topic}/${message.partition}/${message.position} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new PoisonMessageError(`message at ${message.topic}/${message.position} fails its schema: ${parsed.error.message}`);
  }
  return parsed.data;
}

/** What every inbox consumer is given, whichever way it applies its batches. */
interface ConsumerBase<Schema extends z.ZodType<{ id: string }>> {
  bus: Bus;
  db: Kysely<any>;
  /** The module's PostgreSQL schema, which holds its inbox. */
  inboxSchema: string;
  topic: string;
  group: string;
  schema: Schema;
  maxBatchSize?: number;
  /** Told how many messages each committed batch consumed and how many were duplicates. */
  observer?: ConsumerObserver;
  /** Tracing is on: the effects get each message's trace headers, to store with the outbox rows they cause. */
  traced?: boolean;
  /** Gets a debug line per message skipped as a duplicate (see `logSkipped`). */
  logger?: Pick<Logger, "debug">;
}

/**
 * One debug line per message of a committed batch that was not applied because its id was
 * already in the inbox or earlier in the batch (a redelivery, a replay): which one, and its trace
 * context, so a replay can be followed message by message.
 */
function logSkipped(logger: Pick<Logger, "debug"> | undefined, skipped: readonly Delivery[]): void {
  for (const message of skipped) logger?.debug("duplicate message skipped", describeMessage(message));
}

export interface InboxConsumerOptions<Schema extends z.ZodType<{ id: string }>> extends ConsumerBase<Schema> {
  /**
   * Applies the messages seen for the first time, in order, inside the transaction that records
   * them in the inbox; together they commit or not at all. It may return what to do once that
   * transaction has committed (e.g. `CommittedPublisher.publish`); that runs before the batch is
   * acknowledged and must not throw.
   */
  apply(trx: Kysely<any>, messages: z.infer<Schema>[], traceOf?: TraceOf<z.infer<Schema>>): Promise<(() => Promise<void>) | void>;
}

/** Subscribes a batch consumer whose effects are applied once per message id. */
export function consumeOnce<Schema extends z.ZodType<{ id: string }>>(options: InboxConsumerOptions<Schema>): Promise<Subscription> {
  const { bus, db, topic, group, schema } = options;
  return bus.subscribeBatch(
    topic,
    group,
    async (batch) => {
      const envelopes = batch.map((message) => parseEnvelope(schema, message));
      const { skipped, afterCommit } = await db.transaction().execute(async (trx) => {
        const fresh = await recordFirstSeen(trx, options.inboxSchema, topic, envelopes.map((envelope) => envelope.id));
        const seen = new Set<string>();
        const applied = envelopes.map((envelope) => fresh.has(envelope.id) && !seen.has(envelope.id) && seen.add(envelope.id));
        const toApply = envelopes.filter((_, index) => applied[index]);
        const traceOf = options.traced ? traceOfBatch(batch, envelopes) : undefined;
        const afterCommit = toApply.length > 0 ? await options.apply(trx, toApply, traceOf) : undefined;
        return { skipped: batch.filter((_, index) => !applied[index]), afterCommit };
      }).catch((error: unknown) => {
        // The database being down is not the messages' fault: the bus retries them until it is back.
        throw isDatabaseUnavailable(error) ? new DependencyUnavailableError("the database is unavailable", { cause: error }) : error;
      });
      await afterCommit?.();
      options.observer?.consumed(envelopes.length);
      if (skipped.length > 0) options.observer?.duplicatesSkipped(skipped.length);
      logSkipped(options.logger, skipped);
    },
    { maxBatchSize: options.maxBatchSize ?? 100 },
  );
}

/**
 * What a consumer's one statement answers: how many messages were new, the ids that were not
 * (null when all were), and the outbox rows it wrote.
 */
export interface StatementRow {
  fresh: number;
  duplicates: string[] | null;
  id: number | null;
  topic: string | null;
  key: string | null;
  value: string | null;
  headers: Record<string, string> | null;
}

/**
 * A module's effects for a consumer that applies each batch in ONE statement: constant SQL (the
 * same text for every batch, built and compiled once) that reads the batch as one JSON value.
 */
export interface BatchEffects<Message> {
  /**
   * CTEs, given the batch as a json expression: they apply only the messages whose ids are in the
   * CTE `consumerCtes.fresh` and end with a CTE `consumerCtes.queued` inserting their outbox rows
   * `returning id, topic, key, value, headers` (./statement-ctes.ts).
   */
  sql(batch: RawBuilder<unknown>): RawBuilder<unknown>;
  /**
   * The batch as the JSON text the CTEs read (the messages in order, each id once). With tracing
   * on, `traceOf` gives each message's trace headers, for the `headers` of the rows it causes.
   */
  batch(messages: readonly Message[], traceOf?: TraceOf<Message>): string;
}

/**
 * A consumed batch as ONE statement, so it commits on its own (no BEGIN, no COMMIT: one round
 * trip): a first CTE `fresh(message_id)` inserts the batch's ids into the inbox and yields those
 * seen for the first time (the insert is the check, as in `recordFirstSeen`); then the module's
 * effects. The statement answers the count of fresh messages, the ids that were not (only when
 * there are any) and the queued rows in id order.
 * Being one statement, the inbox rows, the effects and the outbox rows commit together or not at
 * all. Run it with `applyInOneStatement`.
 */
export function consumerStatement(schema: string, topic: string, effects: Pick<BatchEffects<unknown>, "sql">): StatementTemplate<"ids" | "batch", StatementRow> {
  return new StatementTemplate(["ids", "batch"], (slot) => sql<StatementRow>`
    with inbox_ids as (
      select m.id from json_array_elements_text(${slot("ids")}::text::json) as m(id)
    ),
    ${fresh} as (
      insert into ${sql.table(`${schema}.inbox`)} (message_id, topic)
      select i.id::uuid, ${topic}::text from inbox_ids as i
      on conflict (message_id) do nothing
      returning message_id
    ),
    ${effects.sql(sql`${slot("batch")}::text::json`)}
    select counted.fresh, counted.duplicates, ${queued}.id, ${queued}.topic, ${queued}.key, ${queued}.value, ${queued}.headers
    from (
      select count(*)::int as fresh,
        -- Only when a message was already in the inbox (a redelivery, a replay; else null, and the
        -- subquery never runs): which ones, for the log.
        case when count(*) < (select count(*) from inbox_ids) then
          (select json_agg(i.id) from inbox_ids as i where i.id::uuid not in (select message_id from ${fresh}))
        end as duplicates
      from ${fresh}
    ) as counted left join ${queued} on true
    order by ${queued}.id`);
}

/** Runs a consumer's statement for these messages (each id once, in order). */
export function applyInOneStatement<Message extends { id: string }>(
  db: Kysely<any>,
  statement: StatementTemplate<"ids" | "batch", StatementRow>,
  effects: BatchEffects<Message>,
  messages: readonly Message[],
  traceOf?: TraceOf<Message>,
): Promise<{ rows: StatementRow[] }> {
  return statement.execute(db, { ids: JSON.stringify(messages.map((message) => message.id)), batch: effects.batch(messages, traceOf) });
}

export interface StatementConsumerOptions<Schema extends z.ZodType<{ id: string }>> extends ConsumerBase<Schema> {
  /** The batch's effects in the consumer's one statement (see `BatchEffects`). */
  effects: BatchEffects<z.infer<Schema>>;
  /**
   * Runs once the statement has committed, with the outbox rows it wrote (e.g.
   * `CommittedPublisher.publish`), before the batch is acknowledged; must not throw.
   */
  afterCommit?(queued: QueuedMessage[]): Promise<void>;
}

/**
 * As `consumeOnce`, with the batch applied by one statement (`consumerStatement`) instead of a
 * transaction of several: the same guarantees (inbox insert as the check, effects and outbox
 * rows committed with it), in one round trip per batch.
 */
export function consumeInOneStatement<Schema extends z.ZodType<{ id: string }>>(options: StatementConsumerOptions<Schema>): Promise<Subscription> {
  const { bus, db, topic, group, schema, effects } = options;
  const statement = consumerStatement(options.inboxSchema, topic, effects);
  return bus.subscribeBatch(
    topic,
    group,
    async (batch) => {
      const envelopes = batch.map((message) => parseEnvelope(schema, message));
      // A message twice in one batch is applied once: the first copy.
      const seen = new Set<string>();
      const unique = envelopes.filter((envelope) => !seen.has(envelope.id) && seen.add(envelope.id));
      const traceOf = options.traced ? traceOfBatch(batch, envelopes) : undefined;
      const { rows } = await applyInOneStatement(db, statement, effects, unique, traceOf).catch((error: unknown) => {
        // The database being down is not the messages' fault: the bus retries them until it is back.
        throw isDatabaseUnavailable(error) ? new DependencyUnavailableError("the database is unavailable", { cause: error }) : error;
      });
      const fresh = rows[0]?.fresh ?? 0;
      const queued = rows.filter((row): row is StatementRow & QueuedMessage => row.id !== null);
      await options.afterCommit?.(queued.map(({ id, topic, key, value, headers }) => ({ id, topic, key, value, headers })));
      options.observer?.consumed(envelopes.length);
      if (envelopes.length > fresh) {
        options.observer?.duplicatesSkipped(envelopes.length - fresh);
        // Skipped: a later copy of an id in this batch, or an id the inbox already had.
        const known = new Set(rows[0]?.duplicates ?? []);
        const first = new Map(unique.map((envelope) => [envelope.id, envelope]));
        logSkipped(options.logger, batch.filter((_, index) => first.get(envelopes[index]!.id) !== envelopes[index] || known.has(envelopes[index]!.id)));
      }
    },
    { maxBatchSize: options.maxBatchSize ?? 100 },
  );
}
