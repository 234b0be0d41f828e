import type { Bus, Subscription } from "../../../shared/bus/bus";
import { parseEnvelope } from "../../../shared/messaging/inbox";
import type { Logger } from "../../../shared/logger";
import { orderUpdatedEnvelope, orderUpdatesTopic } from "./order-updates";

/** The little the hub needs of a WebSocket connection. */
export interface LiveSocket {
  send(data: string): void;
}

/**
 * Pushes every order change to the WebSockets of the order's user. Changes arrive through a
 * broadcast subscription, so a browser connected to any orders instance sees every change,
 * whichever instance processed it.
 */
export class OrderUpdatesHub {
  readonly #sockets = new Map<string, Set<LiveSocket>>();
  #subscription: Subscription | undefined;

  constructor(private readonly bus: Bus, private readonly logger: Logger) {}

  async start(): Promise<void> {
    this.#subscription = await this.bus.subscribeBroadcast(orderUpdatesTopic, async (message) => {
      const { payload: order } = parseEnvelope(orderUpdatedEnvelope, message);
      const sockets = this.#sockets.get(order.userId);
      if (!sockets) return;
      const data = JSON.stringify({ type: "order.updated", order });
      for (const socket of sockets) {
        try {
          socket.send(data);
        } catch (error) {
          this.logger.warn("websocket send failed", { userId: order.userId, error: String(error) });
        }
      }
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
