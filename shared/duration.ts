import { z } from "zod";

const units = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const pattern = /^(\d{1,9})(ms|s|m|h|d)$/;

/** The form a duration setting accepts, for error messages. */
export const durationForm = "a duration such as 30s, 15m, 24h or 7d (a whole number and one of ms, s, m, h, d)";

/**
 * Parses `30s`, `15m`, `24h`, `7d` (or `500ms`) into milliseconds; undefined for anything else
 * (no fractions, no spaces, no compound forms like `1h30m`, no zero).
 */
export function parseDuration(text: string): number | undefined {
  const match = pattern.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * units[match[2] as keyof typeof units];
  return value > 0 && Number.isSafeInteger(value) ? value : undefined;
}

/** A zod schema for a duration setting: the string in, milliseconds out. */
export const durationSetting = z.string().transform((text, context) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    context.addIssue({ code: "custom", message: `expected ${durationForm}` });
    return z.NEVER;
  }
  return ms;
});

/** Milliseconds back as the shortest exact duration text (`90000` → `90s`), for logs and docs. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of Object.entries(units).reverse()) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
