import type { Bus, Subscription } from "../../../shared/bus/bus";
import { parseEnvelope } from "../../../shared/messaging/inbox";
import type { Logger } from "../../../shared/logger";
import { tracingOff, type Tracing } from "../../../shared/tracing/tracing";
import { orderUpdatedEnvelope, orderUpdatesTopic } from "./order-updates";

/** The little the hub needs of a WebSocket connection. */
export interface LiveSocket {
  send(data: string): void;
}

/**
 * Pushes every order change to the WebSockets of the order's user. Changes arrive through a
 * broadcast subscription, so a browser connected to any orders instance sees every change,
 * whichever instance processed it. With tracing on, a push of a change that carries a trace
 * context is a span of that trace (`websocket push`, under the broadcast's consumer span).
 */
export class OrderUpdatesHub {
  readonly #sockets = new Map<string, Set<LiveSocket>>();
  #subscription: Subscription | undefined;

  constructor(private readonly bus: Bus, private readonly logger: Logger, private readonly tracing: Tracing = tracingOff) {}

  async start(): Promise<void> {
    const traced = this.tracing.enabled;
    this.#subscription = await this.bus.subscribeBroadcast(orderUpdatesTopic, async (message) => {
      const { payload: order } = parseEnvelope(orderUpdatedEnvelope, message);
      const sockets = this.#sockets.get(order.userId);
      if (!sockets) return;
      const data = JSON.stringify({ type: "order.updated", order });
      const push = () => {
        for (const socket of sockets) {
          try {
            socket.send(data);
          } catch (error) {
            this.logger.warn("websocket send failed", { userId: order.userId, error: String(error) });
          }
        }
      };
      if (traced) this.tracing.inSpan("websocket push", { "gozon.websocket.sockets": sockets.size, "gozon.order.status": order.status }, push);
      else push();
    });
  }

  async stop(): Promise<void> {
    await this.#subscription?.close();
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
