import { describe, expect, test } from "bun:test";
import { join } from "node:path";

/**
 * A test file's name tells what it needs: `.test.ts` nothing running, `.int.test.ts` PostgreSQL,
 * Redis or a broker, `.e2e.test.ts` the real process. So a plain `.test.ts` may not import the
 * helpers that reach those services (a test database, a Redis key prefix, a started module, the
 * e2e support that starts processes and reads their Redis streams) nor a Redis or PostgreSQL
 * client. Type-only imports need nothing and are not counted.
 */

const root = join(import.meta.dir, "../..");

/** Imports that need a running service, as the end of the specifier. */
const serviceImports = [
  /\/testing\/(postgres|redis|module-under-test)$/,
  /(^|\/)support\/(split-system|split-harness|system-process|private-redis|bus-streams)$/,
  /^ioredis$/,
  /^postgres$/,
];

// `import … from "x"` (not `import type`), `import "x"`, `import("x")`.
const importPattern = /^\s*import\s+(?!type\b)[^'"`;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

/** The imports of a plain `.test.ts` file that need a running service. */
function serviceImportsOf(source: string): string[] {
  return [...source.matchAll(importPattern)]
    .map((match) => (match[1] ?? match[2] ?? match[3] ?? "").replace(/\.ts$/, ""))
    .filter((specifier) => serviceImports.some((pattern) => pattern.test(specifier)));
}

const isPlainTest = (path: string) => path.endsWith(".test.ts") && !path.endsWith(".int.test.ts") && !path.endsWith(".e2e.test.ts");
/** This file, whose examples below are imports in strings. */
const self = "tests/architecture/test-levels.test.ts";

describe("test levels", () => {
  test("no plain .test.ts file imports what needs PostgreSQL, Redis, a broker or a started process", async () => {
    const paths = (await Array.fromAsync(new Bun.Glob("{modules,shared,scripts,tests}/**/*.test.ts").scan({ cwd: root }))).filter((path) => isPlainTest(path) && path !== self);
    expect(paths.length).toBeGreaterThan(10);
    const found: string[] = [];
    for (const path of paths) {
      for (const specifier of serviceImportsOf(await Bun.file(join(root, path)).text())) found.push(`${path} → ${specifier}`);
    }
    expect(found).toEqual([]);
  });

  test.each([
    ["the Redis test helper", 'import { deleteRedisKeys } from "../../testing/redis";'],
    ["the PostgreSQL test helper", 'import { createTestDatabase } from "../../shared/testing/postgres.ts";'],
    ["a module started for a test", 'import {\n  startModuleUnderTest,\n} from "../../shared/testing/module-under-test";'],
    ["a PostgreSQL client, imported when needed", 'const { default: postgres } = await import("postgres");'],
    ["a Redis client", 'import Redis from "ioredis";'],
    ["e2e support", 'import { SplitSystem } from "../support/split-system";'],
  ])("catch %s", (_name, source) => {
    expect(serviceImportsOf(source)).toHaveLength(1);
  });

  test.each([
    ["the memory bus and pure helpers", 'import { MemoryBus } from "../memory/memory-bus";\nimport { eventually } from "../../shared/testing/eventually";'],
    ["kafkajs's types", 'import type { KafkaMessage } from "kafkajs";'],
    ["a Redis client's type", 'import type Redis from "ioredis";'],
    ["the list of modules", 'import { allModules } from "../support/all-modules";'],
    ["a string that only mentions a helper", 'const note = "see shared/testing/redis for the Redis one";'],
  ])("allow %s", (_name, source) => {
    expect(serviceImportsOf(source)).toEqual([]);
  });
});
