/** Cross-checks after a run that cost a few requests: they catch what throughput figures hide. */
import { fetchBalance, fetchOrderStatus } from "./client";
import { orderAmount, userOutcomes, type UserOutcome, type UserPlan } from "./load";
import type { OrderRecord, RunSummary } from "./stats";

export interface CheckInput {
  ordersUrl: string;
  paymentsUrl: string;
  plans: UserPlan[];
  /** In send order: order i went to user i mod U (planUsers). */
  records: OrderRecord[];
  summary: RunSummary;
  /** WebSocket updates by status, as of the end of the wait. */
  updates: Record<string, number>;
  /** Sockets the server closed during the run. */
  dropped: string[];
}

/** Lines for the summary: balances against completed orders (no overdraft, no lost debit), stuck orders, updates seen. */
export async function crossChecks(input: CheckInput): Promise<string[]> {
  const { summary } = input;
  const lines = summary.stuck > 0
    ? [`checks      balances not checked: ${summary.stuck} orders have no terminal status`, await stuckStatuses(input)]
    : await balanceLines(input);
  const counts = Object.entries(input.updates).map(([status, count]) => `${status} ${count}`);
  lines.push(`            WebSocket updates for ${summary.accepted} accepted orders: ${counts.join(", ") || "none"}`);
  for (const dropped of input.dropped) lines.push(`            WebSocket dropped: ${dropped}`);
  return lines;
}

async function balanceLines({ paymentsUrl, plans, records }: CheckInput): Promise<string[]> {
  const outcomes = userOutcomes(plans, records);
  const balances = new Map(await Promise.all(plans.map(async ({ userId }) => [userId, await fetchBalance(paymentsUrl, userId)] as const)));
  const problems = balanceProblems(outcomes, balances);
  const wrong = new Set(problems.map(({ userId }) => userId)).size;
  return [
    `checks      balances: ${plans.length - wrong} of ${plans.length} users equal deposit − completed orders, with completed = min(accepted, affordable)`,
    ...problems.slice(0, 5).map(({ userId, problem }) => `            user ${userId}: ${problem}`),
  ];
}

/**
 * Each user's balance must be its deposit less its completed orders (no overdraft, no lost or
 * double debit), and its completed orders min(accepted, affordable) (every accepted order paid
 * while the deposit lasts, whatever was refused). Pure: `balances` were read after the run.
 */
export function balanceProblems(outcomes: readonly UserOutcome[], balances: ReadonlyMap<string, number | undefined>): { userId: string; problem: string }[] {
  const problems: { userId: string; problem: string }[] = [];
  for (const { plan: { userId, deposit }, completed, expectedCompleted } of outcomes) {
    const balance = balances.get(userId);
    const expected = deposit - completed * orderAmount;
    if (balance !== expected) problems.push({ userId, problem: `balance ${balance}, expected ${expected}` });
    if (completed !== expectedCompleted) problems.push({ userId, problem: `${completed} orders paid, expected ${expectedCompleted}` });
  }
  return problems;
}

/** What the first stuck orders say when asked directly: still pending, or terminal but never pushed. */
async function stuckStatuses({ ordersUrl, records }: CheckInput): Promise<string> {
  const stuck = records.filter((record) => record.orderId !== undefined && record.terminalAt === undefined).slice(0, 10);
  const statuses = await Promise.all(stuck.map((record) => fetchOrderStatus(ordersUrl, record.orderId!)));
  return `            stuck orders, status by GET now (first ${stuck.length}): ${statuses.join(", ")}`;
}
