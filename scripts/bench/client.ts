/** A small client of the running system: accounts on the payments API, orders and their WebSockets on the orders API. */
import { HttpPool } from "./http-pool";
import { terminalStatuses, type OrderRecord, type TerminalStatus } from "./stats";

interface OrderView {
  id: string;
  status: string;
  failureReason?: string;
}

/**
 * The most connections orders go out on, each kept open and reused. Far more than a server that
 * answers in time needs (three times this machine's capacity answered within a second is about
 * 6,000), so the client does not do the server's admission for it: a server that queues what it
 * cannot serve gets that many requests waiting. Below the process's open-file limit (20,000 here).
 * An order that finds them all busy waits in the client (see HttpPool).
 */
export const orderConnectionLimit = 16_384;
const orderPools = new Map<string, HttpPool>();
const orderPool = (origin: string) => orderPools.get(origin) ?? orderPools.set(origin, new HttpPool(origin, orderConnectionLimit)).get(origin)!;

/** Connections opened for orders so far (every one kept while it stays up). */
export const orderConnectionsOpened = () => [...orderPools.values()].reduce((total, pool) => total + pool.opened, 0);

/** Closes the order connections (at the end of a run). */
export function closeOrderConnections(): void {
  for (const pool of orderPools.values()) pool.close();
  orderPools.clear();
}
const post = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Creates the account and deposits `deposit` (skipped when 0). Throws on any unexpected answer. */
export async function openAccount(paymentsUrl: string, userId: string, deposit: number): Promise<void> {
  const created = await fetch(`${paymentsUrl}/api/accounts`, post({ userId }));
  if (created.status !== 201) throw new Error(`POST /api/accounts: ${created.status} ${await created.text()}`);
  if (deposit <= 0) return;
  const deposited = await fetch(`${paymentsUrl}/api/accounts/${userId}/deposit`, post({ amount: deposit }));
  if (deposited.status !== 200) throw new Error(`POST /api/accounts/${userId}/deposit: ${deposited.status} ${await deposited.text()}`);
}

export async function fetchBalance(paymentsUrl: string, userId: string): Promise<number | undefined> {
  const response = await fetch(`${paymentsUrl}/api/accounts/${userId}`);
  return response.ok ? ((await response.json()) as { balance: number }).balance : undefined;
}

export async function fetchOrderStatus(ordersUrl: string, orderId: string): Promise<string> {
  const response = await fetch(`${ordersUrl}/api/orders/${orderId}`);
  return response.ok ? ((await response.json()) as OrderView).status : `HTTP ${response.status}`;
}

/** POSTs one order; never throws: a refusal or a network error is in the record. */
export async function placeOrder(ordersUrl: string, order: { userId: string; amount: number; description: string }, tracker: TerminalTracker): Promise<OrderRecord> {
  const sentAt = performance.now();
  try {
    const url = new URL(`${ordersUrl}/api/orders`);
    const response = await orderPool(url.origin).post(url.pathname, JSON.stringify(order));
    if (response.status !== 201) {
      const retryAfter = response.headers["retry-after"];
      return { sentAt, respondedAt: performance.now(), httpStatus: response.status, error: `HTTP ${response.status}`, ...(retryAfter !== undefined && { retryAfter }) };
    }
    const view = JSON.parse(response.body) as OrderView;
    const respondedAt = performance.now();
    tracker.observe(view, respondedAt);
    return { sentAt, respondedAt, httpStatus: 201, orderId: view.id };
  } catch (error) {
    return { sentAt, respondedAt: performance.now(), httpStatus: 0, error: `network: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * The first terminal status seen for each order id, whenever it arrives: an update may come in on
 * the WebSocket before the POST that created the order has its answer, so records are joined to
 * it by id afterwards (`complete`).
 */
export class TerminalTracker {
  readonly #terminals = new Map<string, { at: number; status: TerminalStatus; reason?: string }>();
  /** Updates received on the WebSockets, by status (repeats included). */
  readonly updates: Record<string, number> = {};

  /** Records an update from a WebSocket. */
  received(order: OrderView, at: number): void {
    this.updates[order.status] = (this.updates[order.status] ?? 0) + 1;
    this.observe(order, at);
  }

  /** Records what an order is known to be at `at` (from a WebSocket update or the POST's answer). */
  observe(order: OrderView, at: number): void {
    if (!terminalStatuses.includes(order.status as TerminalStatus) || this.#terminals.has(order.id)) return;
    this.#terminals.set(order.id, { at, status: order.status as TerminalStatus, ...(order.failureReason && { reason: order.failureReason }) });
  }

  has(orderId: string): boolean {
    return this.#terminals.has(orderId);
  }

  get terminalCount(): number {
    return this.#terminals.size;
  }

  /** Fills in each accepted record's terminal status, if one arrived. */
  complete(records: OrderRecord[]): void {
    for (const record of records) {
      const terminal = record.orderId === undefined ? undefined : this.#terminals.get(record.orderId);
      if (!terminal) continue;
      record.terminalAt = terminal.at;
      record.terminalStatus = terminal.status;
      if (terminal.reason) record.failureReason = terminal.reason;
    }
  }
}

export interface Watchers {
  /** Sockets the server closed (or that failed) before the bench closed them. */
  readonly dropped: string[];
  close(): void;
}

/** Opens one WebSocket per user and feeds every `order.updated` to the tracker; resolves once all are open. */
export async function watchUsers(ordersUrl: string, userIds: string[], tracker: TerminalTracker, timeoutMs = 15_000): Promise<Watchers> {
  const dropped: string[] = [];
  let closing = false;
  const sockets = userIds.map((userId) => {
    const socket = new WebSocket(`${ordersUrl.replace(/^http/, "ws")}/ws?userId=${userId}`);
    socket.onmessage = (event) => {
      const at = performance.now();
      const message = JSON.parse(String(event.data)) as { type?: string; order?: OrderView };
      if (message.type !== "order.updated" || !message.order) return;
      tracker.received(message.order, at);
    };
    const opened = new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onclose = (event) => {
        if (!closing) dropped.push(`user ${userId}: closed with ${event.code}${event.reason ? ` ${event.reason}` : ""}`);
        reject(new Error(`the WebSocket of user ${userId} closed before it opened (${event.code})`));
      };
    });
    return { socket, opened };
  });
  const close = () => {
    closing = true;
    for (const { socket } of sockets) socket.close();
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`WebSockets not all open within ${timeoutMs} ms`)), timeoutMs)));
  try {
    await Promise.race([Promise.all(sockets.map(({ opened }) => opened)), timeout]);
  } catch (error) {
    close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return { dropped, close };
}
