import { describe, expect, test } from "bun:test";
import { parseArguments } from "./args";
import { describeShape, formatCpu, jsonLine } from "./report";
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
  test("tracing, retention, lease, intake window and allocator settings go through; nothing else of the caller's environment does", async () => {
    const { tunables } = await import("./system");
    for (const name of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "INBOX_RETENTION", "OUTBOX_RETENTION", "REDIS_PARTITION_LEASE", "ORDER_INTAKE_WINDOW", "MIMALLOC_PURGE_DELAY"]) {
      expect(tunables.test(name)).toBe(true);
    }
    for (const name of ["AUTH", "JWT_SECRET", "DATABASE_URL", "MODE", "PORT", "XOTEL_X", "INBOX_RETENTION_X"]) expect(tunables.test(name)).toBe(false);
  });
});
