import { sql, type RawBuilder } from "kysely";
import type { z } from "zod";
import { DependencyUnavailableError, PoisonMessageError, type Bus, type Delivery, type Subscription } from "../bus/bus";
import { describeMessage } from "../bus/delivery";
import { maxEnvelopeBytes } from "../contracts/envelope";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { Logger } from "../logger";
import type { ConsumerObserver } from "../metrics";
import { StatementTemplate } from "../db/statement-template";
import { traceOfBatch, type TraceOf } from "../tracing/trace-headers";
import type { AtCommit, OutboxDelivery, OutboxWriter, QueuedMessage } from "./outbox";
import { queuedColumns } from "./outbox-insert";
import { consumerCtes } from "./statement-ctes";
import type { ModuleDb } from "../db";

const { fresh, queued } = consumerCtes;

/**
 * Records message ids in the inbox inside the caller's transaction and returns the ids seen for
 * the first time. The insert is the check (ON CONFLICT DO NOTHING), never a read-then-write:
 * when two instances get the same message at once, the second insert waits on the first's key
 * and, once that commits, skips it. The ids travel as one JSON parameter, so the statement's text
 * is the same for every batch size (one prepared statement).
 */
export async function recordFirstSeen(trx: ModuleDb, schema: string, topic: string, messageIds: string[]): Promise<Set<string>> {
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
export function parseEnvelope<Schema extends z.ZodType>(envelope: Schema, message: Delivery): z.infer<Schema> {
  if (Buffer.byteLength(message.value) > maxEnvelopeBytes) {
    throw new PoisonMessageError(`message at ${message.topic}/${message.partition}/${message.position} is larger than ${maxEnvelopeBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(message.value);
  } catch {
    throw new PoisonMessageError(`message at ${message.topic}/${message.partition}/${message.position} is not JSON`);
  }
  const parsed = envelope.safeParse(json);
  if (!parsed.success) {
    throw new PoisonMessageError(`message at ${message.topic}/${message.position} fails its schema: ${parsed.error.message}`);
  }
  return parsed.data;
}

/** What every inbox consumer is given, whichever way it applies its batches. */
interface ConsumerBase<Schema extends z.ZodType<{ id: string }>> {
  bus: Bus;
  db: ModuleDb;
  /** The module's PostgreSQL schema, which holds its inbox. */
  inboxSchema: string;
  /** The module's outbox: what the effects write for delivery at commit is published through it once they have committed. */
  outbox: OutboxWriter;
  topic: string;
  group: string;
  /** The zod schema of the topic's envelope: a message that fails it is poison. */
  envelope: Schema;
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

/** What an effect applied in the inbox's transaction is given besides the transaction and the messages. */
export interface ApplyContext<Message> {
  /** The module's outbox writer, for the rows the effect causes. */
  outbox: OutboxWriter;
  /** With tracing on, each message's trace headers, for the rows it causes. */
  traceOf?: TraceOf<Message>;
}

/**
 * How a consumer applies the messages seen for the first time, in order; either way, the inbox
 * rows, the effects and their outbox rows commit together or not at all, and the outbox rows
 * written for delivery at commit are published once that commit is done, before the batch is
 * acknowledged.
 */
export type InboxApply<Message> =
  | {
      /**
       * Inside the transaction that records the messages in the inbox (several statements). It
       * returns the handle of the rows it wrote with `context.outbox.atCommit`, if any.
       */
      applyInTransaction(trx: ModuleDb, messages: Message[], context: ApplyContext<Message>): Promise<AtCommit | void>;
    }
  | {
      /** As CTEs of the one statement that records the batch in the inbox (`consumerStatement`): one round trip per batch, for the hot paths. */
      applyInOneStatement: BatchEffects<Message>;
    };

export type InboxConsumerOptions<Schema extends z.ZodType<{ id: string }>> = ConsumerBase<Schema> & InboxApply<z.infer<Schema>>;

/** What applying a batch (each id once) told: the ids the inbox already had, and the rows to publish at commit. */
interface Applied {
  known: ReadonlySet<string>;
  written?: AtCommit | void;
}

type ApplyBatch<Message> = (messages: Message[], traceOf: TraceOf<Message> | undefined) => Promise<Applied>;

/**
 * Subscribes a batch consumer whose effects are applied once per message id. Every batch goes
 * the same way, whichever the apply: parsed (a message that does not fit its schema is poison),
 * each id once (the first copy in the batch), applied with the inbox insert as the check, the rows
 * written for delivery at commit published, counted, and each copy skipped as a duplicate logged.
 */
export function consumeInbox<Schema extends z.ZodType<{ id: string }>>(options: InboxConsumerOptions<Schema>): Promise<Subscription> {
  const { bus, topic, group, envelope } = options;
  const apply: ApplyBatch<z.infer<Schema>> = "applyInOneStatement" in options ? inOneStatement(options, options.applyInOneStatement) : inTransaction(options, options.applyInTransaction);
  return bus.subscribeBatch(
    topic,
    group,
    async (batch) => {
      const envelopes = batch.map((message) => parseEnvelope(envelope, message));
      // A message twice in one batch is applied once: the first copy.
      const first = new Map<string, z.infer<Schema>>();
      for (const envelope of envelopes) if (!first.has(envelope.id)) first.set(envelope.id, envelope);
      const traceOf = options.traced ? traceOfBatch(batch, envelopes) : undefined;
      const { known, written } = await apply([...first.values()], traceOf).catch((error: unknown) => {
        // The database being down is not the messages' fault: the bus retries them until it is back.
        throw isDatabaseUnavailable(error) ? new DependencyUnavailableError("the database is unavailable", { cause: error }) : error;
      });
      await written?.publish();
      options.observer?.consumed(envelopes.length);
      // Skipped: a later copy of an id in this batch, or an id the inbox already had.
      const skipped = batch.filter((_, index) => first.get(envelopes[index]!.id) !== envelopes[index] || known.has(envelopes[index]!.id));
      if (skipped.length > 0) options.observer?.duplicatesSkipped(skipped.length);
      logSkipped(options.logger, skipped);
    },
    { maxBatchSize: options.maxBatchSize ?? 100 },
  );
}

/** A batch applied in a transaction: the inbox insert (`recordFirstSeen`), then the effects on the new messages. */
function inTransaction<Message extends { id: string }>(
  options: ConsumerBase<z.ZodType<{ id: string }>>,
  applyInTransaction: (trx: ModuleDb, messages: Message[], context: ApplyContext<Message>) => Promise<AtCommit | void>,
): ApplyBatch<Message> {
  const { db, inboxSchema, topic, outbox } = options;
  return (messages, traceOf) =>
    db.transaction().execute(async (trx) => {
      const fresh = await recordFirstSeen(trx, inboxSchema, topic, messages.map((message) => message.id));
      const toApply = messages.filter((message) => fresh.has(message.id));
      const written = toApply.length > 0 ? await applyInTransaction(trx, toApply, traceOf ? { outbox, traceOf } : { outbox }) : undefined;
      return { known: new Set(messages.filter((message) => !fresh.has(message.id)).map((message) => message.id)), written };
    });
}

/** A batch applied by the consumer's one statement (`consumerStatement`), its outbox rows answered by it. */
function inOneStatement<Message extends { id: string }>(options: ConsumerBase<z.ZodType<{ id: string }>>, effects: BatchEffects<Message>): ApplyBatch<Message> {
  const { db, inboxSchema, topic, outbox } = options;
  const statement = consumerStatement(inboxSchema, topic, effects);
  return async (messages, traceOf) => {
    const { rows } = await runConsumerStatement(db, statement, effects, messages, traceOf);
    const queued = rows.filter((row): row is StatementRow & QueuedMessage => row.id !== null);
    return { known: new Set(rows[0]?.duplicates ?? []), written: outbox.written(queued) };
  };
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
  delivery: OutboxDelivery | null;
}

/**
 * A module's effects for a consumer that applies each batch in ONE statement: constant SQL (the
 * same text for every batch, built and compiled once) that reads the batch as one JSON value.
 */
export interface BatchEffects<Message> {
  /**
   * CTEs, given the batch as a json expression: they apply only the messages whose ids are in the
   * CTE `consumerCtes.fresh` and end with a CTE `consumerCtes.queued` inserting their outbox rows
   * (`insertOutboxRows`, which answers the `queuedColumns`; the names are in ./statement-ctes.ts).
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
 * all. Run it with `runConsumerStatement`.
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
    select counted.fresh, counted.duplicates, ${sql.join(queuedColumns.map((column) => sql`${queued}.${sql.ref(column)}`))}
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
export function runConsumerStatement<Message extends { id: string }>(
  db: ModuleDb,
  statement: StatementTemplate<"ids" | "batch", StatementRow>,
  effects: BatchEffects<Message>,
  messages: readonly Message[],
  traceOf?: TraceOf<Message>,
): Promise<{ rows: StatementRow[] }> {
  return statement.execute(db, { ids: JSON.stringify(messages.map((message) => message.id)), batch: effects.batch(messages, traceOf) });
}
