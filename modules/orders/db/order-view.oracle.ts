import { toMajorUnits } from "../../../shared/money";
import type { OrderView } from "./order-view.sql";
import type { OrdersTable } from "./orders.tables";
import type { Selectable } from "kysely";

/**
 * The test oracle of `orderViewJson`: the same view computed in JavaScript from a row's columns,
 * independently of the SQL that production uses. Tests only (order-view.int.test.ts).
 */
export function toOrderView(row: Selectable<OrdersTable>): OrderView {
  return {
    id: row.id,
    userId: row.user_id,
    amount: toMajorUnits(row.amount),
    description: row.description,
    status: row.status,
    ...(row.failure_reason ? { failureReason: row.failure_reason } : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
