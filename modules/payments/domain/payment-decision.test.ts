import { expect, test } from "bun:test";
import { paymentFailureReasons } from "../../../shared/contracts";
import { debitOutcomes, paymentDecisions } from "./payment-decision";

test.each([
  ["debited", { status: "completed", withBalance: true }],
  ["already_debited", { status: "completed", withBalance: true }],
  ["no_account", { status: "failed", reason: "account_not_found", withBalance: false }],
  ["insufficient_funds", { status: "failed", reason: "insufficient_funds", withBalance: true }],
  ["cancelled", null],
] as const)("%s", (outcome, decision) => {
  expect(paymentDecisions[outcome]).toEqual(decision);
});

test("every outcome is decided, and every failure has a reason of the wire contract", () => {
  expect(Object.keys(paymentDecisions).sort()).toEqual([...debitOutcomes].sort());
  for (const decision of Object.values(paymentDecisions)) {
    if (decision === null) continue;
    expect(decision.status === "failed").toBe(decision.reason !== undefined);
    if (decision.reason) expect(paymentFailureReasons).toContain(decision.reason);
  }
});
