import { describe, expect, test } from "bun:test";
import { backendDatabase, classifyBy, parseProcessStat, parseProcStat, perOrder, sampleCpu, usageBetween, type CpuSample } from "./cpu";

// Shapes copied from a Linux 6.x machine (values edited).
const procStat = `cpu  1000 50 400 8000 100 20 30 5 0 0
cpu0 500 25 200 4000 50 10 15 2 0 0
cpu1 500 25 200 4000 50 10 15 3 0 0
intr 123456 0 0
ctxt 987654
btime 1700000000
processes 4242
`;

describe("/proc/stat", () => {
  test("busy is everything but idle and iowait; kernel is system + irq + softirq", () => {
    expect(parseProcStat(procStat)).toEqual({
      busyTicks: 1000 + 50 + 400 + 20 + 30 + 5,
      totalTicks: 1000 + 50 + 400 + 20 + 30 + 5 + 8000 + 100,
      kernelTicks: 400 + 20 + 30,
      contextSwitches: 987654,
    });
  });

  test("a file without the aggregate cpu line is refused", () => {
    expect(() => parseProcStat("cpu0 1 2 3 4\nctxt 5\n")).toThrow("no aggregate cpu line");
  });
});

describe("/proc/<pid>/stat", () => {
  test("utime + stime, counted after the last parenthesis even when the name has spaces and parentheses", () => {
    const line = "4242 (bun (worker) x) S 1 4242 4242 0 -1 4194560 3000 0 0 0 777 333 5 6 20 0 12 0 100 0 0 18446744073709551615";
    expect(parseProcessStat(line)).toEqual({ pid: 4242, command: "bun (worker) x", ticks: 777 + 333 });
  });

  test("the real file of this process parses", () => {
    const own = parseProcessStat(require("node:fs").readFileSync(`/proc/${process.pid}/stat`, "utf8"));
    expect(own.pid).toBe(process.pid);
    expect(own.ticks).toBeGreaterThanOrEqual(0);
  });

  test("garbage is refused", () => expect(() => parseProcessStat("not a stat line")).toThrow());
});

describe("the window", () => {
  const classify = classifyBy({ gozon: [10, 11], client: [20] });
  const sample = (busy: number, processes: [number, string, number][]): CpuSample => ({
    machine: { busyTicks: busy, totalTicks: busy + 1000, kernelTicks: busy / 4, contextSwitches: busy * 10 },
    processes: new Map(
      processes.flatMap(([pid, command, ticks]) => {
        const group = classify({ pid, command, ticks }, () => "");
        return group ? [[pid, { group, ticks }] as const] : [];
      }),
    ),
  });

  test("processes are grouped by pid (Gozon, client) and by command (PostgreSQL, Redis); others are ignored", () => {
    expect(classify({ pid: 10, command: "bun", ticks: 0 }, () => "")).toBe("gozon");
    expect(classify({ pid: 20, command: "bun", ticks: 0 }, () => "")).toBe("client");
    expect(classify({ pid: 30, command: "postgres", ticks: 0 }, () => "")).toBe("postgres");
    expect(classify({ pid: 31, command: "redis-server", ticks: 0 }, () => "")).toBe("redis");
    expect(classify({ pid: 32, command: "bash", ticks: 0 }, () => "")).toBeUndefined();
  });

  test("differences in ms at 100 ticks/s; a process born in the window counts from zero", () => {
    const before = sample(1_000, [[10, "bun", 100], [11, "bun", 50], [20, "bun", 10], [30, "postgres", 200], [31, "redis-server", 5], [40, "bash", 9]]);
    const after = sample(1_500, [[10, "bun", 160], [11, "bun", 70], [20, "bun", 12], [30, "postgres", 260], [33, "postgres", 30], [31, "redis-server", 9], [40, "bash", 99]]);
    const usage = usageBetween(before, after, 100);
    expect(usage.machine).toBe(5_000);
    expect(usage.groups).toEqual({ gozon: 800, postgres: 900, redis: 40, client: 20 });
    expect(usage.contextSwitches).toBe(5_000);
    expect(perOrder(usage, 1_000)).toEqual({ machine: 5, gozon: 0.8, postgres: 0.9, redis: 0.04, client: 0.02 });
  });

  test("per order of no orders is not a number, never a division by zero that reads as 0 or Infinity", () => {
    const usage = usageBetween(sample(0, []), sample(10, []), 100);
    expect(perOrder(usage, 0).machine).toBeNaN();
  });

  test("sampling this machine finds this process when it is named", () => {
    const found = sampleCpu(classifyBy({ gozon: [], client: [process.pid] }));
    expect(found.processes.get(process.pid)?.group).toBe("client");
    expect(found.machine.totalTicks).toBeGreaterThan(0);
  });
});

describe("PostgreSQL backends by database", () => {
  test.each([
    ["postgres: 15/main: postgres gozon_bench_a 127.0.0.1(40512) idle", "gozon_bench_a"],
    ["postgres: postgres gozon_bench_a [local] idle in transaction", "gozon_bench_a"],
    ["postgres: 15/main: autovacuum worker gozon_bench_a", "gozon_bench_a"],
    ["postgres: 15/main: checkpointer                     ", undefined],
    ["postgres: 15/main: logical replication launcher", undefined],
    ["/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main -c config_file=/etc/postgresql/15/main/postgresql.conf", undefined],
  ])("%p serves %p", (title, database) => expect(backendDatabase(title)).toBe(database));

  test("with databases named, other databases' backends are left out; the server's own processes stay in", () => {
    const classify = classifyBy({ gozon: [], client: [] }, ["gozon_bench_a"]);
    const postgres = (title: string) => classify({ pid: 1, command: "postgres", ticks: 0 }, () => title);
    expect(postgres("postgres: 15/main: postgres gozon_bench_a 127.0.0.1(1) idle")).toBe("postgres");
    expect(postgres("postgres: 15/main: postgres gozon_test_x 127.0.0.1(2) idle")).toBeUndefined();
    expect(postgres("postgres: 15/main: walwriter")).toBe("postgres");
  });
});
