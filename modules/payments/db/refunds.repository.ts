import { sql, type Kysely } from "kysely";
import { StatementTemplate } from "../../../shared/db/statement-template";
import type { RefundAttempt } from "../domain/refund-decision";
import type { PaymentsDatabase } from "./payments.tables";

/** One refund request: the order, and the user it belongs to (whose account was debited). */
export interface OrderRefund {
  orderId: string;
  userId: string;
}

/** The refund consumer's statement, built and compiled once: the batch is one JSON parameter. */
export const refundOrdersStatement = new StatementTemplate(["batch"], (slot) => sql<{ order_id: string; status: "refunded" | "cancelled"; amount: number | null; balance: number | null }>`
  select order_id, status, amount, balance from payments.refund_orders(${slot("batch")}::text::json)`);

/**
 * Answers a batch of refund requests in one round trip (`payments.refund_orders`, in
 * db/functions/refund_orders.sql with its reasoning): per order, once and for all, its debit is
 * credited back or, when there was none, the order is marked so that it is never debited.
 * Returns one attempt per request, in the given order; a repeated request gets the first answer.
 * Run it in the transaction that records the messages in the inbox.
 */
export async function refundOrders(db: Kysely<PaymentsDatabase>, items: readonly OrderRefund[]): Promise<RefundAttempt[]> {
  if (items.length === 0) return [];
  const batch = items.map((item) => ({ order_id: item.orderId, user_id: item.userId }));
  const { rows } = await refundOrdersStatement.execute(db, { batch: JSON.stringify(batch) });
  if (rows.length !== items.length || rows.some((row, index) => row.order_id !== items[index]!.orderId.toLowerCase())) {
    throw new Error(`payments.refund_orders answered ${rows.length} rows for ${items.length} requests, or out of order`);
  }
  return rows.map((row) => {
    if (row.status === "cancelled") return { refunded: false };
    if (row.amount === null || row.balance === null) throw new Error(`payments.refund_orders answered refunded without an amount for order ${row.order_id}`);
    return { refunded: true, amount: row.amount, balance: row.balance };
  });
}
