import { describe, expect, test } from "bun:test";
import { planUsers } from "./load";
import { distribution, percentile, summarizeRun, type OrderRecord } from "./stats";

const oneToHundred = Array.from({ length: 100 }, (_, index) => index + 1);

describe("percentile (nearest rank)", () => {
  test.each([
    [50, 50],
    [95, 95],
    [99, 99],
    [100, 100],
    [0, 1],
    [0.5, 1],
    [99.5, 100],
  ])("p%d of 1..100 is %d", (p, expected) => {
    expect(percentile(oneToHundred, p)).toBe(expected);
  });

  test("rounds the rank up on small samples", () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 51)).toBe(30);
    expect(percentile([10, 20, 30, 40], 99)).toBe(40);
    expect(percentile([7], 99)).toBe(7);
  });

  test("is NaN for no values", () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe("distribution", () => {
  test("sorts its input and reports the usual figures", () => {
    const shuffled = [...oneToHundred].reverse();
    expect(distribution(shuffled)).toEqual({ count: 100, min: 1, mean: 50.5, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(shuffled[0]).toBe(100); // the caller's array is left as it was
  });

  test("is undefined for no values", () => {
    expect(distribution([])).toBeUndefined();
  });
});

describe("summarizeRun", () => {
  const completed = (sentAt: number, respondedAt: number, terminalAt: number): OrderRecord => ({
    sentAt,
    respondedAt,
    httpStatus: 201,
    orderId: `order-${sentAt}`,
    terminalAt,
    terminalStatus: "PaymentCompleted",
  });
  const records: OrderRecord[] = [
    completed(0, 10, 100),
    completed(100, 120, 300),
    // The terminal status came in on the WebSocket before the POST's answer.
    { ...completed(200, 260, 250), terminalStatus: "PaymentFailed", failureReason: "insufficient_funds" },
    { ...completed(300, 340, 900), terminalStatus: "PaymentFailed", failureReason: "account_not_found" },
    { sentAt: 400, respondedAt: 500, httpStatus: 201, orderId: "stuck" },
    { sentAt: 500, respondedAt: 505, httpStatus: 503, error: "HTTP 503" },
    { sentAt: 600, respondedAt: 1000, httpStatus: 0, error: "network: connection refused" },
  ];
  const summary = summarizeRun(records);

  test("counts each outcome once", () => {
    expect(summary).toMatchObject({
      sent: 7,
      accepted: 5,
      completed: 2,
      failedInsufficient: 1,
      failedOther: { account_not_found: 1 },
      rejected: { "HTTP 503": 1, "network: connection refused": 1 },
      stuck: 1,
      errors: 4,
    });
  });

  test("rates run from the first send to the last acceptance / terminal status", () => {
    expect(summary.acceptedPerSecond).toBeCloseTo((5 * 1000) / 500); // last accepted answer at 500 ms
    expect(summary.ordersPerSecond).toBeCloseTo((4 * 1000) / 900); // 4 terminal, the last at 900 ms
    expect(summary.spanMs).toBe(900);
  });

  test("latencies: create→terminal over terminal orders, HTTP over accepted ones", () => {
    expect(summary.endToEnd).toEqual({ count: 4, min: 50, mean: 237.5, p50: 100, p95: 600, p99: 600, max: 600 });
    expect(summary.http).toEqual({ count: 5, min: 10, mean: 46, p50: 40, p95: 100, p99: 100, max: 100 });
  });

  test("a run where nothing was accepted has zero rates and no latencies", () => {
    const empty = summarizeRun([{ sentAt: 0, respondedAt: 5, httpStatus: 0, error: "network: refused" }]);
    expect(empty).toMatchObject({ sent: 1, accepted: 0, errors: 1, acceptedPerSecond: 0, ordersPerSecond: 0, spanMs: 0 });
    expect(empty.endToEnd).toBeUndefined();
  });
});

describe("planUsers", () => {
  test("spreads orders round-robin and funds 90% of each user's share, rounded down", () => {
    const plans = planUsers(["a", "b", "c"], 25);
    expect(plans.map(({ orders, affordable, deposit }) => ({ orders, affordable, deposit }))).toEqual([
      { orders: 9, affordable: 8, deposit: 80 },
      { orders: 8, affordable: 7, deposit: 70 },
      { orders: 8, affordable: 7, deposit: 70 },
    ]);
  });

  test("the default shape: 3000 orders over 50 users complete exactly 2700", () => {
    const plans = planUsers(Array.from({ length: 50 }, (_, index) => `user-${index}`), 3000);
    expect(plans.reduce((total, plan) => total + plan.affordable, 0)).toBe(2700);
  });
});
