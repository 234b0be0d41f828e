import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArguments } from "./args";
import { startSystem, type RunningSystem } from "./system";

const ready = (url: string) => fetch(`${url}/health/ready`).then((response) => response.status, () => 0);

describe("the bench's system: one process stopped and started again", () => {
  let workDir: string;
  let system: RunningSystem | undefined;
  afterAll(async () => {
    await system?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  test("the process goes away, comes back on the same port with a new pid, and the pid list follows it", async () => {
    workDir = await mkdtemp(join(tmpdir(), "gozon-bench-system-test-"));
    system = await startSystem(parseArguments([], {})!, workDir, {});
    const pids = system.pids;
    const [first] = system.processes();
    expect(first).toEqual({ name: "mono", pid: pids[0]! });

    await system.stopProcess("mono");
    expect(await ready(system.ordersUrl)).toBe(0);

    await system.startProcess("mono");
    expect(await ready(system.ordersUrl)).toBe(200);
    const [again] = system.processes();
    expect(again!.pid).not.toBe(first!.pid);
    expect(pids).toEqual([again!.pid]); // the same array, updated in place for the CPU accounting

    await expect(system.startProcess("mono")).rejects.toThrow("mono is still running");
    await expect(system.stopProcess("payments")).rejects.toThrow("no process named payments (running: mono)");
    // Both exits were clean: nothing to report.
    expect(await system.stop()).toEqual([]);
    system = undefined;
  }, 120_000);
});
