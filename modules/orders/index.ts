import { OpenAPIHono } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import type { Subscription } from "../../shared/bus/bus";
import { paymentProcessedEnvelope, paymentProcessedTopic } from "../../shared/contracts";
import { migrate } from "../../shared/db";
import { consumeOnce } from "../../shared/messaging/inbox";
import { OutboxRelay } from "../../shared/messaging/outbox-relay";
import { CommittedPublisher } from "../../shared/messaging/publish-committed";
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
  const publisher = new CommittedPublisher({ db, bus: ports.bus, schema: ordersSchema, logger });
  const relay = new OutboxRelay({
    database: ports.db,
    db,
    schema: ordersSchema,
    bus: ports.bus,
    logger,
    // Final statuses are published by the payment-results consumer as soon as they commit; the
    // relay publishes what that missed (after a crash, or when the bus refused).
    writerPublishedTopics: [orderUpdatesTopic],
    onPublished: async (trx, rows) => {
      const changes = await markPaymentPending(trx as unknown as Kysely<OrdersDatabase>, rows);
      return () => publishOrderUpdates(ports.bus, logger, changes);
    },
  });
  const intake = new OrderIntake(db);
  let consumer: Subscription | undefined;
  ports.metrics.watchOutbox("orders", () => relay.state());
  ports.metrics.watchSockets(() => hub.connections);
  const routes = new OpenAPIHono();
  routes.route("/", ordersRoutes(db, intake, ports.auth));
  mountLiveRoutes(routes, hub, ports.auth);

  return {
    name: "orders",
    routes,
    async start() {
      await migrate(ports.db.kysely, { schema: ordersSchema, migrations: ordersMigrations });
      await hub.start();
      await relay.start();
      consumer = await consumeOnce({
        bus: ports.bus,
        db,
        inboxSchema: ordersSchema,
        topic: paymentProcessedTopic,
        group: ordersGroup,
        schema: paymentProcessedEnvelope,
        apply: async (trx, results) => {
          const messages = await recordPaymentResults(trx as Kysely<OrdersDatabase>, results);
          return () => publisher.publish(messages);
        },
        observer: ports.metrics.consumerObserver(paymentProcessedTopic, ordersGroup),
      });
    },
    async stop() {
      await intake.drain();
      await consumer?.close();
      await publisher.flush();
      await relay.stop();
      await hub.stop();
    },
  };
}
