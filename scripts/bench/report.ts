/** The bench's output: a few lines for people, then one JSON line for machines. */
import type { BenchOptions } from "./args";
import { perOrder, type CpuPerOrder, type CpuUsage } from "./cpu";
import type { ReferenceResult } from "./reference";
import { scenarioJson, type ScenarioResult } from "./scenario-report";
import type { Distribution, RunSummary } from "./stats";
import { warmupOrderCount } from "./warmup";

const round = (value: number, digits = 1) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);

export function describeShape(options: BenchOptions): string {
  const load = options.load.kind === "closed" ? `closed loop, concurrency ${options.load.concurrency}` : `open loop, ${options.load.rate} orders/s offered`;
  return `mode=${options.mode} bus=${options.bus} db=${options.db}; ${options.orders} orders from ${options.users} users; ${load}${describeScenario(options)}${describeWarmup(options)}`;
}

function describeScenario({ scenario }: BenchOptions): string {
  switch (scenario.kind) {
    case "plain":
      return "";
    case "overload":
      return "; overload: 503 with Retry-After is an expected refusal";
    case "soak":
      return `; soak of ${scenario.minutes} min`;
    case "payments-outage":
      return `; payments stopped ${scenario.startSeconds} s into the send window for ${scenario.seconds} s`;
  }
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

/** CPU per order and the ratios to the reference: what travels between machines. */
export interface CpuFigures {
  cpuMsPerOrder?: CpuPerOrder;
  /** Share of the machine's capacity (all cores) that was busy over the window, in %. */
  machineBusyPercent?: number;
  kernelMsPerOrder?: number;
  contextSwitchesPerOrder?: number;
  referenceOrdersPerSecond?: number;
  ratioToReference?: number;
  referenceCpuMsPerOrder?: number;
  cpuRatioToReference?: number;
}

/**
 * Per order of the run (accepted orders: each one was created, paid or refused, and pushed) and,
 * with a reference, the system's orders/s over the reference's and its machine CPU per order over
 * the reference's (below 1: the system spends less CPU per order than the naive SQL alone).
 */
export function cpuFigures(summary: RunSummary, usage: CpuUsage | undefined, reference: ReferenceResult | undefined): CpuFigures {
  const figures: CpuFigures = {};
  if (usage) {
    figures.cpuMsPerOrder = perOrder(usage, summary.accepted);
    figures.machineBusyPercent = usage.capacity > 0 ? (100 * usage.machine) / usage.capacity : Number.NaN;
    figures.kernelMsPerOrder = summary.accepted > 0 ? usage.kernel / summary.accepted : Number.NaN;
    figures.contextSwitchesPerOrder = summary.accepted > 0 ? usage.contextSwitches / summary.accepted : Number.NaN;
  }
  if (reference) {
    figures.referenceOrdersPerSecond = reference.ordersPerSecond;
    figures.ratioToReference = summary.ordersPerSecond / reference.ordersPerSecond;
    figures.referenceCpuMsPerOrder = reference.orders > 0 ? reference.usage.machine / reference.orders : Number.NaN;
    if (figures.cpuMsPerOrder) figures.cpuRatioToReference = figures.cpuMsPerOrder.machine / figures.referenceCpuMsPerOrder;
  }
  return figures;
}

export function formatCpu(summary: RunSummary, usage: CpuUsage | undefined, reference: ReferenceResult | undefined): string[] {
  const figures = cpuFigures(summary, usage, reference);
  const ms = (value: number | undefined) => `${round(value ?? Number.NaN, 2)} ms`;
  const lines: string[] = [];
  const cpu = figures.cpuMsPerOrder;
  if (cpu) {
    lines.push(
      `cpu         ${ms(cpu.machine)} per order, whole machine (${round(figures.machineBusyPercent ?? Number.NaN)} % busy; kernel ${ms(figures.kernelMsPerOrder)}; ` +
        `${round(figures.contextSwitchesPerOrder ?? Number.NaN)} context switches per order)`,
      `            gozon ${ms(cpu.gozon)}, postgres ${ms(cpu.postgres)}, redis ${ms(cpu.redis)}, bench client ${ms(cpu.client)}`,
    );
  } else {
    lines.push("cpu         not measured (no /proc/stat on this system)");
  }
  if (reference) {
    lines.push(
      `reference   naive per-order SQL under pgbench: ${round(reference.ordersPerSecond)} orders/s, ${ms(figures.referenceCpuMsPerOrder)} CPU per order`,
      `            ratio to it: orders/s ${round(figures.ratioToReference ?? Number.NaN, 2)}×` +
        (figures.cpuRatioToReference !== undefined ? `, CPU per order ${round(figures.cpuRatioToReference, 2)}×` : ""),
    );
  }
  return lines;
}

/** The one line for machines (key order fixed; a scenario's fields come last, in an object named after it). */
export function jsonLine(options: BenchOptions, summary: RunSummary, usage?: CpuUsage, reference?: ReferenceResult, scenario: ScenarioResult = { kind: "plain" }): string {
  const figures = cpuFigures(summary, usage, reference);
  const cpu = figures.cpuMsPerOrder;
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
    ...(cpu && {
      cpuMsPerOrder: { machine: round(cpu.machine, 3), gozon: round(cpu.gozon, 3), postgres: round(cpu.postgres, 3), redis: round(cpu.redis, 3), client: round(cpu.client, 3) },
      machineBusyPercent: round(figures.machineBusyPercent ?? Number.NaN),
      kernelMsPerOrder: round(figures.kernelMsPerOrder ?? Number.NaN, 3),
      contextSwitchesPerOrder: round(figures.contextSwitchesPerOrder ?? Number.NaN),
    }),
    ...(reference && {
      referenceOrdersPerSecond: round(reference.ordersPerSecond),
      ratioToReference: round(figures.ratioToReference ?? Number.NaN, 3),
      referenceCpuMsPerOrder: round(figures.referenceCpuMsPerOrder ?? Number.NaN, 3),
      ...(figures.cpuRatioToReference !== undefined && { cpuRatioToReference: round(figures.cpuRatioToReference, 3) }),
    }),
    ...scenarioJson(summary, scenario),
  });
}
