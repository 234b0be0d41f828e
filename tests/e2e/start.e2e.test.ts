import { afterEach, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "../../shared/testing/postgres";

/** The real process, as `npm start` runs it, on a free port with a data directory of its own. */

const root = join(import.meta.dir, "../..");
const startTimeoutMs = 40_000;
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started {
  process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  output: { stdout: string; stderr: string };
  /** Resolves once both streams have ended (the process has exited and all output is read). */
  drained: Promise<unknown>;
  baseUrl: () => string;
}

async function start(env: Record<string, string>): Promise<Started> {
  const dataDir = await mkdtemp(join(tmpdir(), "gozon-e2e-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const child = Bun.spawn([process.execPath, "main.ts"], {
    cwd: root,
    // Only what a shell would give, so nothing from the test runner's environment leaks in.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "0", DATA_DIR: dataDir, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await child.exited;
  });
  const output = { stdout: "", stderr: "" };
  const drained = Promise.all([
    collect(child.stdout, (text) => (output.stdout += text)),
    collect(child.stderr, (text) => (output.stderr += text)),
  ]);
  const port = () => /listening on :(\d+)/.exec(output.stdout)?.[1];
  return { process: child, output, drained, baseUrl: () => `http://127.0.0.1:${port()}` };
}

async function collect(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) append(decoder.decode(chunk.value, { stream: true }));
}

/** Polls stdout for the "listening on :PORT" line until a deadline; fails at once if the process exits. */
async function listening(started: Started): Promise<string> {
  const deadline = Date.now() + startTimeoutMs;
  while (!/listening on :\d+/.test(started.output.stdout)) {
    if (started.process.exitCode !== null) {
      await started.drained;
      throw new Error(`exited ${started.process.exitCode} before listening:\n${started.output.stderr}${started.output.stdout}`);
    }
    if (Date.now() > deadline) throw new Error(`no "listening on" line within ${startTimeoutMs} ms:\n${started.output.stdout}`);
    await Bun.sleep(20);
  }
  return started.baseUrl();
}

async function stopsCleanly(started: Started): Promise<void> {
  started.process.kill("SIGTERM");
  expect(await started.process.exited).toBe(0);
}

describe("the process", () => {
  test(
    "starts with no configuration: embedded databases, memory bus, docs and health",
    async () => {
      const started = await start({});
      const baseUrl = await listening(started);
      expect(started.output.stdout).toContain("(mode=mono, bus=memory, db=pglite)");
      expect(started.output.stdout).toContain("AUTH=none");

      const live = await fetch(`${baseUrl}/health/live`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: "ok" });
      expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);

      const docs = await fetch(`${baseUrl}/docs`);
      expect(docs.status).toBe(200);
      expect(docs.headers.get("content-type")).toStartWith("text/html");
      expect(await docs.text()).toContain("/docs/swagger-ui-bundle.js");
      expect((await fetch(`${baseUrl}/docs/swagger-ui-bundle.js`)).status).toBe(200);

      const openapi = await fetch(`${baseUrl}/openapi.json`);
      expect(openapi.status).toBe(200);
      expect(((await openapi.json()) as { openapi: string }).openapi).toBe("3.1.0");

      await stopsCleanly(started);
    },
    startTimeoutMs + 20_000,
  );

  test("refuses a bad configuration with one line on stderr", async () => {
    const started = await start({ BUS: "nonsense" });
    expect(await started.process.exited).not.toBe(0);
    await started.drained;
    const lines = started.output.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("BUS");
    expect(lines[0]).toContain("nonsense");
  });

  test(
    "is ready on PostgreSQL and the Redis bus",
    async () => {
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      const started = await start({ DATABASE_URL: database.url, BUS: "redis", REDIS_URL: "redis://127.0.0.1:6379" });
      const baseUrl = await listening(started);
      expect(started.output.stdout).toContain("(mode=mono, bus=redis, db=postgres)");

      const ready = await fetch(`${baseUrl}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: "ok",
        checks: { bus: "up", "orders database": "up", "payments database": "up" },
      });

      await stopsCleanly(started);
    },
    startTimeoutMs + 20_000,
  );
});
