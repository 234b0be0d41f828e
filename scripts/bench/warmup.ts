/**
 * `--warmup S`: before the measured run, the same load shape for S seconds on accounts of its own,
 * so that the system's cold start (JIT, first statements on each database connection, consumer
 * groups) is not measured. Nothing of it enters the figures; any error in it fails the run.
 */
import { randomUUID } from "node:crypto";
import type { BenchOptions } from "./args";
import { openAccount, TerminalTracker, watchUsers, type Watchers } from "./client";
import { orderAmount, sendOrders, waitForTerminals } from "./load";
import { summarizeRun, type RunSummary } from "./stats";

/** Warm-up accounts: min(--users, this). */
export const maxWarmupUsers = 10;
/** Closed loop: the orders each warm-up account is funded for, and so a cap on the orders sent. */
export const closedLoopOrdersPerUser = 1_000_000;

export interface WarmupPlan {
  users: number;
  /** Open loop: exactly R × S (at least 1). Closed loop: a cap; the S seconds end it first. */
  maxOrders: number;
  /** Per account: enough for every order it can be sent, so that each one is paid. */
  deposit: number;
}

export function planWarmup(options: BenchOptions): WarmupPlan {
  const users = Math.min(options.users, maxWarmupUsers);
  if (options.load.kind === "closed") return { users, maxOrders: users * closedLoopOrdersPerUser, deposit: closedLoopOrdersPerUser * orderAmount };
  // Order i goes to account i mod users: the first accounts get ceil(orders / users).
  const orders = warmupOrderCount(options.load.rate, options.warmupSeconds);
  return { users, maxOrders: orders, deposit: Math.ceil(orders / users) * orderAmount };
}

/** Open loop: the orders sent during the warm-up. */
export const warmupOrderCount = (rate: number, seconds: number) => Math.max(1, Math.round(rate * seconds));

/** What went wrong, one phrase per kind; empty when every warm-up order was accepted and paid. */
export function warmupProblems(summary: RunSummary, timeoutSeconds: number, dropped: readonly string[]): string[] {
  const problems: string[] = [];
  if (summary.sent === 0) problems.push("no order was sent");
  const rejected = Object.entries(summary.rejected);
  if (rejected.length > 0) {
    const count = rejected.reduce((total, [, n]) => total + n, 0);
    problems.push(`${count} of ${summary.sent} not accepted (${rejected.map(([kind, n]) => `${n} × ${kind}`).join(", ")})`);
  }
  if (summary.stuck > 0) problems.push(`${summary.stuck} of ${summary.accepted} accepted with no terminal status within ${timeoutSeconds} s`);
  if (summary.failedInsufficient > 0) problems.push(`${summary.failedInsufficient} failed for insufficient funds although the deposits cover every order`);
  for (const [reason, n] of Object.entries(summary.failedOther)) problems.push(`${n} failed, reason ${reason}`);
  if (dropped.length > 0) problems.push(`${dropped.length} WebSockets dropped (${dropped[0]})`);
  return problems;
}

/**
 * Runs the warm-up against the running system: opens the accounts and their WebSockets (handed to
 * `onSockets` so that an interrupt can close them), sends the load, waits up to --timeout for the
 * terminal statuses, closes the sockets. Throws when anything went wrong.
 */
export async function warmUp(
  urls: { ordersUrl: string; paymentsUrl: string },
  options: BenchOptions,
  progress: (line: string) => void,
  onSockets: (watchers: Watchers) => void,
): Promise<void> {
  const plan = planWarmup(options);
  const userIds = Array.from({ length: plan.users }, () => randomUUID());
  await Promise.all(userIds.map((userId) => openAccount(urls.paymentsUrl, userId, plan.deposit)));
  const tracker = new TerminalTracker();
  const watchers = await watchUsers(urls.ordersUrl, userIds, tracker);
  onSockets(watchers);
  try {
    const shape = options.load.kind === "open" ? `${plan.maxOrders} orders at ${options.load.rate}/s` : `concurrency ${options.load.concurrency}`;
    progress(`warm-up started: ${options.warmupSeconds} s, ${shape}, on ${plan.users} accounts of its own`);
    const counters = { sent: 0, answered: 0 };
    const ticker = setInterval(() => progress(`warm-up: sent ${counters.sent}, answered ${counters.answered}, terminal ${tracker.terminalCount}`), 5_000);
    const started = performance.now();
    let summary: RunSummary;
    try {
      const batch = { count: plan.maxOrders, stopAt: started + options.warmupSeconds * 1000, label: "bench warm-up order" };
      const { records } = await sendOrders(urls.ordersUrl, userIds, batch, options.load, tracker, counters);
      await waitForTerminals(records, tracker, options.timeoutSeconds * 1000);
      tracker.complete(records);
      // Past capacity (--overload) the warm-up is refused in part too, as expected.
      summary = summarizeRun(records, { refusalsExpected: options.scenario.kind === "overload" });
    } finally {
      clearInterval(ticker);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    progress(`warm-up ended after ${seconds} s: ${summary.sent} orders sent, ${summary.accepted} accepted, ${summary.accepted - summary.stuck} terminal (${summary.completed} paid)`);
    const problems = warmupProblems(summary, options.timeoutSeconds, watchers.dropped);
    if (problems.length > 0) throw new Error(`warm-up failed: ${problems.join("; ")}`);
  } finally {
    watchers.close();
  }
}
