/**
 * An order's life. Statuses only ever move forward, along these edges (the README draws them):
 *
 *   Created ──▶ PaymentPending ──▶ PaymentCompleted ──▶ RefundPending ──▶ Refunded
 *      │              │         └──▶ PaymentFailed                         ▲
 *      │              ▼                                                     │
 *      └──────▶ CancelRequested ───────────────────────────────────────────┘
 *                     └──▶ Cancelled
 *
 * plus Created → PaymentCompleted | PaymentFailed: a payment result may arrive before the relay
 * has marked the order PaymentPending (the relay commits after publishing).
 *
 * A cancel moves an order whose payment result is not in yet (Created, PaymentPending) to
 * CancelRequested, and a paid one (PaymentCompleted) to RefundPending; Payments' answer to the
 * refund request then moves it to Cancelled (no money moved, and none will) or Refunded (the
 * debit was credited back). A payment result that reaches a CancelRequested order changes nothing:
 * Payments' answer to the refund request already accounts for the debit, whichever came first.
 */
export const orderStatuses = [
  "Created",
  "PaymentPending",
  "PaymentCompleted",
  "PaymentFailed",
  "CancelRequested",
  "RefundPending",
  "Cancelled",
  "Refunded",
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/** Every allowed move, as the list of statuses each status may move to. */
export const transitions: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  Created: ["PaymentPending", "PaymentCompleted", "PaymentFailed", "CancelRequested"],
  PaymentPending: ["PaymentCompleted", "PaymentFailed", "CancelRequested"],
  PaymentCompleted: ["RefundPending"],
  PaymentFailed: [],
  CancelRequested: ["Cancelled", "Refunded"],
  RefundPending: ["Refunded"],
  Cancelled: [],
  Refunded: [],
};

/**
 * Statuses in which an order waits for no message: only a customer's cancel moves a
 * PaymentCompleted order on; the other three have no way out.
 */
export const settledStatuses: readonly OrderStatus[] = ["PaymentCompleted", "PaymentFailed", "Cancelled", "Refunded"];

/**
 * How far along its life an order is: every move goes to a higher rank (so no move ever leads
 * back, tested), and statuses of one rank never follow each other. The status page keeps the
 * furthest status it has seen by this rank.
 */
export const statusRank: Readonly<Record<OrderStatus, number>> = {
  Created: 0,
  PaymentPending: 1,
  PaymentCompleted: 2,
  PaymentFailed: 2,
  CancelRequested: 2,
  RefundPending: 3,
  Cancelled: 4,
  Refunded: 4,
};

/** Whether an order in `from` may move to `to` (an edge of the graph above). */
export function canMove(from: OrderStatus, to: OrderStatus): boolean {
  return transitions[from].includes(to);
}

/** What a cancel does to an order in a given status. */
export type Cancellation =
  /** Move the order to `to` and ask Payments for a refund. */
  | { kind: "request"; to: "CancelRequested" | "RefundPending" }
  /** Already cancelled or being cancelled: answer with the order as it is, do nothing more. */
  | { kind: "already" }
  /** Nothing to cancel: the payment failed, no money moved and the order is over. */
  | { kind: "refused"; reason: string };

export function cancellation(status: OrderStatus): Cancellation {
  switch (status) {
    case "Created":
    case "PaymentPending":
      return { kind: "request", to: "CancelRequested" };
    case "PaymentCompleted":
      return { kind: "request", to: "RefundPending" };
    case "CancelRequested":
    case "RefundPending":
    case "Cancelled":
    case "Refunded":
      return { kind: "already" };
    case "PaymentFailed":
      return { kind: "refused", reason: "the order's payment failed: there is nothing to cancel" };
  }
}

/** Whether the status page offers a Cancel button for an order in this status. */
export const cancellableStatuses: readonly OrderStatus[] = orderStatuses.filter((status) => cancellation(status).kind === "request");
