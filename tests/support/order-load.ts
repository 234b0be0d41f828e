import { json } from "./walkthrough";

/** An order the API accepted (201). Amount in major units, as sent. */
export interface AcceptedOrder {
  id: string;
  userId: string;
  amount: number;
}

export interface LoadOptions {
  ordersUrl: string;
  /** How many orders to attempt, one attempt each. */
  count: number;
  /** The user and amount of the i-th order. */
  order(index: number): { userId: string; amount: number };
  /** Requests in flight at most. */
  concurrency: number;
  /** Attempts started per second at most (a steady stream, so crashes land mid-flow); unset = as fast as it goes. */
  ratePerSecond?: number;
}

/** Live progress of a load, readable while it runs. */
export interface LoadProgress {
  readonly accepted: AcceptedOrder[];
  /** Attempts that never reached a server (connection refused: the process was down). */
  refused: number;
  /** Attempts whose outcome is unknown (the connection broke after the request was sent). */
  broken: number;
  /** Answers other than 201, by status. */
  rejected: Record<number, number>;
  attempted: number;
}

/**
 * Sends `count` order attempts at a steady rate with bounded concurrency and tallies what came of
 * each, as a client would see it. Nothing is retried: a refused attempt is simply not an order.
 */
export function startLoad(options: LoadOptions): { progress: LoadProgress; done: Promise<LoadProgress> } {
  const progress: LoadProgress = { accepted: [], refused: 0, broken: 0, rejected: {}, attempted: 0 };
  const intervalMs = options.ratePerSecond ? 1_000 / options.ratePerSecond : 0;
  const done = (async () => {
    const inFlight = new Set<Promise<void>>();
    const startedAt = Date.now();
    for (let index = 0; index < options.count; index++) {
      // Pacing, not waiting for a condition: the i-th attempt starts no earlier than its slot.
      const slot = startedAt + index * intervalMs;
      if (slot > Date.now()) await Bun.sleep(slot - Date.now());
      if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      const attempt = send(options.ordersUrl, options.order(index), progress).finally(() => inFlight.delete(attempt));
      inFlight.add(attempt);
    }
    await Promise.all(inFlight);
    return progress;
  })();
  return { progress, done };
}

async function send(ordersUrl: string, order: { userId: string; amount: number }, progress: LoadProgress): Promise<void> {
  progress.attempted++;
  let response: Response;
  try {
    response = await fetch(`${ordersUrl}/api/orders`, json({ ...order, description: "guarantees load" }));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ECONNREFUSED" || code === "ConnectionRefused") progress.refused++;
    else progress.broken++;
    return;
  }
  try {
    if (response.status === 201) {
      const body = (await response.json()) as AcceptedOrder;
      progress.accepted.push({ id: body.id, userId: body.userId, amount: body.amount });
    } else {
      progress.rejected[response.status] = (progress.rejected[response.status] ?? 0) + 1;
      await response.body?.cancel();
    }
  } catch {
    progress.broken++;
  }
}
