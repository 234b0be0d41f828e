import { OpenAPIHono } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import { paymentProcessedEnvelope, paymentProcessedTopic } from "../../shared/contracts";
import { migrate } from "../../shared/db";
import { idempotencyKeysRetention } from "../../shared/http/idempotency.tables";
import { MessagingEndpoint } from "../../shared/messaging/messaging-endpoint";
import type { Module, ModulePorts } from "../../shared/module";
import { markPaymentPending, recordPaymentResults } from "./application/record-payment-results";
import { ordersSchema } from "./db/orders.repository";
import type { OrdersDatabase } from "./db/orders.tables";
import { ordersMigrations } from "./db/migrations/001-create-orders";
import { ordersRoutes } from "./http/orders.routes";
import { mountLiveRoutes } from "./live/live.routes";
import { OrderUpdatesHub } from "./live/order-updates-hub";
import { orderUpdatesTopic, publishOrderUpdates } from "./live/order-updates";
import { OrderIntake } from "./application/order-intake";

/** The consumer group of the Orders context on `payment-processed`. */
export const ordersGroup = "orders";

/**
 * The Orders bounded context's only door: the orders API, the relay that publishes order-created
 * (and marks orders PaymentPending), the consumer of payment results, and the live status page.
 */
export function createOrdersModule(ports: ModulePorts): Module {
  const db = ports.db.kysely.withSchema(ordersSchema) as Kysely<OrdersDatabase>;
  const logger = ports.logger.child({ module: "orders" });
  const hub = new OrderUpdatesHub(ports.bus, logger);
  const messaging = new MessagingEndpoint({
    ports: { ...ports, logger },
    module: "orders",
    schema: ordersSchema,
    db,
    // Final statuses are published by the payment-results consumer as soon as they commit; the
    // relay publishes order-created (marking orders PaymentPending) and whatever that missed.
    publishedAtCommit: [orderUpdatesTopic],
    onPublished: async (trx, rows) => {
      const changes = await markPaymentPending(trx as unknown as Kysely<OrdersDatabase>, rows);
      return () => publishOrderUpdates(ports.bus, logger, changes);
    },
    expireAlso: [idempotencyKeysRetention(ports.retention.idempotencyKeyMs)],
    consume: {
      topic: paymentProcessedTopic,
      group: ordersGroup,
      envelope: paymentProcessedEnvelope,
      apply: (trx, results) => recordPaymentResults(trx as Kysely<OrdersDatabase>, results),
    },
  });
  const intake = new OrderIntake(db);
  ports.metrics.watchSockets(() => hub.connections);
  const routes = new OpenAPIHono();
  routes.route("/", ordersRoutes(db, intake, ports.auth));
  mountLiveRoutes(routes, hub, ports.auth);

  return {
    name: "orders",
    routes,
    deadLetters: messaging.deadLetters,
    async start() {
      await migrate(ports.db.kysely, { schema: ordersSchema, migrations: ordersMigrations });
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
