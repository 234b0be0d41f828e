/** Cross-checks after a run that cost a few requests: they catch what throughput figures hide. */
import { fetchBalance, fetchOrderStatus } from "./client";
import { orderAmount, type UserPlan } from "./load";
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
  const completedBy = new Map<string, number>();
  records.forEach((record, index) => {
    if (record.terminalStatus !== "PaymentCompleted") return;
    const userId = plans[index % plans.length]!.userId;
    completedBy.set(userId, (completedBy.get(userId) ?? 0) + 1);
  });
  const mismatches: string[] = [];
  await Promise.all(
    plans.map(async ({ userId, deposit }) => {
      const balance = await fetchBalance(paymentsUrl, userId);
      const expected = deposit - (completedBy.get(userId) ?? 0) * orderAmount;
      if (balance !== expected) mismatches.push(`            user ${userId}: balance ${balance}, expected ${expected}`);
    }),
  );
  return [`checks      balances: ${plans.length - mismatches.length} of ${plans.length} equal deposit − completed orders`, ...mismatches.slice(0, 5)];
}

/** What the first stuck orders say when asked directly: still pending, or terminal but never pushed. */
async function stuckStatuses({ ordersUrl, records }: CheckInput): Promise<string> {
  const stuck = records.filter((record) => record.orderId !== undefined && record.terminalAt === undefined).slice(0, 10);
  const statuses = await Promise.all(stuck.map((record) => fetchOrderStatus(ordersUrl, record.orderId!)));
  return `            stuck orders, status by GET now (first ${stuck.length}): ${statuses.join(", ")}`;
}
