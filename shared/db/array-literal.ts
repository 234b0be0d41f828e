/**
 * A PostgreSQL array literal (`{"a","b"}`) for values sent as ONE text parameter and cast in SQL
 * (`$1::text::bigint[]`): the same on postgres.js and PGlite, whose own array parameter handling
 * differs, and one SQL text whatever the length.
 */
export function arrayLiteral(values: readonly (string | number)[]): string {
  return `{${values.map((value) => `"${String(value).replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}
