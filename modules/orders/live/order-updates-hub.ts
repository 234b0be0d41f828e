import type { Bus, Subscription } from "../../../shared/bus/bus";
import { parseEnvelope } from "../../../shared/messaging/inbox";
import type { Logger } from "../../../shared/logger";
import { tracingOff, type Tracing } from "../../../shared/tracing/tracing";
import { webSocketLimitDefaults, type WebSocketLimits } from "../orders.settings";
import { changesOf, orderUpdatesEnvelope, orderUpdatesTopic } from "./order-updates";

/** The little the hub needs of a WebSocket connection. */
export interface LiveSocket {
  /** Sends one message; false when the connection has too much waiting to be sent and dropped it. */
  send(data: string): boolean;
  /** Runs `sends` with the socket corked, so what they send goes out in one write (Bun's `cork`). */
  cork?(sends: () => void): void;
  /** Closes the connection; the client sees the code and the reason (at most 123 bytes). */
  close(code: number, reason: string): void;
}

/**
 * Why the server closes a live socket: the close code, as a client sees it. The page reconnects
 * after each (and, once reconnected, lists the orders again, so nothing missed stays missed).
 */
export const liveCloseCodes = {
  /** The token it was opened with expired (like HTTP 401): reconnect with a fresh one. */
  tokenExpired: 4401,
  /** The user has as many live sockets on this server as allowed (like HTTP 429). */
  tooManyForUser: 4429,
  /** Try Again Later (RFC 6455 registry): this server has as many live sockets as allowed. */
  serverFull: 1013,
  /** Try Again Later: the client did not read its updates as fast as they came (its buffer filled up). */
  tooSlow: 1013,
} as const;

/**
 * Pushes every order change to the WebSockets of the order's user. Changes arrive through a
 * broadcast subscription, so a browser connected to any orders instance sees every change,
 * whichever instance processed it. With tracing on, a push of a change that carries a trace
 * context is a span of that trace (`websocket push`, under the broadcast's consumer span).
 */
export class OrderUpdatesHub {
  readonly #sockets = new Map<string, Set<LiveSocket>>();
  /** What each socket is to be sent at the end of this turn of the event loop, in order. */
  readonly #pending = new Map<LiveSocket, string[]>();
  /** The user of each registered socket. */
  readonly #owners = new Map<LiveSocket, string>();
  #count = 0;
  #flushing = false;
  #subscription: Subscription | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly tracing: Tracing = tracingOff,
    private readonly limits: WebSocketLimits = webSocketLimitDefaults,
  ) {}

  async start(): Promise<void> {
    const traced = this.tracing.enabled;
    this.#subscription = await this.bus.subscribeBroadcast(orderUpdatesTopic, async (message) => {
      // The key is the order's user: a change for a user with no socket here is not even parsed.
      if (!this.#sockets.has(message.key.toLowerCase())) return;
      const { payload } = parseEnvelope(orderUpdatesEnvelope, message);
      for (const order of changesOf(payload)) {
        const sockets = this.#sockets.get(order.userId);
        if (!sockets) continue;
        const data = JSON.stringify({ type: "order.updated", order });
        const push = () => {
          for (const socket of sockets) this.#queue(socket, data);
        };
        if (traced) this.tracing.inSpan("websocket push", { "gozon.websocket.sockets": sockets.size, "gozon.order.status": order.status }, push);
        else push();
      }
    });
  }

  async stop(): Promise<void> {
    await this.#subscription?.close();
    this.#flush();
  }

  /**
   * Sends at the end of this turn of the event loop: the changes of one broadcast batch (an order
   * as Created and as PaymentPending, a user's several orders) reach each socket in one write.
   */
  #queue(socket: LiveSocket, data: string): void {
    const queued = this.#pending.get(socket);
    if (queued) queued.push(data);
    else this.#pending.set(socket, [data]);
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushing = false;
    const batches = [...this.#pending];
    this.#pending.clear();
    for (const [socket, messages] of batches) {
      let kept = true;
      const sendAll = () => {
        for (const data of messages) if (!(kept = socket.send(data))) return;
      };
      try {
        if (socket.cork) socket.cork(sendAll);
        else sendAll();
      } catch (error) {
        this.logger.warn("websocket send failed", { error: String(error) });
      }
      // A dropped update would leave the page showing a stale status: close it, so it reconnects and lists again.
      if (!kept) {
        this.#remove(socket);
        this.logger.warn("websocket closed: the client does not keep up with its updates");
        socket.close(liveCloseCodes.tooSlow, "too many updates waiting to be sent: reconnect to catch up");
      }
    }
  }

  /**
   * Registers a socket for a user's changes; returns the function that removes it. A socket over
   * the caps (per user, in all) is closed at once with the reason instead, and never registered.
   */
  add(userId: string, socket: LiveSocket): () => void {
    const sockets = this.#sockets.get(userId) ?? new Set();
    if (this.#count >= this.limits.total) {
      socket.close(liveCloseCodes.serverFull, `this server has its maximum of ${this.limits.total} live connections: try again later`);
      return () => {};
    }
    if (sockets.size >= this.limits.perUser) {
      socket.close(liveCloseCodes.tooManyForUser, `at most ${this.limits.perUser} live connections per user: close another tab or window`);
      return () => {};
    }
    sockets.add(socket);
    this.#sockets.set(userId, sockets);
    this.#owners.set(socket, userId);
    this.#count++;
    return () => this.#remove(socket);
  }

  #remove(socket: LiveSocket): void {
    const userId = this.#owners.get(socket);
    if (userId === undefined) return;
    this.#owners.delete(socket);
    this.#pending.delete(socket);
    this.#count--;
    const sockets = this.#sockets.get(userId)!;
    sockets.delete(socket);
    if (sockets.size === 0) this.#sockets.delete(userId);
  }

  /** Open connections, for metrics. */
  get connections(): number {
    return this.#count;
  }
}
