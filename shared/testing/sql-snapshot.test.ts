import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expectSqlSnapshot, lineDiff } from "./sql-snapshot";

describe("SQL snapshots", () => {
  let folder: string | undefined;
  afterAll(() => folder && rm(folder, { recursive: true, force: true }));
  const snapshotOf = async (text: string) => {
    folder ??= await mkdtemp(join(tmpdir(), "gozon-sql-snapshot-"));
    const path = join(folder, `${crypto.randomUUID()}.compiled.sql`);
    await writeFile(path, text);
    return pathToFileURL(path);
  };

  test("the same SQL passes; trailing spaces and leading blank lines do not count", async () => {
    await expectSqlSnapshot("\n  select 1   \n  from t", await snapshotOf("  select 1\n  from t\n"));
  });

  test("changed SQL fails, showing the changed lines and how to accept them", async () => {
    const snapshot = await snapshotOf("with a as (select 1)\nselect *\nfrom a\nwhere x = 1\n");
    const failure = await expectSqlSnapshot("with a as (select 1)\nselect *\nfrom a\nwhere x = 2", snapshot).catch((error: Error) => error.message);
    expect(failure).toContain("- where x = 1\n+ where x = 2");
    expect(failure).toContain("UPDATE_SQL_SNAPSHOTS=1");
  });

  test("a statement without its snapshot fails", async () => {
    const missing = pathToFileURL(join(tmpdir(), `${crypto.randomUUID()}.compiled.sql`));
    await expect(expectSqlSnapshot("select 1", missing)).rejects.toThrow(/no SQL snapshot .*UPDATE_SQL_SNAPSHOTS=1/);
  });

  test("the diff keeps two lines of context around a change and elides the rest", () => {
    const before = ["a", "b", "c", "d", "e", "f", "g", "h"].join("\n");
    const after = ["a", "b", "c", "d", "E", "f", "g", "h"].join("\n");
    expect(lineDiff(before, after)).toBe(["  c", "  d", "- e", "+ E", "  f", "  g", "  …"].join("\n"));
  });
});
