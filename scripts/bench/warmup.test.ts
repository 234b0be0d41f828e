import { describe, expect, test } from "bun:test";
import { parseArguments } from "./args";
import { orderAmount } from "./load";
import { summarizeRun, type OrderRecord } from "./stats";
import { closedLoopOrdersPerUser, planWarmup, warmupProblems } from "./warmup";

const options = (...argv: string[]) => parseArguments(argv, {})!;

describe("planWarmup", () => {
  test("open loop: R × S orders on min(users, 10) accounts, each funded for its share rounded up", () => {
    const plan = planWarmup(options("--rate", "300", "--duration", "10", "--warmup", "3"));
    expect(plan).toEqual({ users: 10, maxOrders: 900, deposit: 90 * orderAmount });
    expect(planWarmup(options("--rate", "7", "--warmup", "1", "--users", "3"))).toEqual({ users: 3, maxOrders: 7, deposit: 3 * orderAmount });
  });

  test("open loop: at least one order however short the warm-up", () => {
    expect(planWarmup(options("--rate", "1", "--warmup", "0.1")).maxOrders).toBe(1);
  });

  test("closed loop: time ends it; each account is funded for as many orders as the cap lets it receive", () => {
    const plan = planWarmup(options("--warmup", "2"));
    expect(plan).toEqual({ users: 10, maxOrders: 10 * closedLoopOrdersPerUser, deposit: closedLoopOrdersPerUser * orderAmount });
  });
});

describe("warmupProblems", () => {
  const paid = (index: number): OrderRecord => ({ sentAt: index, respondedAt: index + 1, httpStatus: 201, orderId: `o${index}`, terminalAt: index + 5, terminalStatus: "PaymentCompleted" });

  test("none when every order was accepted and paid", () => {
    expect(warmupProblems(summarizeRun([paid(0), paid(1)]), 30, [])).toEqual([]);
  });

  test("names each kind of failure with its count", () => {
    const records: OrderRecord[] = [
      paid(0),
      { sentAt: 1, respondedAt: 2, httpStatus: 503, error: "HTTP 503" },
      { sentAt: 2, respondedAt: 3, httpStatus: 201, orderId: "stuck" },
      { ...paid(3), terminalStatus: "PaymentFailed", failureReason: "insufficient_funds" },
      { ...paid(4), terminalStatus: "PaymentFailed", failureReason: "account_not_found" },
    ];
    expect(warmupProblems(summarizeRun(records), 30, ["user u: closed with 1011"])).toEqual([
      "1 of 5 not accepted (1 × HTTP 503)",
      "1 of 4 accepted with no terminal status within 30 s",
      "1 failed for insufficient funds although the deposits cover every order",
      "1 failed, reason account_not_found",
      "1 WebSockets dropped (user u: closed with 1011)",
    ]);
  });

  test("a warm-up that sent nothing is a failure", () => {
    expect(warmupProblems(summarizeRun([]), 30, [])).toEqual(["no order was sent"]);
  });
});
