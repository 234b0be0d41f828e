import { sql, type RawBuilder } from "kysely";
import type { OutboxDelivery } from "./outbox";

/**
 * The columns a writer gives each outbox row, with their SQL types; the others (id, created_at,
 * published_at) are the table's own.
 */
const outboxColumnTypes = { message_id: "uuid", topic: "text", key: "text", value: "text", headers: "jsonb", delivery: "text" } as const;
export type OutboxColumn = keyof typeof outboxColumnTypes;
const outboxColumns = Object.keys(outboxColumnTypes) as OutboxColumn[];

/** What an insert of outbox rows answers for each row: what publishing it needs. */
export const queuedColumns = ["id", "topic", "key", "value", "headers", "delivery"] as const;

/**
 * The INSERT of outbox rows into `<schema>.outbox` from a query: `values` gives each column as an
 * SQL expression over `from` (`delivery` with `outboxDelivery`), and `from` is a FROM clause, with
 * its `order by` when the rows' order matters (ids are handed out in that order). It answers `queuedColumns`, so
 * it can be the CTE `queued` of a bigger statement. Every writer of outbox rows goes through here,
 * so the column list is written once.
 */
export function insertOutboxRows(schema: string, values: Record<OutboxColumn, RawBuilder<unknown>>, from: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`insert into ${sql.table(`${schema}.outbox`)} (${sql.join(outboxColumns.map((column) => sql.ref(column)))})
    select ${sql.join(outboxColumns.map((column) => values[column]))}
    from ${from}
    returning ${sql.join(queuedColumns.map((column) => sql.ref(column)))}`;
}

/**
 * The INSERT of outbox rows given as one JSON parameter (`rows`: an expression of JSON text, an
 * array of objects with the `outboxColumns`, see `outboxRowsJson` in ./outbox), in the array's
 * order. The SQL text (and its prepared statement) is the same for any batch size. `headers`
 * (the trace context) is absent from the JSON when tracing is off: the column gets null.
 */
export function insertOutboxRowsFromJson(schema: string, rows: RawBuilder<unknown>): RawBuilder<unknown> {
  const values = Object.fromEntries(outboxColumns.map((column) => [column, sql.ref(`m.${column}`)])) as Record<OutboxColumn, RawBuilder<unknown>>;
  const definitions = sql.join(outboxColumns.map((column) => sql`${sql.ref(column)} ${sql.raw(outboxColumnTypes[column])}`));
  const names = sql.join([...outboxColumns, "position"].map((column) => sql.ref(column)));
  return insertOutboxRows(
    schema,
    values,
    sql`rows from (json_to_recordset(${rows}::text::json) as (${definitions})) with ordinality as m(${names})
    order by m.position`,
  );
}

/** The `delivery` of rows a statement writes (see `OutboxDelivery` in ./outbox). */
export const outboxDelivery = (delivery: OutboxDelivery): RawBuilder<unknown> => sql`${sql.lit(delivery)}::text`;
