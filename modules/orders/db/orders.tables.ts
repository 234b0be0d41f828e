import type { ColumnType, Generated } from "kysely";
import type { IdempotencyTables } from "../../../shared/http/idempotency.tables";
import type { DeadLetterTables } from "../../../shared/messaging/dead-letters/dead-letters.tables";
import type { MessagingTables } from "../../../shared/messaging/messaging.tables";
import type { OrderStatus } from "../domain/order-status";

export interface OrdersTable {
  id: string;
  /** Insertion order, for newest-first pages with a stable cursor. */
  seq: Generated<number>;
  user_id: string;
  /** Minor units, > 0. */
  amount: number;
  description: string;
  status: OrderStatus;
  failure_reason: string | null;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, never, Date>;
}

export interface OrdersDatabase extends MessagingTables, IdempotencyTables, DeadLetterTables {
  orders: OrdersTable;
}
