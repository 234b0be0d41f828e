import type { z } from "zod";
import type { deadLetterPageSchema, deadLetterSchema, deadLetterSummarySchema } from "../../shared/messaging/dead-letters/dead-letters.schemas";
/** What the dead-letter admin API answers: its own response schemas, as JSON. */
export type DeadLetterItem = z.infer<typeof deadLetterSummarySchema> & Partial<Pick<z.infer<typeof deadLetterSchema>, "message" | "headers">>;
export type DeadLetterPage = z.infer<typeof deadLetterPageSchema>;

/** Shown for a dead letter whose subject could not be read. */
const noSubject = "-";

/** One row per dead letter, columns padded to their widest cell; the error cut to `errorWidth`. */
export function formatPage(page: DeadLetterPage, errorWidth = 60): string {
  if (page.items.length === 0) return "no dead letters";
  const header = ["ID", "MODULE", "TOPIC", "SUBJECT", "STATE", "REPLAYS", "ATTEMPTS", "LAST FAILED", "ERROR"];
  const rows = page.items.map((item) => [
    item.id,
    item.module,
    item.topic,
    item.subject ?? noSubject,
    item.state,
    String(item.replayCount),
    String(item.attempts),
    item.lastFailedAt.replace("T", " ").replace(/\.\d+Z$/, "Z"),
    cut(oneLine(item.error), errorWidth),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ");
  const lines = [line(header), ...rows.map(line)];
  if (page.nextBefore) lines.push("", `more: bun run dlq -- list --before ${page.nextBefore}`);
  return lines.join("\n");
}

/** A dead letter in full: its fields, its message (pretty when it is JSON) and its headers. */
export function formatDeadLetter(item: DeadLetterItem): string {
  const fields: [string, string][] = [
    ["id", item.id],
    ["module", item.module],
    ["topic", item.topic],
    ["key", item.key],
    ["subject", item.subject ?? noSubject],
    ["state", item.state],
    ["replays", String(item.replayCount)],
    ["attempts", String(item.attempts)],
    ["first failed", item.firstFailedAt],
    ["last failed", item.lastFailedAt],
    ["error", oneLine(item.error)],
  ];
  const width = Math.max(...fields.map(([name]) => name.length));
  const lines = fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${value}`);
  if (item.message !== undefined) lines.push("", "message:", pretty(item.message));
  const headers = Object.entries(item.headers ?? {});
  if (headers.length > 0) lines.push("", "headers:", ...headers.map(([name, value]) => `  ${name}: ${oneLine(value)}`));
  return lines.join("\n");
}

function pretty(message: string): string {
  try {
    return JSON.stringify(JSON.parse(message), null, 2);
  } catch {
    return message;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
