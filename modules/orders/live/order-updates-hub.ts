import type { Bus, Subscription } from "../../../shared/bus/bus";
import { parseEnvelope } from "../../../shared/messaging/inbox";
import type { Logger } from "../../../shared/logger";
import { tracingOff, type Tracing } from "../../../shared/tracing/tracing";
import { changesOf, orderUpdatesEnvelope, orderUpdatesTopic } from "./order-updates";

/** The little the hub needs of a WebSocket connection. */
export interface LiveSocket {
  send(data: string): void;
  /** Runs `sends` with the socket corked, so what they send goes out in one write (Bun's `cork`). */
  cork?(sends: () => void): void;
}

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
  #flushing = false;
  #subscription: Subscription | undefined;

  constructor(private readonly bus: Bus, private readonly logger: Logger, private readonly tracing: Tracing = tracingOff) {}

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
      const sendAll = () => {
        for (const data of messages) socket.send(data);
      };
      try {
        if (socket.cork) socket.cork(sendAll);
        else sendAll();
      } catch (error) {
        this.logger.warn("websocket send failed", { error: String(error) });
      }
    }
  }

  /** Registers a socket for a user's changes; returns the function that removes it. */
  add(userId: string, socket: LiveSocket): () => void {
    const sockets = this.#sockets.get(userId) ?? new Set();
    sockets.add(socket);
    this.#sockets.set(userId, sockets);
    return () => {
      sockets.delete(socket);
      if (sockets.size === 0) this.#sockets.delete(userId);
    };
  }

  /** Open connections, for metrics. */
  get connections(): number {
    let count = 0;
    for (const sockets of this.#sockets.values()) count += sockets.size;
    return count;
  }
}
