import type { RefundProcessedPayload } from "../../../shared/contracts";

/** What answering a refund request found, in the terms of the decision. */
export type RefundAttempt =
  /** The order had been debited: `amount` went back, leaving `balance` (now, or at a first request). */
  | { refunded: true; amount: number; balance: number }
  /** The order had not been debited, and now never will be. */
  | { refunded: false };

/**
 * The answer to a refund request: refunded (with the amount and the balance after) when the
 * order's debit was credited back, cancelled when no money had moved. A repeated request gets the
 * first answer again.
 */
export function decideRefund(order: { orderId: string; userId: string }, attempt: RefundAttempt): RefundProcessedPayload {
  const base = { orderId: order.orderId, userId: order.userId };
  if (attempt.refunded) return { ...base, status: "refunded", amount: attempt.amount, balance: attempt.balance };
  return { ...base, status: "cancelled" };
}
