/** The bench's output: a few lines for people, then one JSON line for machines. */
import type { BenchOptions } from "./args";
import type { Distribution, RunSummary } from "./stats";
import { warmupOrderCount } from "./warmup";

const round = (value: number, digits = 1) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);

export function describeShape(options: BenchOptions): string {
  const load = options.load.kind === "closed" ? `closed loop, concurrency ${options.load.concurrency}` : `open loop, ${options.load.rate} orders/s offered`;
  return `mode=${options.mode} bus=${options.bus} db=${options.db}; ${options.orders} orders from ${options.users} users; ${load}${describeWarmup(options)}`;
}

function describeWarmup({ warmupSeconds, load }: BenchOptions): string {
  if (warmupSeconds === 0) return "";
  const orders = load.kind === "open" ? `${warmupOrderCount(load.rate, warmupSeconds)} orders` : "the same load";
  return `; after a ${warmupSeconds} s warm-up (${orders} on separate accounts, not counted)`;
}

export interface RunExtras {
  /** Completed orders the deposits allow for: the workload's expected outcome. */
  expectedCompleted: number;
  maxSendLagMs: number;
}

export function formatSummary(options: BenchOptions, summary: RunSummary, extras: RunExtras): string[] {
  const lines = [
    `shape       ${describeShape(options)}`,
    `orders      sent ${summary.sent}, accepted ${summary.accepted}, completed ${summary.completed}, ` +
      `failed (insufficient funds) ${summary.failedInsufficient}, errors ${summary.errors}`,
    `            the deposits pay for ${extras.expectedCompleted} (${summary.completed === extras.expectedCompleted ? "as expected" : "MISMATCH"})`,
  ];
  for (const [kind, count] of Object.entries(summary.rejected)) lines.push(`            not accepted: ${count} × ${kind}`);
  for (const [reason, count] of Object.entries(summary.failedOther)) lines.push(`            failed, reason ${reason}: ${count}`);
  if (summary.stuck > 0) lines.push(`            stuck (no terminal status within --timeout): ${summary.stuck}`);
  lines.push(
    `throughput  accepted ${round(summary.acceptedPerSecond)}/s; end to end ${round(summary.ordersPerSecond)}/s ` +
      `(first send → last terminal status ${round(summary.spanMs / 1000, 2)} s)`,
    `latency     create→terminal ${describe(summary.endToEnd, true)}`,
    `            HTTP POST       ${describe(summary.http, false)}`,
  );
  if (options.load.kind === "open") lines.push(`            the client sent at most ${round(extras.maxSendLagMs)} ms behind schedule`);
  return lines;
}

function describe(distribution: Distribution | undefined, full: boolean): string {
  if (!distribution) return "(none)";
  const { p50, p95, p99, max, mean } = distribution;
  const ms = (value: number) => `${round(value)} ms`;
  return full
    ? `p50 ${ms(p50)}, p95 ${ms(p95)}, p99 ${ms(p99)}, max ${ms(max)} (mean ${ms(mean)})`
    : `p50 ${ms(p50)}, p99 ${ms(p99)}`;
}

/** The one line for machines (key order fixed). */
export function jsonLine(options: BenchOptions, summary: RunSummary): string {
  return JSON.stringify({
    ordersPerSecond: round(summary.ordersPerSecond),
    acceptedPerSecond: round(summary.acceptedPerSecond),
    p50Ms: round(summary.endToEnd?.p50 ?? Number.NaN),
    p95Ms: round(summary.endToEnd?.p95 ?? Number.NaN),
    p99Ms: round(summary.endToEnd?.p99 ?? Number.NaN),
    maxMs: round(summary.endToEnd?.max ?? Number.NaN),
    httpP50Ms: round(summary.http?.p50 ?? Number.NaN),
    httpP99Ms: round(summary.http?.p99 ?? Number.NaN),
    errors: summary.errors,
    orders: summary.sent,
    mode: options.mode,
    bus: options.bus,
    db: options.db,
    ...(options.load.kind === "closed" ? { concurrency: options.load.concurrency } : { rate: options.load.rate }),
    warmupSeconds: options.warmupSeconds,
  });
}
