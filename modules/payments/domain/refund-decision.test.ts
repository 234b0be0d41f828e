import { expect, test } from "bun:test";
import { decideRefund, type RefundAttempt } from "./refund-decision";

const order = { orderId: "6f1d2c1e-0000-4000-8000-000000000001", userId: "be578685-7963-4876-8809-58b38342468f" };

test.each<[string, RefundAttempt, object]>([
  ["debited: credited back", { refunded: true, amount: 2_550, balance: 10_000 }, { status: "refunded", amount: 2_550, balance: 10_000 }],
  ["never debited: cancelled, no amount", { refunded: false }, { status: "cancelled" }],
])("%s", (_, attempt, expected) => {
  expect(decideRefund(order, attempt)).toEqual({ ...order, ...expected } as never);
});
