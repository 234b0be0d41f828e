import { expect, test } from "bun:test";
import {
  cancellableStatuses,
  cancellation,
  canMove,
  orderStatuses,
  statusRank,
  settledStatuses,
  type Cancellation,
  type OrderStatus,
} from "./order-status";

/** The graph as the README draws it, written out independently of the code's table. */
const edges = new Set([
  "Created → PaymentPending",
  "Created → PaymentCompleted",
  "Created → PaymentFailed",
  "Created → CancelRequested",
  "PaymentPending → PaymentCompleted",
  "PaymentPending → PaymentFailed",
  "PaymentPending → CancelRequested",
  "PaymentCompleted → RefundPending",
  "CancelRequested → Cancelled",
  "CancelRequested → Refunded",
  "RefundPending → Refunded",
]);

const everyPair = orderStatuses.flatMap((from) => orderStatuses.map((to) => [from, to, edges.has(`${from} → ${to}`)] as const));

test.each(everyPair)("%s → %s allowed: %p", (from, to, allowed) => {
  expect(canMove(from, to)).toBe(allowed);
});

test("every move goes forward: to a higher rank, so no sequence of moves leads back", () => {
  for (const [from, to, allowed] of everyPair) if (allowed) expect(statusRank[to]).toBeGreaterThan(statusRank[from]);
});

test("settled orders wait for nothing: three have no way out, a paid one only the customer's cancel", () => {
  const noWayOut = orderStatuses.filter((from) => orderStatuses.every((to) => !canMove(from, to)));
  expect(noWayOut).toEqual(["PaymentFailed", "Cancelled", "Refunded"]);
  expect(settledStatuses).toEqual(["PaymentCompleted", ...noWayOut]);
  expect(orderStatuses.filter((to) => canMove("PaymentCompleted", to))).toEqual(["RefundPending"]);
});

test.each<[OrderStatus, Cancellation["kind"], OrderStatus | undefined]>([
  ["Created", "request", "CancelRequested"],
  ["PaymentPending", "request", "CancelRequested"],
  ["PaymentCompleted", "request", "RefundPending"],
  ["PaymentFailed", "refused", undefined],
  ["CancelRequested", "already", undefined],
  ["RefundPending", "already", undefined],
  ["Cancelled", "already", undefined],
  ["Refunded", "already", undefined],
])("a cancel of a %s order: %s %s", (status, kind, to) => {
  const decision = cancellation(status);
  expect(decision.kind).toBe(kind);
  if (decision.kind === "request") {
    expect<OrderStatus>(decision.to).toBe(to!);
    expect(canMove(status, decision.to)).toBe(true);
  }
});

test("the page offers Cancel exactly where a cancel asks for a refund", () => {
  expect(cancellableStatuses).toEqual(["Created", "PaymentPending", "PaymentCompleted"]);
});
