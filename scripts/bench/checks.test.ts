import { describe, expect, test } from "bun:test";
import { balanceProblems } from "./checks";
import { orderAmount, planUsers, userOutcomes } from "./load";
import type { OrderRecord } from "./stats";

// Two users, ten orders each; each deposit pays for nine (planUsers).
const plans = planUsers(["a", "b"], 20);
const paid: OrderRecord = { sentAt: 0, respondedAt: 1, httpStatus: 201, orderId: "x", terminalAt: 2, terminalStatus: "PaymentCompleted" };
const unpaid: OrderRecord = { ...paid, terminalStatus: "PaymentFailed", failureReason: "insufficient_funds" };
const refused: OrderRecord = { sentAt: 0, respondedAt: 1, httpStatus: 503, error: "HTTP 503", retryAfter: "1" };

/** Order i goes to user i mod 2: `forA[k]` is order 2k, `forB[k]` order 2k + 1. */
const interleave = (forA: OrderRecord[], forB: OrderRecord[]) => forA.flatMap((record, index) => [record, forB[index]!]);

describe("the checks when some orders were refused", () => {
  // a: 6 of its 10 refused, the 4 accepted all paid. b: all 10 accepted, 9 paid, the 10th not.
  const records = interleave([...Array(6).fill(refused), ...Array(4).fill(paid)], [...Array(9).fill(paid), unpaid]);
  const outcomes = userOutcomes(plans, records);

  test("each user is expected to complete min(accepted, affordable)", () => {
    expect(plans.map((plan) => plan.affordable)).toEqual([9, 9]);
    expect(outcomes.map(({ accepted, completed, expectedCompleted }) => ({ accepted, completed, expectedCompleted }))).toEqual([
      { accepted: 4, completed: 4, expectedCompleted: 4 },
      { accepted: 10, completed: 9, expectedCompleted: 9 },
    ]);
  });

  test("balances equal to deposit − completed × amount, and completions as expected: no problem", () => {
    const balances = new Map([
      ["a", 9 * orderAmount - 4 * orderAmount],
      ["b", 0],
    ]);
    expect(balanceProblems(outcomes, balances)).toEqual([]);
  });

  test("a balance that does not match, or a user with fewer orders paid than its deposit allows, is named", () => {
    // a: one accepted order never paid although the deposit covered it (its debit lost);
    // b: its balance lost a debit.
    const lost = interleave([...Array(6).fill(refused), ...Array(3).fill(paid), unpaid], [...Array(9).fill(paid), unpaid]);
    const balances = new Map([
      ["a", 60],
      ["b", orderAmount],
    ]);
    expect(balanceProblems(userOutcomes(plans, lost), balances)).toEqual([
      { userId: "a", problem: "3 orders paid, expected 4" },
      { userId: "b", problem: "balance 10, expected 0" },
    ]);
  });

  test("without refusals the expectation is the deposit's: affordable per user", () => {
    const all = interleave([...Array(9).fill(paid), unpaid], [...Array(9).fill(paid), unpaid]);
    expect(userOutcomes(plans, all).map((outcome) => outcome.expectedCompleted)).toEqual([9, 9]);
  });
});
