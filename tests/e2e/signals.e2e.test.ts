import { afterEach, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { deleteRedisKeys, testRedisPrefix } from "../../shared/testing/redis";
import { descendants, isAlive } from "../support/process-tree";
import { startTimeoutMs } from "../support/system-process";

// A supervisor (systemd, pm2, a container whose PID 1 is npm, a CI runner) starts `npm start` and
// later sends SIGTERM to the pid it started, and to that pid only. The server behind npm (or bun)
// must then stop cleanly: the runner exits 0, no process of the tree is left, the ports are free.
const root = join(import.meta.dir, "../..");
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function runScript(command: string[], env: Record<string, string>, servers: number) {
  const dataDir = await mkdtemp(join(tmpdir(), "gozon-signals-"));
  // PostgreSQL rather than PGlite only because it starts in a fraction of the time; signals do not depend on it.
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const runner = Bun.spawn(command, {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", npm_config_update_notifier: "false", PORT: "0", DATA_DIR: dataDir, DATABASE_URL: database.url, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = { text: "" };
  const drained = Promise.all([runner.stdout, runner.stderr].map(async (stream) => {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output.text += decoder.decode(chunk.value, { stream: true });
  }));
  const tree = new Set<number>();
  cleanups.push(async () => {
    for (const pid of [runner.pid, ...tree]) if (isAlive(pid)) process.kill(pid, "SIGKILL"); // only a failed test leaves any
    await runner.exited;
    await rm(dataDir, { recursive: true, force: true });
  });
  const ports = () => [...output.text.matchAll(/listening on :(\d+)/g)].map((match) => Number(match[1]));
  await eventually(() => ports().length === servers || runner.exitCode !== null, startTimeoutMs, `${servers} "listening on" lines`);
  expect(runner.exitCode, output.text).toBeNull();
  for (const pid of descendants(runner.pid)) tree.add(pid);
  return { runner, output, ports: ports(), tree: [...tree], drained };
}

async function refused(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/health/live`).then(() => false, () => true);
}

async function stopsCleanly(started: Awaited<ReturnType<typeof runScript>>, servers: number) {
  const { runner, output, ports, tree, drained } = started;
  for (const port of ports) expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
  expect(tree.length).toBeGreaterThan(0);

  runner.kill("SIGTERM"); // to the runner's pid only, as a supervisor does
  expect(await runner.exited).toBe(0);
  await drained;
  expect(output.text.match(/"msg":"stopped"/g) ?? [], output.text).toHaveLength(servers);
  await eventually(() => tree.every((pid) => !isAlive(pid)), 5_000, `no process of the tree left (${tree.join(", ")})`);
  for (const port of ports) expect(await refused(port)).toBe(true);
}

describe("SIGTERM to the pid the runner started", () => {
  test.each([
    ["npm start", ["npm", "start"]],
    ["bun run start", [process.execPath, "run", "start"]],
  ])("%s: the server stops cleanly, exit 0, nothing left", async (_name, command) => {
    await stopsCleanly(await runScript(command, {}, 1), 1);
  }, startTimeoutMs + 30_000);

  test("npm run split: both servers stop cleanly, exit 0, nothing left", async () => {
    const prefix = testRedisPrefix();
    cleanups.push(() => deleteRedisKeys(prefix));
    const started = await runScript(["npm", "run", "split"], { PAYMENTS_PORT: "0", REDIS_PREFIX: prefix }, 2);
    await stopsCleanly(started, 2);
  }, startTimeoutMs + 30_000);
});
