import { describe, expect, test } from "bun:test";
import { dirname, join, normalize } from "node:path";

/**
 * The module boundaries: no module imports another module, `shared/` imports no
 * module, `main.ts` imports only module doors (`modules/<name>/index.ts`). Import lines are read
 * with a regex, not Bun.Transpiler.scanImports, because that drops `import type`.
 */

const root = join(import.meta.dir, "../..");

// `import … from "x"`, `import type … from "x"`, `export … from "x"`, `import "x"`, `import("x")`.
const importPattern = /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

/** Specifiers a file imports, each resolved to a path from the repository root when local. */
function importsOf(file: string, source: string): string[] {
  return [...source.matchAll(importPattern)].map((match) => {
    const specifier = match[1] ?? match[2] ?? match[3] ?? "";
    return specifier.startsWith(".") ? normalize(join(dirname(file), specifier)) : specifier;
  });
}

const moduleOf = (path: string) => /^modules\/([^/]+)(?:\/|$)/.exec(path)?.[1];
const isDoor = (path: string) => /^modules\/[^/]+(?:\/index(?:\.ts)?)?$/.test(path);

/** Every import that crosses a boundary, as "file → target". */
function violations(files: { path: string; source: string }[]): string[] {
  const found: string[] = [];
  for (const { path, source } of files) {
    for (const target of importsOf(path, source)) {
      const from = moduleOf(path);
      const to = moduleOf(target) ?? (target === "modules" || target.startsWith("modules/") ? "?" : undefined);
      if (to === undefined) continue;
      const allowed = from !== undefined ? from === to : path === "main.ts" && isDoor(target);
      if (!allowed) found.push(`${path} → ${target}`);
    }
  }
  return found;
}

async function read(pattern: string) {
  const paths = await Array.fromAsync(new Bun.Glob(pattern).scan({ cwd: root }));
  return Promise.all(paths.map(async (path) => ({ path, source: await Bun.file(join(root, path)).text() })));
}

describe("module boundaries", () => {
  test("hold in this repository", async () => {
    const files = [...(await read("modules/*/**/*.ts")), ...(await read("shared/**/*.ts")), ...(await read("main.ts"))];
    expect(files.some((file) => file.path === "main.ts")).toBe(true);
    expect(violations(files)).toEqual([]);
  });

  test.each([
    ["a module importing another", "modules/orders/domain/order.ts", 'import { debit } from "../../payments/domain/debit";'],
    ["a type-only import of another module", "modules/orders/a.ts", 'import type { Account } from "../payments/db/tables.ts";'],
    ["a re-export from another module", "modules/payments/a.ts", 'export { placeOrder } from "../orders/application/place-order";'],
    ["a multi-line import", "modules/payments/a.ts", 'import {\n  a,\n  b,\n} from "../orders/x";'],
    ["a dynamic import", "modules/payments/a.ts", 'const x = await import("../orders/x");'],
    ["shared importing a module's door", "shared/messaging/outbox.ts", 'import { createOrdersModule } from "../../modules/orders/index.ts";'],
    ["main importing past a door", "main.ts", 'import { orders } from "./modules/orders/db/orders.repository";'],
  ])("catch %s", (_name, path, source) => {
    expect(violations([{ path, source }])).toHaveLength(1);
  });

  test.each([
    ["a module importing itself and shared", "modules/orders/a.ts", 'import { b } from "./b";\nimport type { Bus } from "../../shared/bus/bus";\nimport { z } from "zod";'],
    ["main importing doors", "main.ts", 'import { createOrdersModule } from "./modules/orders/index.ts";\nimport { createPaymentsModule } from "./modules/payments";'],
    ["a string that only mentions a module", "shared/a.ts", 'const text = "see ../modules/orders/x for details";'],
  ])("allow %s", (_name, path, source) => {
    expect(violations([{ path, source }])).toEqual([]);
  });
});
