import { describe, expect, test } from "bun:test";
import { parseArguments } from "./args";
import { describeShape, formatCpu, jsonLine } from "./report";
import { summarizeLiveness } from "./liveness";
import { scenarioLines, type ScenarioResult } from "./scenario-report";
import { summarizeRun } from "./stats";

const options = (...argv: string[]) => parseArguments(argv, {})!;
const summary = summarizeRun([{ sentAt: 0, respondedAt: 5, httpStatus: 201, orderId: "a", terminalAt: 20, terminalStatus: "PaymentCompleted" }]);

describe("the warm-up in the report", () => {
  test("without --warmup the shape is as before and the JSON line says warmupSeconds 0", () => {
    expect(describeShape(options())).toBe("mode=mono bus=memory db=pglite; 3000 orders from 50 users; closed loop, concurrency 64");
    expect(JSON.parse(jsonLine(options(), summary))).toMatchObject({ orders: 1, concurrency: 64, warmupSeconds: 0 });
  });

  test("with --warmup the shape mentions it and the JSON line carries its seconds", () => {
    const open = options("--rate", "300", "--duration", "10", "--warmup", "3");
    expect(describeShape(open)).toEndWith("open loop, 300 orders/s offered; after a 3 s warm-up (900 orders on separate accounts, not counted)");
    expect(describeShape(options("--warmup", "2"))).toEndWith("; after a 2 s warm-up (the same load on separate accounts, not counted)");
    const line = jsonLine(open, summary);
    expect(Object.keys(JSON.parse(line)).at(-1)).toBe("warmupSeconds");
    expect(JSON.parse(line)).toMatchObject({ orders: 1, rate: 300, warmupSeconds: 3 });
  });
});

describe("CPU per order and the reference in the report", () => {
  const usage = { machine: 3_000, kernel: 600, groups: { gozon: 1_200, postgres: 1_000, redis: 300, client: 200 }, contextSwitches: 12_000, capacity: 10_000 };
  const thousand = summarizeRun(
    Array.from({ length: 1_000 }, (_, index) => ({ sentAt: index, respondedAt: index + 2, httpStatus: 201, orderId: `o${index}`, terminalAt: index + 10, terminalStatus: "PaymentCompleted" as const })),
  );
  const reference = { ordersPerSecond: 1_250, orders: 18_750, usage: { ...usage, machine: 30_000 } };

  test("the JSON line carries CPU per order by process group, and both ratios to the reference", () => {
    const line = JSON.parse(jsonLine(options("--rate", "300", "--duration", "10"), thousand, usage, reference));
    expect(line.cpuMsPerOrder).toEqual({ machine: 3, gozon: 1.2, postgres: 1, redis: 0.3, client: 0.2 });
    expect(line.machineBusyPercent).toBe(30);
    expect(line.contextSwitchesPerOrder).toBe(12);
    expect(line.referenceOrdersPerSecond).toBe(1_250);
    expect(line.ratioToReference).toBeCloseTo(thousand.ordersPerSecond / 1_250, 3);
    // The reference spent 30 s of CPU on 18,750 orders: 1.6 ms each; the system 3 ms: 1.875×.
    expect(line.referenceCpuMsPerOrder).toBe(1.6);
    expect(line.cpuRatioToReference).toBe(1.875);
  });

  test("without a reference there are no ratios, and the summary says so in one line per figure", () => {
    const line = JSON.parse(jsonLine(options(), thousand, usage));
    expect(line).not.toHaveProperty("ratioToReference");
    expect(line).not.toHaveProperty("cpuRatioToReference");
    const text = formatCpu(thousand, usage, undefined).join("\n");
    expect(text).toContain("3 ms per order, whole machine (30 % busy");
    expect(text).toContain("gozon 1.2 ms, postgres 1 ms, redis 0.3 ms, bench client 0.2 ms");
    expect(formatCpu(thousand, usage, reference).join("\n")).toContain("CPU per order 1.88×");
  });
});

describe("what the bench hands to the system", () => {
  test("tracing, retention, lease, intake window, queue bounds and allocator settings go through; nothing else of the caller's environment does", async () => {
    const { tunables } = await import("./system");
    for (const name of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "INBOX_RETENTION", "OUTBOX_RETENTION", "REDIS_PARTITION_LEASE", "ORDER_INTAKE_WINDOW", "ORDER_INTAKE_MAX_QUEUE", "ORDER_INTAKE_MAX_WAIT", "REQUEST_MAX_QUEUE", "REQUEST_MAX_WAIT", "MIMALLOC_PURGE_DELAY"]) {
      expect(tunables.test(name)).toBe(true);
    }
    for (const name of ["AUTH", "JWT_SECRET", "DATABASE_URL", "MODE", "PORT", "XOTEL_X", "INBOX_RETENTION_X"]) expect(tunables.test(name)).toBe(false);
  });
});

describe("the scenarios in the report", () => {
  const overload = options("--rate", "6000", "--duration", "15", "--overload");
  const records = [
    { sentAt: 0, respondedAt: 40, httpStatus: 201, orderId: "a", terminalAt: 60, terminalStatus: "PaymentCompleted" as const },
    { sentAt: 1_000, respondedAt: 1_003, httpStatus: 503, error: "HTTP 503", retryAfter: "1" },
    { sentAt: 2_000, respondedAt: 2_009, httpStatus: 503, error: "HTTP 503", retryAfter: "1" },
  ];
  const refusing = summarizeRun(records, { refusalsExpected: true });
  const liveness = summarizeLiveness([{ ms: 2, outcome: "ok" }, { ms: 3_000, outcome: "timeout" }]);
  const result: ScenarioResult = {
    kind: "overload",
    liveness,
    liveTimeoutMs: 3_000,
    rss: { mono: { startMib: 150, peakMib: 301.26, growthMib: 151.26 } },
    maxInFlight: 4_100,
    connections: { limit: 16_384, opened: 4_096 },
  };

  test("overload: the existing fields unchanged, then one object with the overload's figures", () => {
    const line = JSON.parse(jsonLine(overload, refusing, undefined, undefined, result));
    const plain = JSON.parse(jsonLine(overload, refusing));
    expect(Object.keys(line)).toEqual([...Object.keys(plain), "overload"]);
    expect(line.errors).toBe(0);
    expect(line.overload).toEqual({
      acceptedPerSecond: 0.5,
      refusedPerSecond: 1,
      sendWindowSeconds: 2,
      accepted: 1,
      refused: 2,
      acceptedP50Ms: 40,
      acceptedP99Ms: 40,
      acceptedMaxMs: 40,
      refusedP50Ms: 3,
      refusedP99Ms: 9,
      refusedMaxMs: 9,
      liveP99Ms: 3_000,
      liveMaxMs: 3_000,
      liveProbes: 2,
      liveTimeouts: 1,
      liveFailed: 0,
      rssMiB: { mono: { startMib: 150, peakMib: 301.3, growthMib: 151.3 } },
      maxInFlight: 4_100,
      connectionsOpened: 4_096,
      settled: true,
      stuck: 0,
    });
  });

  test("overload: the summary names refusals, liveness, memory and settlement", () => {
    const text = scenarioLines(refusing, result).join("\n");
    expect(text).toContain("accepted 0.5/s (1), refused 1/s (2, 503 with Retry-After)");
    expect(text).toContain("answer time: accepted p50 40 ms, p99 40 ms, max 40 ms; refused p50 3 ms, p99 9 ms, max 9 ms");
    expect(text).toContain("/health/live every 100 ms: p99 3000 ms, max 3000 ms over 2 probes (1 timed out, counted as 3000 ms)");
    expect(text).toContain("mono: peak RSS 301.3 MiB (150 MiB at the first send, +151.3 MiB)");
    expect(text).toContain("every accepted order (1) reached a terminal status");
    expect(text).toContain("client: up to 4100 orders in flight on 4096 connections opened and kept (at most 16384");
  });

  test("soak: RSS after minute 1 and at the end, the slope, p99 by minute and last ÷ first", () => {
    const soak = options("--rate", "300", "--soak", "3");
    const summary = summarizeRun(records.slice(0, 1));
    const soakResult: ScenarioResult = {
      kind: "soak",
      minutes: 3,
      rss: { mono: { minuteOneMib: 200, endMib: 210.04, growthMib: 10.04, slopeMibPerMinute: 5.012 } },
      p99ByMinute: [10, Number.NaN, 12],
    };
    expect(JSON.parse(jsonLine(soak, summary, undefined, undefined, soakResult)).soak).toEqual({
      minutes: 3,
      rssMiB: { mono: { minuteOneMib: 200, endMib: 210, growthMib: 10, slopeMibPerMinute: 5 } },
      p99ByMinuteMs: [10, null, 12],
      p99LastToFirst: 1.2,
      settled: true,
      stuck: 0,
    });
    const text = scenarioLines(summary, soakResult).join("\n");
    expect(text).toContain("accepted p99 by minute: 10, –, 12 ms; last ÷ first 1.2");
    expect(text).toContain("mono: RSS 200 MiB after minute 1, 210 MiB at the end (+10 MiB); slope after minute 1 5.01 MiB/min");
  });

  test("payments outage: what was sent while down, the orders process's RSS, the time to settle after the restart", () => {
    const split = options("--mode", "split", "--rate", "100", "--duration", "40", "--payments-outage", "15");
    const summary = summarizeRun(records.slice(0, 1));
    const outageResult: ScenarioResult = {
      kind: "payments-outage",
      startSeconds: 15,
      seconds: 15,
      times: { stopAt: 15_000, stoppedAt: 15_300, restartAt: 30_000, readyAt: 31_500 },
      figures: { sentDuring: 1_650, acceptedDuring: 1_650, refusedDuring: 0, failedDuring: 0, settledAfterRestartMs: 12_345 },
      timeoutSeconds: 60,
      ordersRss: { beforeMib: 180, peakDuringMib: 195.55, afterMib: 190 },
    };
    expect(JSON.parse(jsonLine(split, summary, undefined, undefined, outageResult)).paymentsOutage).toEqual({
      startSeconds: 15,
      seconds: 15,
      sentDuring: 1_650,
      acceptedDuring: 1_650,
      refusedDuring: 0,
      failedDuring: 0,
      ordersRssMiB: { before: 180, peakDuring: 195.6, after: 190 },
      settledAfterRestartSeconds: 12.35,
      timeoutSeconds: 60,
      settled: true,
      stuck: 0,
    });
    const text = scenarioLines(summary, outageResult).join("\n");
    expect(text).toContain("payments stopped 15 s into the send window for 15 s (exited in 300 ms, ready 1500 ms after its restart)");
    expect(text).toContain("every accepted order terminal 12.35 s after payments was ready again (within --timeout 60 s)");
    expect(describeShape(split)).toContain("; payments stopped 15 s into the send window for 15 s");
  });
});
