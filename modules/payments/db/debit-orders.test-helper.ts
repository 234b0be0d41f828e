import { sql, type Kysely } from "kysely";
import type { DebitOutcome } from "../domain/payment-decision";
import type { PaymentsDatabase } from "./payments.tables";

// For tests of `payments.debit_orders` on its own; the module pays orders inside the consumer's
// one statement (pay-orders.statement.ts), which calls the same function.

/** One order to debit: `amount` (minor units, > 0) from the account of `userId`, at most once per `orderId`. */
export interface OrderDebit {
  orderId: string;
  userId: string;
  amount: number;
}

/** What a debit attempt found: debited now, or not, and why, with the balance after it. */
export type DebitAttempt =
  | { debited: true; balance: number }
  | { debited: false; alreadyDebited: boolean; balance: number | undefined }
  /** The order was cancelled (a refund request came first): it is never charged. */
  | { debited: false; cancelled: true };

/**
 * Runs `payments.debit_orders` for a batch (see db/functions/debit_orders.sql for what it
 * guarantees) and returns one attempt per order, in the given order. Run it in a transaction to
 * hold its locks until the commit. The batch travels as one JSON parameter, as in production.
 */
export async function debitOrders(db: Kysely<PaymentsDatabase>, items: readonly OrderDebit[]): Promise<DebitAttempt[]> {
  if (items.length === 0) return [];
  const batch = items.map((item) => ({ order_id: item.orderId, user_id: item.userId, amount: item.amount }));
  // ::text::json: postgres.js would serialise a string sent as json once more (into a JSON string).
  const { rows } = await sql<{ order_id: string; outcome: DebitOutcome; balance: number | null }>`
    select order_id, outcome, balance from payments.debit_orders(${JSON.stringify(batch)}::text::json)`.execute(db);
  // PostgreSQL prints a uuid in lower case, whatever case the message used.
  if (rows.length !== items.length || rows.some((row, index) => row.order_id !== items[index]!.orderId.toLowerCase())) {
    throw new Error(`payments.debit_orders answered ${rows.length} rows for ${items.length} orders, or out of order`);
  }
  return rows.map(toAttempt);
}

function toAttempt(row: { order_id: string; outcome: DebitOutcome; balance: number | null }): DebitAttempt {
  if (row.outcome === "no_account") return { debited: false, alreadyDebited: false, balance: undefined };
  if (row.outcome === "cancelled") return { debited: false, cancelled: true };
  if (row.balance === null) throw new Error(`payments.debit_orders answered ${row.outcome} without a balance for order ${row.order_id}`);
  if (row.outcome === "debited") return { debited: true, balance: row.balance };
  return { debited: false, alreadyDebited: row.outcome === "already_debited", balance: row.balance };
}
