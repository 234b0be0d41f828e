import { sql, type RawBuilder } from "kysely";

/**
 * A message envelope (shared/contracts/envelope.ts) built by PostgreSQL, for statements that write
 * their outbox rows themselves: `{id, type, key, occurredAt, version: 1, payload}` as JSON.
 * `id` and `key` are SQL expressions (a uuid, a text), `payload` a json expression. occurredAt
 * is the statement's time in UTC with milliseconds, as JavaScript's toISOString writes it.
 */
export function envelopeJson(type: string, id: RawBuilder<unknown>, key: RawBuilder<unknown>, payload: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`json_build_object(
    'id', ${id}, 'type', ${sql.lit(type)}::text, 'key', ${key},
    'occurredAt', ${isoTimestamp(sql`statement_timestamp()`)},
    'version', 1, 'payload', ${payload})`;
}

/** A timestamptz as JavaScript's `Date.prototype.toISOString` writes it (UTC, milliseconds). */
export function isoTimestamp(expression: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
