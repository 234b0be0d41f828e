import { describe, expect, test } from "bun:test";
import { planUsers } from "./load";
import { acceptedP99ByMinute, distribution, isRefusal, percentile, refusalKind, summarizeRun, type OrderRecord } from "./stats";

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

describe("refusals: 503 with Retry-After", () => {
  const answer = (httpStatus: number, retryAfter?: string): OrderRecord => ({ sentAt: 0, respondedAt: 2, httpStatus, error: `HTTP ${httpStatus}`, ...(retryAfter !== undefined && { retryAfter }) });

  test.each([
    [answer(503, "1"), true],
    [answer(503, "30"), true],
    [answer(503, " 2 "), true],
    [answer(503), false],
    [answer(503, ""), false],
    [answer(503, "soon"), false],
    [answer(503, "-1"), false],
    [answer(503, "Wed, 21 Oct 2026 07:28:00 GMT"), false],
    [answer(500, "1"), false],
    [answer(429, "1"), false],
    [{ sentAt: 0, respondedAt: 2, httpStatus: 0, error: "network: connection reset" }, false],
  ])("%o is a refusal: %p", (record, expected) => {
    expect(isRefusal(record)).toBe(expected);
  });

  const records: OrderRecord[] = [
    { sentAt: 0, respondedAt: 400, httpStatus: 201, orderId: "a", terminalAt: 450, terminalStatus: "PaymentCompleted" },
    { sentAt: 100, respondedAt: 105, httpStatus: 503, error: "HTTP 503", retryAfter: "1" },
    { sentAt: 200, respondedAt: 230, httpStatus: 503, error: "HTTP 503", retryAfter: "2" },
    { sentAt: 300, respondedAt: 310, httpStatus: 503, error: "HTTP 503" },
    { sentAt: 400, respondedAt: 900, httpStatus: 0, error: "network: socket closed" },
    { sentAt: 500, respondedAt: 520, httpStatus: 500, error: "HTTP 500", retryAfter: "1" },
  ];

  test("with --overload a refusal is counted apart and is no error; everything else still is", () => {
    const summary = summarizeRun(records, { refusalsExpected: true });
    expect(summary).toMatchObject({ sent: 6, accepted: 1, refused: 2, rejected: { "HTTP 503": 1, "network: socket closed": 1, "HTTP 500": 1 }, errors: 3 });
    expect(summary.refusedHttp).toMatchObject({ count: 2, p50: 5, p99: 30, max: 30 });
    expect(summary.http).toMatchObject({ count: 1, p99: 400 });
  });

  test("without --overload a refusal remains an error, named as one", () => {
    const summary = summarizeRun(records);
    expect(summary).toMatchObject({ refused: 2, rejected: { [refusalKind]: 2, "HTTP 503": 1, "network: socket closed": 1, "HTTP 500": 1 }, errors: 5 });
  });

  test("accepted and refused per second run over the send window (first send → last send)", () => {
    const summary = summarizeRun(records, { refusalsExpected: true });
    expect(summary.sendWindowMs).toBe(500);
    expect(summary.acceptedPerSecondOfWindow).toBeCloseTo(2); // 1 in 0.5 s
    expect(summary.refusedPerSecondOfWindow).toBeCloseTo(4); // 2 in 0.5 s
    expect(summarizeRun([records[0]!]).acceptedPerSecondOfWindow).toBe(0); // one send: no window
  });
});

describe("acceptedP99ByMinute", () => {
  const accepted = (sentAt: number, ms: number): OrderRecord => ({ sentAt, respondedAt: sentAt + ms, httpStatus: 201, orderId: `o${sentAt}` });

  test("groups the accepted orders by the minute they were sent in, from the start", () => {
    const start = 1_000;
    const records: OrderRecord[] = [
      ...Array.from({ length: 100 }, (_, index) => accepted(start + index * 100, index + 1)), // minute 0: 1..100 ms
      accepted(start + 60_000, 7), // minute 1 starts exactly 60 s in
      accepted(start + 119_999, 9),
      { sentAt: start + 130_000, respondedAt: start + 130_001, httpStatus: 503, retryAfter: "1" }, // minute 2: refused only
      accepted(start + 185_000, 40), // minute 3, a partial one
    ];
    const byMinute = acceptedP99ByMinute(records, start);
    expect(byMinute).toHaveLength(4);
    expect(byMinute[0]).toBe(99);
    expect(byMinute[1]).toBe(9);
    expect(byMinute[2]).toBeNaN();
    expect(byMinute[3]).toBe(40);
  });

  test("no accepted order: no minutes", () => {
    expect(acceptedP99ByMinute([], 0)).toEqual([]);
  });
});
