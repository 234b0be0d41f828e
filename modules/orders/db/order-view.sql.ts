import { sql, type RawBuilder } from "kysely";
import { isoTimestamp } from "../../../shared/messaging/envelope-sql";

/**
 * The order as the API shows it (application/order-view.ts, `toOrderView`), built by PostgreSQL
 * from a row of orders.orders named `row`, for statements that write live updates into the outbox
 * themselves. The amount goes back to major units as a double, as `minor / 100` does in
 * JavaScript; times are ISO strings with milliseconds in UTC; no failureReason when it has none.
 * order-view.int.test.ts checks it against `toOrderView` for the same rows.
 */
export function orderViewJson(row: string): RawBuilder<unknown> {
  const column = (name: string) => sql.ref(`${row}.${name}`);
  return sql`json_strip_nulls(json_build_object(
    'id', ${column("id")}, 'userId', ${column("user_id")},
    'amount', (${column("amount")}::numeric / 100)::float8,
    'description', ${column("description")}, 'status', ${column("status")},
    'failureReason', ${column("failure_reason")},
    'createdAt', ${isoTimestamp(column("created_at"))}, 'updatedAt', ${isoTimestamp(column("updated_at"))}))`;
}
