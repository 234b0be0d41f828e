import type { PaymentFailureReason } from "../../../shared/contracts";

/** What the debit found for an order (`payments.debit_orders`, db/functions/debit_orders.sql). */
export const debitOutcomes = ["debited", "already_debited", "no_account", "insufficient_funds", "cancelled"] as const;
export type DebitOutcome = (typeof debitOutcomes)[number];

/** The result reported for an outcome: its status, the reason when it failed, and whether the balance goes with it. */
export interface PaymentDecision {
  status: "completed" | "failed";
  reason?: PaymentFailureReason;
  /** Report the account's balance after the attempt (there is none without an account). */
  withBalance: boolean;
}

/**
 * The decision, as a table: completed when debited now or before (a repeated order is never
 * charged twice, and its result is the same), failed with the reason otherwise. An order
 * cancelled before its payment (`null`) gets no payment result: the answer to its refund request
 * (`refund-processed`, cancelled) already told Orders that no money moved. The payments statement
 * (db/pay-orders.statement.ts) is generated from this table, so the rule lives here once.
 */
export const paymentDecisions: Record<DebitOutcome, PaymentDecision | null> = {
  debited: { status: "completed", withBalance: true },
  already_debited: { status: "completed", withBalance: true },
  no_account: { status: "failed", reason: "account_not_found", withBalance: false },
  insufficient_funds: { status: "failed", reason: "insufficient_funds", withBalance: true },
  cancelled: null,
};
