import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import { orderCreatedEnvelope, orderCreatedTopic, paymentProcessedTopic } from "../../shared/contracts";
import { migrate } from "../../shared/db";
import { idempotencyKeysRetention } from "../../shared/http/idempotency.tables";
import { MessagingEndpoint } from "../../shared/messaging/messaging-endpoint";
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
  const messaging = new MessagingEndpoint({
    ports: { ...ports, logger },
    module: "payments",
    schema: paymentsSchema,
    db,
    publishedAtCommit: [paymentProcessedTopic],
    expireAlso: [idempotencyKeysRetention(ports.retention.idempotencyKeyMs)],
    consume: {
      topic: orderCreatedTopic,
      group: paymentsGroup,
      envelope: orderCreatedEnvelope,
      apply: async (trx, orders) => (await payOrders(trx as Kysely<PaymentsDatabase>, orders)).messages,
    },
  });
  const routes: OpenAPIHono = accountsRoutes(db, ports.auth);

  return {
    name: "payments",
    routes,
    deadLetters: messaging.deadLetters,
    async start() {
      await migrate(ports.db.kysely, { schema: paymentsSchema, migrations: paymentsMigrations });
      await messaging.start();
    },
    stop: () => messaging.stop(),
  };
}
