import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import type { Subscription } from "../../shared/bus/bus";
import { orderCreatedEnvelope, orderCreatedTopic, paymentProcessedTopic } from "../../shared/contracts";
import { migrate } from "../../shared/db";
import { consumeOnce } from "../../shared/messaging/inbox";
import { OutboxRelay } from "../../shared/messaging/outbox-relay";
import { CommittedPublisher } from "../../shared/messaging/publish-committed";
import type { Module, ModulePorts } from "../../shared/module";
import { payOrders } from "./application/pay-orders";
import { paymentsSchema } from "./db/accounts.repository";
import { paymentsMigrations } from "./db/migrations/001-create-payments";
import type { PaymentsDatabase } from "./db/payments.tables";
import { accountsRoutes } from "./http/accounts.routes";

/** The consumer group of the Payments context on `order-created`. */
export const paymentsGroup = "payments";

/**
 * The Payments bounded context's only door: accounts and deposits over HTTP, and the consumer
 * that pays each order exactly once (inbox + atomic debit + outbox in one transaction).
 */
export function createPaymentsModule(ports: ModulePorts): Module {
  const db = ports.db.kysely.withSchema(paymentsSchema) as Kysely<PaymentsDatabase>;
  const logger = ports.logger.child({ module: "payments" });
  // Results are published by the consumer as soon as their batch commits; the relay publishes
  // what that missed (after a crash, or when the bus refused).
  const publisher = new CommittedPublisher({ db, bus: ports.bus, schema: paymentsSchema, logger });
  const relay = new OutboxRelay({ database: ports.db, db, schema: paymentsSchema, bus: ports.bus, logger, writerPublishedTopics: [paymentProcessedTopic] });
  ports.metrics.watchOutbox("payments", () => relay.state());
  let consumer: Subscription | undefined;
  const routes: OpenAPIHono = accountsRoutes(db, ports.auth);

  return {
    name: "payments",
    routes,
    async start() {
      await migrate(ports.db.kysely, { schema: paymentsSchema, migrations: paymentsMigrations });
      await relay.start();
      consumer = await consumeOnce({
        bus: ports.bus,
        db,
        inboxSchema: paymentsSchema,
        topic: orderCreatedTopic,
        group: paymentsGroup,
        schema: orderCreatedEnvelope,
        apply: async (trx, orders) => {
          const { messages } = await payOrders(trx as Kysely<PaymentsDatabase>, orders);
          return () => publisher.publish(messages);
        },
        observer: ports.metrics.consumerObserver(orderCreatedTopic, paymentsGroup),
      });
    },
    async stop() {
      await consumer?.close();
      await publisher.flush();
      await relay.stop();
    },
  };
}
