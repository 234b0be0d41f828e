/**
 * A PostgreSQL array literal (`{"a","b"}`) for values sent as ONE text parameter and cast in SQL
 * (`$1::text::bigint[]`): the same on postgres.js and PGlite, whose own array parameter handling
 * differs, and one SQL text whatever the length. `null` becomes NULL.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  return `{${values.map((value) => (value === null ? "NULL" : `"${String(value).replace(/["\\]/g, "\\$&")}"`)).join(",")}}`;
}

/**
 * A parameter as postgres.js is given it: an array becomes its literal (text, cast by the SQL
 * around it), as the client knows no array types (it does not fetch them from the catalog).
 */
export function asParameter(value: unknown): unknown {
  return Array.isArray(value) ? arrayLiteral(value) : value;
}
