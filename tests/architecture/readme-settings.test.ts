import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settingVariables } from "../../shared/config";
import { allModules } from "../support/all-modules";

/**
 * README's settings table (under "## Configuration") names every variable the configuration
 * reads: shared ones and each module's own. A cell may name several (`A`, `B`) and shorten a
 * variant of the one before it (`OTEL_EXPORTER_OTLP_PROTOCOL` (or `…_TRACES_PROTOCOL`)).
 */

/** The variables the first column of the table names, a `…_SUFFIX` as every name ending so. */
function documented(readme: string): { names: Set<string>; suffixes: string[] } {
  const section = readme.slice(readme.indexOf("\n## Configuration"));
  const table = section.slice(0, section.indexOf("\n## ", 1));
  const firstCells = [...table.matchAll(/^\| ([^|]+) \|/gm)].map((match) => match[1]!);
  const tokens = firstCells.flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
  return {
    names: new Set(tokens.filter((token) => /^[A-Z][A-Z0-9_]*$/.test(token))),
    suffixes: tokens.filter((token) => token.startsWith("…_")).map((token) => token.slice(1)),
  };
}

function undocumented(readme: string, variables: string[]): string[] {
  const { names, suffixes } = documented(readme);
  return variables.filter((name) => !names.has(name) && !suffixes.some((suffix) => name.endsWith(suffix)));
}

describe("README's settings table", () => {
  test("names every variable the configuration reads", () => {
    const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
    const variables = settingVariables(allModules);
    expect(variables).toContain("ORDER_INTAKE_WINDOW");
    expect(variables).toContain("PAYMENTS_DATABASE_URL");
    expect(undocumented(readme, variables)).toEqual([]);
  });

  test("catches a variable missing from it", () => {
    const readme = "\n## Configuration\n\n| variable | meaning |\n|---|---|\n| `MODE` | … |\n| `OTEL_A_PROTOCOL` (or `…_B_PROTOCOL`) | … |\n\n## Next\n\n| `PORT` | … |\n";
    expect(undocumented(readme, ["MODE", "PORT", "OTEL_A_B_PROTOCOL"])).toEqual(["PORT"]);
  });
});
