/** The bench's arithmetic: percentiles and the reduction of per-order records to a summary. Pure. */

export interface Distribution {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..100): the smallest value with at least p% of values at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Undefined for no values. */
export function distribution(values: readonly number[]): Distribution | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    min: sorted[0]!,
    mean: sum / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1)!,
  };
}

export const terminalStatuses = ["PaymentCompleted", "PaymentFailed"] as const;
export type TerminalStatus = (typeof terminalStatuses)[number];

/** What happened to one order the bench sent; times in ms on one monotonic clock. */
export interface OrderRecord {
  /** Just before the POST. */
  sentAt: number;
  /** When the HTTP answer (or the network error) arrived. */
  respondedAt: number;
  /** 0 when the request failed without an HTTP answer. */
  httpStatus: number;
  /** Set when the order was not accepted: "HTTP 500", "network: …". */
  error?: string;
  /** The Retry-After header of an answer other than 201, when it had one. */
  retryAfter?: string;
  orderId?: string;
  /** When its terminal status arrived on the WebSocket (possibly before `respondedAt`). */
  terminalAt?: number;
  terminalStatus?: TerminalStatus;
  failureReason?: string;
}

export interface RunSummary {
  sent: number;
  accepted: number;
  completed: number;
  /** PaymentFailed for insufficient funds: expected, part of the workload. */
  failedInsufficient: number;
  /** PaymentFailed for any other reason, by reason. */
  failedOther: Record<string, number>;
  /** Sent but not accepted, by kind ("HTTP 500", "network: …"); refusals too, unless they were expected. */
  rejected: Record<string, number>;
  /** Refusals (`isRefusal`), expected or not. */
  refused: number;
  /** Accepted but no terminal status within the timeout. */
  stuck: number;
  /** Rejected + stuck + failed for a reason other than insufficient funds. */
  errors: number;
  /** Accepted orders ÷ (last acceptance − first send). */
  acceptedPerSecond: number;
  /** Orders that reached a terminal status ÷ (last terminal status − first send). */
  ordersPerSecond: number;
  /** First send → last terminal status, ms (0 when none arrived). */
  spanMs: number;
  /** Create → terminal (POST sent → status on the WebSocket), over orders that reached one. */
  endToEnd: Distribution | undefined;
  /** HTTP latency of the accepted POSTs. */
  http: Distribution | undefined;
  /** HTTP latency of the refusals. */
  refusedHttp: Distribution | undefined;
  /** First send → last send, ms: the window the load was offered over. */
  sendWindowMs: number;
  /** Accepted orders ÷ the send window. */
  acceptedPerSecondOfWindow: number;
  /** Refusals ÷ the send window. */
  refusedPerSecondOfWindow: number;
}

/**
 * A refusal: the server said it is too busy right now and nothing was done (503 with a
 * Retry-After of whole seconds). Any other answer that is not 201, a 503 without a usable
 * Retry-After, or a request that got no answer at all, is not one.
 */
export function isRefusal(record: OrderRecord): boolean {
  return record.orderId === undefined && record.httpStatus === 503 && /^\d+$/.test(record.retryAfter?.trim() ?? "");
}

/** How a refusal reads among the rejected kinds when refusals are not expected. */
export const refusalKind = "HTTP 503 with Retry-After (refused: overloaded)";

/** `refusalsExpected` (--overload): refusals are counted apart and are not errors. */
export function summarizeRun(records: readonly OrderRecord[], { refusalsExpected = false } = {}): RunSummary {
  const accepted = records.filter((record) => record.orderId !== undefined);
  const terminal = accepted.filter((record) => record.terminalAt !== undefined);
  const refusals = records.filter(isRefusal);
  const notAccepted = records.filter((record) => record.orderId === undefined && !(refusalsExpected && isRefusal(record)));
  const rejected = tally(notAccepted.map((record) => (isRefusal(record) ? refusalKind : (record.error ?? `HTTP ${record.httpStatus}`))));
  const failed = terminal.filter((record) => record.terminalStatus === "PaymentFailed");
  const failedOther = tally(failed.filter((record) => record.failureReason !== "insufficient_funds").map((record) => record.failureReason ?? "(no reason)"));
  const firstSend = extreme(records.map((record) => record.sentAt), Math.min);
  const rate = (count: number, until: number) => (count > 0 && until > firstSend ? (count * 1000) / (until - firstSend) : 0);
  const lastTerminal = extreme(terminal.map((record) => record.terminalAt!), Math.max);
  const stuck = accepted.length - terminal.length;
  const otherFailures = sum(Object.values(failedOther));
  const sendWindowMs = records.length > 0 ? extreme(records.map((record) => record.sentAt), Math.max) - firstSend : 0;
  const perSecondOfWindow = (count: number) => (sendWindowMs > 0 ? (count * 1000) / sendWindowMs : 0);
  return {
    sent: records.length,
    accepted: accepted.length,
    completed: terminal.filter((record) => record.terminalStatus === "PaymentCompleted").length,
    failedInsufficient: failed.length - otherFailures,
    failedOther,
    rejected,
    refused: refusals.length,
    stuck,
    errors: sum(Object.values(rejected)) + stuck + otherFailures,
    acceptedPerSecond: rate(accepted.length, extreme(accepted.map((record) => record.respondedAt), Math.max)),
    ordersPerSecond: rate(terminal.length, lastTerminal),
    spanMs: terminal.length > 0 ? lastTerminal - firstSend : 0,
    endToEnd: distribution(terminal.map((record) => record.terminalAt! - record.sentAt)),
    http: distribution(accepted.map((record) => record.respondedAt - record.sentAt)),
    refusedHttp: distribution(refusals.map((record) => record.respondedAt - record.sentAt)),
    sendWindowMs,
    acceptedPerSecondOfWindow: perSecondOfWindow(accepted.length),
    refusedPerSecondOfWindow: perSecondOfWindow(refusals.length),
  };
}

/**
 * The p99 answer time of the accepted orders sent in each minute from `start` (index 0: the first
 * minute); NaN for a minute in which none was accepted. The last minute may be a partial one.
 */
export function acceptedP99ByMinute(records: readonly OrderRecord[], start: number): number[] {
  const byMinute: number[][] = [];
  for (const record of records) {
    if (record.orderId === undefined) continue;
    const minute = Math.max(0, Math.floor((record.sentAt - start) / 60_000));
    (byMinute[minute] ??= []).push(record.respondedAt - record.sentAt);
  }
  return Array.from(byMinute, (values) => distribution(values ?? [])?.p99 ?? Number.NaN);
}

function tally(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** Math.min/max over any number of values (spreading 10^5+ arguments can overflow the stack). */
const extreme = (values: number[], pick: (a: number, b: number) => number) => values.reduce((a, b) => pick(a, b), values[0] ?? Number.NaN);
