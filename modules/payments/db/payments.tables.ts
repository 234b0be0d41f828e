import type { ColumnType, Generated } from "kysely";
import type { DeadLetterTables } from "../../../shared/messaging/dead-letters/dead-letters.tables";
import type { MessagingTables } from "../../../shared/messaging/messaging.tables";
import type { IdempotencyTables } from "../../../shared/http/idempotency.tables";

/** One account per user. Balance in minor units; the database refuses a negative one. */
export interface AccountsTable {
  user_id: string;
  balance: number;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, never, Date>;
}

/**
 * One row per deposit, debit and refund; the balance always equals their signed sum (deposits and
 * refunds add, debits take away).
 */
export interface LedgerTable {
  id: Generated<number>;
  user_id: string;
  kind: "deposit" | "debit" | "refund";
  /** Minor units, > 0. */
  amount: number;
  /** Set on debits and refunds: at most one of each per order; a refund returns its order's debit. */
  order_id: string | null;
  balance_after: number;
  created_at: ColumnType<Date, never, never>;
}

/** One row per cancelled order (its first refund request), with the answer it got. */
export interface RefundRequestsTable {
  order_id: string;
  user_id: string;
  status: "refunded" | "cancelled";
  created_at: ColumnType<Date, never, never>;
}

/** One row per order that could not be paid: a decline is as final as a debit (migration 005). */
export interface DeclinedOrdersTable {
  order_id: string;
  user_id: string;
  reason: "no_account" | "insufficient_funds";
  declined_at: ColumnType<Date, never, never>;
}

export interface PaymentsDatabase extends MessagingTables, IdempotencyTables, DeadLetterTables {
  accounts: AccountsTable;
  ledger: LedgerTable;
  declined_orders: DeclinedOrdersTable;
  refund_requests: RefundRequestsTable;
}
