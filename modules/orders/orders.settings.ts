import { z } from "zod";
import type { QueueBounds } from "../../shared/admission/bounded-queue";
import { durationSetting } from "../../shared/duration";
import { count, queueWait } from "../../shared/settings";

/** Caps on the live WebSockets of one process; one more is closed as soon as it opens, saying why. */
export interface WebSocketLimits {
  /** Open sockets per user (each tab or device of the status page is one). */
  perUser: number;
  /** Open sockets in all. */
  total: number;
}

/** WEBSOCKET_MAX_PER_USER and WEBSOCKET_MAX_TOTAL when unset. */
export const webSocketLimitDefaults: Readonly<WebSocketLimits> = { perUser: 10, total: 10_000 };

/** ORDER_INTAKE_MAX_QUEUE and ORDER_INTAKE_MAX_WAIT when unset (README: "Under overload"). */
export const orderIntakeBoundsDefaults: Readonly<QueueBounds> = { maxQueue: 1_000, maxWaitMs: 500 };

/** What the Orders module reads from the environment. */
export interface OrdersSettings {
  /** The intake's group-commit window in ms (ORDER_INTAKE_WINDOW); undefined: its default (25 ms). */
  intakeWindowMs: number | undefined;
  /** Orders waiting for the intake's group commit (ORDER_INTAKE_MAX_QUEUE, ORDER_INTAKE_MAX_WAIT). */
  intakeBounds: QueueBounds;
  /** Caps on the live WebSockets (WEBSOCKET_MAX_PER_USER, WEBSOCKET_MAX_TOTAL). */
  webSocketLimits: WebSocketLimits;
}

export const ordersSettings = z
  .object({
    // The group-commit window: under load an order may wait this long for the orders placed with it.
    ORDER_INTAKE_WINDOW: durationSetting.refine((ms) => ms <= 1_000, "expected at most 1s (an order placed under load may wait this long)").optional(),
    // Past either bound of the intake's queue, an order is refused at once with 503 and Retry-After.
    ORDER_INTAKE_MAX_QUEUE: count.default(orderIntakeBoundsDefaults.maxQueue),
    ORDER_INTAKE_MAX_WAIT: queueWait.default(orderIntakeBoundsDefaults.maxWaitMs),
    WEBSOCKET_MAX_PER_USER: count.default(webSocketLimitDefaults.perUser),
    WEBSOCKET_MAX_TOTAL: count.default(webSocketLimitDefaults.total),
  })
  .superRefine((env, context) => {
    if (env.WEBSOCKET_MAX_PER_USER > env.WEBSOCKET_MAX_TOTAL) {
      context.addIssue({ code: "custom", path: ["WEBSOCKET_MAX_PER_USER"], message: `expected at most WEBSOCKET_MAX_TOTAL (${env.WEBSOCKET_MAX_TOTAL})` });
    }
  })
  .transform(
    (env): OrdersSettings => ({
      intakeWindowMs: env.ORDER_INTAKE_WINDOW,
      intakeBounds: { maxQueue: env.ORDER_INTAKE_MAX_QUEUE, maxWaitMs: env.ORDER_INTAKE_MAX_WAIT },
      webSocketLimits: { perUser: env.WEBSOCKET_MAX_PER_USER, total: env.WEBSOCKET_MAX_TOTAL },
    }),
  );
