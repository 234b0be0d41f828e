import { expect, test } from "bun:test";
import { decidePayment, type DebitAttempt } from "./payment-decision";

const order = { orderId: "6f1d2c1e-0000-4000-8000-000000000001", userId: "be578685-7963-4876-8809-58b38342468f" };

test.each<[string, DebitAttempt, object | undefined]>([
  ["debited now", { debited: true, balance: 400 }, { status: "completed", balance: 400 }],
  ["debited before (a repeated order)", { debited: false, alreadyDebited: true, balance: 400 }, { status: "completed", balance: 400 }],
  ["no account", { debited: false, alreadyDebited: false, balance: undefined }, { status: "failed", reason: "account_not_found" }],
  ["balance too low", { debited: false, alreadyDebited: false, balance: 5 }, { status: "failed", reason: "insufficient_funds", balance: 5 }],
  ["cancelled before its payment: no result at all", { debited: false, cancelled: true }, undefined],
])("%s", (_, attempt, expected) => {
  expect(decidePayment(order, attempt)).toEqual(expected && ({ ...order, ...expected } as never));
});
