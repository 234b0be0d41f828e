import { afterEach, describe, expect, test } from "bun:test";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { deleteRedisKeys, testRedisUrl, testRedisPrefix } from "../../shared/testing/redis";
import { startProcess, startTimeoutMs, type SystemProcess } from "../support/system-process";

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(env: Record<string, string>): Promise<SystemProcess> {
  const started = await startProcess(env);
  cleanups.push(() => started.cleanup());
  return started;
}

async function stopsCleanly(started: SystemProcess): Promise<void> {
  expect(await started.stop()).toBe(0);
}

describe("the process", () => {
  test(
    "starts with no configuration: embedded databases, memory bus, docs and health",
    async () => {
      const started = await start({});
      const baseUrl = await started.listening();
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

  test(
    "stops cleanly on SIGTERM while it is still starting",
    async () => {
      const started = await start({});
      // The first line comes from start-up itself, before the embedded databases are open.
      await eventually(() => started.output.stdout.includes("AUTH=none"), startTimeoutMs, "the first start-up line");
      expect(await started.stop()).toBe(0);
      await started.drained;
      expect(started.output.stdout).toContain('"msg":"stopped"');
    },
    startTimeoutMs + 20_000,
  );

  test.each([
    ["BUS", "nonsense"],
    ["REDIS_PARTITION_LEASE", "10"],
  ])("refuses a bad configuration with one line on stderr: %s=%s", async (variable, value) => {
    const started = await start({ MODE: "orders", [variable]: value });
    expect(await started.process.exited).not.toBe(0);
    await started.drained;
    const lines = started.output.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${variable}="${value}"`);
  });

  test(
    "is ready on PostgreSQL and the Redis bus",
    async () => {
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      const prefix = testRedisPrefix();
      cleanups.push(() => deleteRedisKeys(prefix));
      const started = await start({ DATABASE_URL: database.url, BUS: "redis", REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix });
      const baseUrl = await started.listening();
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
