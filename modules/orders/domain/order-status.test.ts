import { expect, test } from "bun:test";
import { canMove, statusesBefore, type OrderStatus } from "./order-status";

test.each<[OrderStatus, OrderStatus, boolean]>([
  ["Created", "PaymentPending", true],
  ["Created", "PaymentCompleted", true],
  ["Created", "PaymentFailed", true],
  ["PaymentPending", "PaymentCompleted", true],
  ["PaymentPending", "PaymentFailed", true],
  ["PaymentPending", "Created", false],
  ["PaymentPending", "PaymentPending", false],
  ["PaymentCompleted", "PaymentPending", false],
  ["PaymentCompleted", "PaymentFailed", false],
  ["PaymentFailed", "PaymentCompleted", false],
  ["PaymentFailed", "Created", false],
])("%s → %s allowed: %p", (from, to, allowed) => {
  expect(canMove(from, to)).toBe(allowed);
});

test("a result may land on an order that is Created or PaymentPending, nothing else", () => {
  expect(statusesBefore("PaymentCompleted")).toEqual(["Created", "PaymentPending"]);
  expect(statusesBefore("PaymentPending")).toEqual(["Created"]);
});
