import { expect } from "bun:test";
import { fileURLToPath } from "node:url";
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from "kysely";

/** A kysely that compiles PostgreSQL and runs nothing: for snapshots of compiled statements. */
export const compilingDatabase = new Kysely<any>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * Compares `text` (a compiled statement) with the checked-in snapshot file beside the statement
 * (`*.compiled.sql`), so a change to the SQL the database runs shows in the review's diff. Fails
 * with a line diff when they differ; with `UPDATE_SQL_SNAPSHOTS=1` it rewrites the file instead.
 */
export async function expectSqlSnapshot(text: string, snapshot: URL): Promise<void> {
  const actual = `${text.replace(/^\n+/, "").replace(/[ \t]+$/gm, "")}\n`;
  const file = Bun.file(snapshot);
  if (process.env.UPDATE_SQL_SNAPSHOTS === "1") {
    await Bun.write(file, actual);
    return;
  }
  const path = fileURLToPath(snapshot);
  if (!(await file.exists())) throw new Error(`no SQL snapshot ${path}: run the test with UPDATE_SQL_SNAPSHOTS=1 to write it`);
  const expected = await file.text();
  if (expected === actual) return;
  expect.unreachable(
    `the compiled SQL differs from ${path} (- snapshot, + now); if the change is meant, run the test with UPDATE_SQL_SNAPSHOTS=1 and commit the file\n${lineDiff(expected, actual)}`,
  );
}

/** The lines of `before` and `after` as a diff (longest common subsequence), with two lines of context. */
export function lineDiff(before: string, after: string): string {
  const a = before.split("\n");
  const b = after.split("\n");
  const common: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i]![j] = a[i] === b[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const lines: { mark: " " | "-" | "+"; text: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) lines.push({ mark: " ", text: a[i++]! }), j++;
    else if (i < a.length && (j === b.length || common[i + 1]![j]! >= common[i]![j + 1]!)) lines.push({ mark: "-", text: a[i++]! });
    else lines.push({ mark: "+", text: b[j++]! });
  }
  const near = (index: number) => lines.slice(Math.max(0, index - 2), index + 3).some((line) => line.mark !== " ");
  return lines
    .map((line, index) => (near(index) ? `${line.mark} ${line.text}` : index > 0 && near(index - 1) ? "  …" : undefined))
    .filter((line): line is string => line !== undefined)
    .join("\n");
}
