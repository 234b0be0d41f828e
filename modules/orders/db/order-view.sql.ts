import { sql, type RawBuilder } from "kysely";
import { isoTimestamp } from "../../../shared/messaging/envelope-sql";
import type { OrderStatus } from "../domain/order-status";

/** An order as the API and the WebSocket show it (amount in major units). */
export interface OrderView {
  id: string;
  userId: string;
  amount: number;
  description: string;
  status: OrderStatus;
  failureReason?: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * The order as the API shows it (`OrderView`), built by PostgreSQL from a row of orders.orders
 * named `row`: the one definition of the view, read with the rows by every query of the
 * repository and written into the outbox by the statements that write live updates themselves.
 * The amount goes back to major units as a double, as `minor / 100` does in JavaScript; times are
 * ISO strings with milliseconds in UTC; no failureReason when it has none. order-view.int.test.ts
 * checks it against an independent JavaScript rendering (order-view.oracle.ts) for the same rows.
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

/** A json column as read: an object (postgres.js and PGlite parse json), or its text. */
export function parseView(value: unknown): OrderView {
  return (typeof value === "string" ? JSON.parse(value) : value) as OrderView;
}
