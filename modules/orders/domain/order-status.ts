/** An order's life (DESIGN §1): it only ever moves forward along this line. */
export const orderStatuses = ["Created", "PaymentPending", "PaymentCompleted", "PaymentFailed"] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export const terminalStatuses: readonly OrderStatus[] = ["PaymentCompleted", "PaymentFailed"];

const rank: Record<OrderStatus, number> = { Created: 0, PaymentPending: 1, PaymentCompleted: 2, PaymentFailed: 2 };

/**
 * Whether an order in `from` may move to `to`: strictly forward, and never out of a terminal
 * status. A payment result may arrive before the relay marked the order PaymentPending (the
 * relay commits after publishing), so Created → terminal is allowed.
 */
export function canMove(from: OrderStatus, to: OrderStatus): boolean {
  return rank[to] > rank[from];
}

/** The statuses an order may be in for a move to `to` (for a conditional UPDATE). */
export function statusesBefore(to: OrderStatus): OrderStatus[] {
  return orderStatuses.filter((from) => canMove(from, to));
}
