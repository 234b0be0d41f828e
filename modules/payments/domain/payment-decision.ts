import type { PaymentProcessedPayload } from "../../../shared/contracts";

/** What the debit attempt found, in the terms of the decision. */
export type DebitAttempt =
  | { debited: true; balance: number }
  | { debited: false; alreadyDebited: boolean; balance: number | undefined }
  /** The order was cancelled (a refund request came first): it is never charged. */
  | { debited: false; cancelled: true };

/**
 * The outcome reported for an order: completed when debited now or before (a repeated order is
 * never charged twice, and its result is the same), failed with the reason otherwise. An order
 * cancelled before its payment gets no payment result: the answer to its refund request
 * (`refund-processed`, cancelled) already told Orders that no money moved.
 */
export function decidePayment(
  order: { orderId: string; userId: string },
  attempt: DebitAttempt,
): PaymentProcessedPayload | undefined {
  if ("cancelled" in attempt) return undefined;
  const base = { orderId: order.orderId, userId: order.userId };
  if (attempt.debited || attempt.alreadyDebited) return { ...base, status: "completed", balance: attempt.balance };
  if (attempt.balance === undefined) return { ...base, status: "failed", reason: "account_not_found" };
  return { ...base, status: "failed", reason: "insufficient_funds", balance: attempt.balance };
}
