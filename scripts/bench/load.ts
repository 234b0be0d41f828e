/** The workload: who orders what, and the loops that send it. */
import type { Load } from "./args";
import { placeOrder, type TerminalTracker } from "./client";
import type { OrderRecord } from "./stats";

/** Every order costs the same, so each account pays for exactly `affordable` of its orders. */
export const orderAmount = 10;
/** Share of each user's orders its deposit covers; the rest fail for insufficient funds. */
export const coveredShare = 0.9;

export interface UserPlan {
  userId: string;
  orders: number;
  /** Orders the deposit pays for: floor(90% of `orders`). */
  affordable: number;
  deposit: number;
}

/** Order i goes to user i mod U; each user can pay for 90% (rounded down) of its orders. */
export function planUsers(userIds: string[], orders: number): UserPlan[] {
  return userIds.map((userId, index) => {
    const count = Math.floor(orders / userIds.length) + (index < orders % userIds.length ? 1 : 0);
    const affordable = Math.floor(count * coveredShare);
    return { userId, orders: count, affordable, deposit: affordable * orderAmount };
  });
}

/** One user's orders as the run went: what its deposit should have paid for, and what was paid. */
export interface UserOutcome {
  plan: UserPlan;
  accepted: number;
  completed: number;
  /**
   * min(accepted, affordable): every accepted order is paid while the deposit lasts. With every
   * order accepted that is `affordable`; orders refused or lost before acceptance lower it.
   */
  expectedCompleted: number;
}

/** Joins the records (order i went to user i mod U, as `planUsers` planned) to each user's plan. */
export function userOutcomes(plans: readonly UserPlan[], records: readonly OrderRecord[]): UserOutcome[] {
  const outcomes = plans.map((plan) => ({ plan, accepted: 0, completed: 0, expectedCompleted: 0 }));
  records.forEach((record, index) => {
    const outcome = outcomes[index % outcomes.length]!;
    if (record.orderId !== undefined) outcome.accepted++;
    if (record.terminalStatus === "PaymentCompleted") outcome.completed++;
  });
  for (const outcome of outcomes) outcome.expectedCompleted = Math.min(outcome.accepted, outcome.plan.affordable);
  return outcomes;
}

export interface LoadResult {
  records: OrderRecord[];
  /** Open loop: the latest an order left after its scheduled time (the client falling behind). */
  maxSendLagMs: number;
}

/** Counters for a progress line while the load runs. */
export interface Progress {
  sent: number;
  answered: number;
  /** The most requests that were sent and not yet answered at one time (set when present). */
  maxInFlight?: number;
}

/** Which orders a call of `sendOrders` sends. */
export interface Batch {
  count: number;
  /** Closed loop: no order leaves after this time (performance.now()), even if fewer than `count` left. */
  stopAt?: number;
  /** Order descriptions read `${label} ${index}`. */
  label: string;
}

/** Sends the batch's orders with the given load and returns one record per order sent (in send order). */
export async function sendOrders(ordersUrl: string, userIds: string[], batch: Batch, load: Load, tracker: TerminalTracker, progress: Progress): Promise<LoadResult> {
  const send = async (index: number) => {
    progress.sent++;
    if (progress.maxInFlight !== undefined) progress.maxInFlight = Math.max(progress.maxInFlight, progress.sent - progress.answered);
    const order = { userId: userIds[index % userIds.length]!, amount: orderAmount, description: `${batch.label} ${index}` };
    const record = await placeOrder(ordersUrl, order, tracker);
    progress.answered++;
    return record;
  };
  return load.kind === "closed"
    ? closedLoop(batch.count, load.concurrency, batch.stopAt ?? Number.POSITIVE_INFINITY, send)
    : openLoop(batch.count, load.rate, send);
}

/** C workers, each sending its next order as soon as the previous one is answered, until `count` are sent or `stopAt` passes. */
async function closedLoop(count: number, concurrency: number, stopAt: number, send: (index: number) => Promise<OrderRecord>): Promise<LoadResult> {
  const records: OrderRecord[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count && performance.now() < stopAt) {
      const index = next++;
      records[index] = await send(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { records, maxSendLagMs: 0 };
}

/** Order i leaves at start + i/R, whether or not earlier ones were answered. */
async function openLoop(count: number, rate: number, send: (index: number) => Promise<OrderRecord>): Promise<LoadResult> {
  const start = performance.now();
  const due = (index: number) => start + (index * 1000) / rate;
  const pending: Promise<OrderRecord>[] = [];
  let maxSendLagMs = 0;
  while (pending.length < count) {
    const now = performance.now();
    while (pending.length < count && due(pending.length) <= now) {
      maxSendLagMs = Math.max(maxSendLagMs, now - due(pending.length));
      pending.push(send(pending.length));
    }
    // At least 1 ms: a shorter sleep returns at once, and the loop would spin on the clock (it
    // took most of a core at 1,500/s). Orders due within that millisecond leave together.
    if (pending.length < count) await Bun.sleep(Math.max(1, due(pending.length) - performance.now()));
  }
  return { records: await Promise.all(pending), maxSendLagMs };
}

/** Polls until every accepted order has a terminal status or the deadline passes; returns how many are still open. */
export async function waitForTerminals(records: OrderRecord[], tracker: TerminalTracker, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const open = () => records.filter((record) => record.orderId !== undefined && !tracker.has(record.orderId)).length;
  for (let remaining = open(); ; remaining = open()) {
    if (remaining === 0 || performance.now() > deadline) return remaining;
    await Bun.sleep(20);
  }
}
