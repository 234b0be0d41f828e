import { describe, expect, test } from "bun:test";
import { outageFigures, runPaymentsOutage, type OutageTimes } from "./outage";
import type { OrderRecord } from "./stats";

const times: OutageTimes = { stopAt: 15_000, stoppedAt: 15_200, restartAt: 75_000, readyAt: 76_000 };
const accepted = (sentAt: number, terminalAt?: number): OrderRecord => ({
  sentAt,
  respondedAt: sentAt + 5,
  httpStatus: 201,
  orderId: `o${sentAt}`,
  ...(terminalAt !== undefined && { terminalAt, terminalStatus: "PaymentCompleted" as const }),
});

describe("outageFigures", () => {
  const records: OrderRecord[] = [
    accepted(14_999, 15_010), // before the stop
    accepted(15_000, 80_000), // the first sent while down
    accepted(50_000, 90_500),
    { sentAt: 60_000, respondedAt: 60_001, httpStatus: 503, error: "HTTP 503", retryAfter: "1" },
    { sentAt: 70_000, respondedAt: 70_002, httpStatus: 0, error: "network: connection refused" },
    accepted(75_999, 81_000), // the last sent while down
    accepted(76_000, 76_050), // payments ready again
  ];

  test("counts what was sent from the SIGTERM until payments was ready again, by outcome", () => {
    expect(outageFigures(records, times)).toMatchObject({ sentDuring: 5, acceptedDuring: 3, refusedDuring: 1, failedDuring: 1 });
  });

  test("settled: from payments being ready to the last terminal status of any accepted order", () => {
    expect(outageFigures(records, times).settledAfterRestartMs).toBe(14_500);
  });

  test("not settled while an accepted order has no terminal status", () => {
    expect(outageFigures([...records, accepted(77_000)], times).settledAfterRestartMs).toBeUndefined();
  });
});

describe("runPaymentsOutage", () => {
  test("stops payments, starts it again, and reports when each step happened", async () => {
    const steps: string[] = [];
    const system = {
      stopProcess: async (name: string) => void steps.push(`stop ${name}`),
      startProcess: async (name: string) => void steps.push(`start ${name}`),
    };
    const result = await runPaymentsOutage(system, performance.now(), { startSeconds: 0.05, seconds: 0.1 }, () => {});
    expect(steps).toEqual(["stop payments", "start payments"]);
    expect(result.stopAt).toBeLessThanOrEqual(result.stoppedAt);
    expect(result.stoppedAt).toBeLessThanOrEqual(result.restartAt);
    expect(result.restartAt).toBeLessThanOrEqual(result.readyAt);
  });
});
