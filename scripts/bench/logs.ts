import { readFileSync } from "node:fs";
import { basename } from "node:path";

/** Expected at every start of the bench's processes (it runs them with AUTH=none on purpose). */
const expected = [/^AUTH=none:/];

/**
 * What in the processes' logs deserves a look: warn and error lines grouped by message, and lines
 * that are not the logger's JSON (a crash, a runtime warning). One line per group, most frequent first.
 */
export function logFindings(logFiles: string[]): string[] {
  const counts = new Map<string, number>();
  for (const file of logFiles) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const key = classify(line);
      if (key) counts.set(`${basename(file)}: ${key}`, (counts.get(`${basename(file)}: ${key}`) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([key, count]) => `${count} × ${key}`);
}

function classify(line: string): string | undefined {
  if (line.trim() === "") return undefined;
  let entry: { level?: string | number; msg?: string; error?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return `(not JSON) ${line.slice(0, 160)}`;
  }
  // Level labels ("warn") or pino's numbers (40 warn, 50 error, 60 fatal).
  const level = typeof entry.level === "number" ? (entry.level >= 50 ? "error" : entry.level >= 40 ? "warn" : "info") : entry.level;
  if (level !== "warn" && level !== "error" && level !== "fatal") return undefined;
  if (expected.some((pattern) => pattern.test(entry.msg ?? ""))) return undefined;
  const error = typeof entry.error === "string" ? entry.error : (entry.error as { message?: string } | undefined)?.message;
  return `${level}: ${entry.msg ?? "(no msg)"}${error ? ` (${error.slice(0, 160)})` : ""}`;
}
