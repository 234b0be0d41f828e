import { OpenAPIHono } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import {
  paymentProcessedEnvelope,
  paymentProcessedTopic,
  refundProcessedEnvelope,
  refundProcessedTopic,
} from "../../shared/contracts";
import { requestGate } from "../../shared/admission/request-gate";
import { idempotencyKeysRetention } from "../../shared/http/idempotency.tables";
import { inboxConsumer, MessagingEndpoint } from "../../shared/messaging/messaging-endpoint";
import type { Module, ModuleDefinition, ModulePorts } from "../../shared/module";
import { paymentPendingChanges, paymentPendingEffects } from "./application/mark-payment-pending";
import { recordRefundResults } from "./application/record-refund-results";
import { orderSubject } from "./db/dead-letter-subjects";
import { ordersSchema } from "./db/orders.repository";
import type { OrdersDatabase } from "./db/orders.tables";
import { migrateOrders } from "./db/migrate-orders";
import { recordPaymentResultsEffects } from "./db/record-payment-results.statement";
import { ordersRoutes } from "./http/orders.routes";
import { mountLiveRoutes } from "./live/live.routes";
import { OrderUpdatesHub } from "./live/order-updates-hub";
import { publishOrderUpdates } from "./live/order-updates";
import { OrderIntake } from "./application/order-intake";
import { ordersSettings, type OrdersSettings } from "./orders.settings";

/** The consumer group of the Orders context on `payment-processed` and `refund-processed`. */
export const ordersGroup = "orders";

/**
 * The Orders bounded context's only door: the orders API, the relay that publishes order-created
 * (and marks orders PaymentPending), the consumers of payment results and of refund results, and
 * the live status page.
 */
export const ordersModule: ModuleDefinition<OrdersSettings> = {
  name: "orders",
  settings: ordersSettings,
  create: createOrdersModule,
};

function createOrdersModule(ports: ModulePorts, settings: OrdersSettings): Module {
  const db = ports.database.kysely.withSchema(ordersSchema) as Kysely<OrdersDatabase>;
  const logger = ports.logger.child({ module: "orders" });
  const hub = new OrderUpdatesHub(ports.bus, logger, ports.tracing, settings.webSocketLimits);
  const messaging = new MessagingEndpoint({
    ports: { ...ports, logger },
    module: "orders",
    schema: ordersSchema,
    db,
    // Status changes and refund requests are written for delivery at commit (the consumers, the
    // cancel route); the relay publishes order-created (marking orders PaymentPending) and
    // whatever the writers missed.
    claimEffects: {
      ctes: paymentPendingEffects,
      afterCommit: (moved) => publishOrderUpdates(ports.bus, logger, paymentPendingChanges(moved)),
    },
    expireAlso: [idempotencyKeysRetention(ports.retention.idempotencyKeyMs)],
    consume: [
      inboxConsumer({
        topic: paymentProcessedTopic,
        group: ordersGroup,
        envelope: paymentProcessedEnvelope,
        subject: orderSubject,
        // One statement per batch: inbox rows, status changes and their live updates commit together.
        applyInOneStatement: recordPaymentResultsEffects,
      }),
      inboxConsumer({
        topic: refundProcessedTopic,
        group: ordersGroup,
        envelope: refundProcessedEnvelope,
        subject: orderSubject,
        applyInTransaction: (trx, results, context) => recordRefundResults(trx as Kysely<OrdersDatabase>, results, context),
      }),
    ],
  });
  const intake = new OrderIntake(db, {
    relay: messaging.relay,
    intervalMs: settings.intakeWindowMs,
    admission: ports.admission,
    bounds: settings.intakeBounds,
  });
  ports.metrics.watchSockets(() => hub.connections);
  const routes = new OpenAPIHono();
  routes.route("/", ordersRoutes(db, { intake, gate: requestGate(ports, "orders") }, ports.auth, messaging.outbox, ports.tracing));
  mountLiveRoutes(routes, hub, ports.auth);

  return {
    name: "orders",
    routes,
    deadLetters: messaging.deadLetters,
    async start() {
      await migrateOrders(ports.database.kysely);
      await hub.start();
      await messaging.start();
    },
    async stop() {
      await intake.drain();
      await messaging.stop();
      await hub.stop();
    },
  };
}
