import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import {
  orderCreatedEnvelope,
  orderCreatedTopic,
  paymentProcessedTopic,
  refundProcessedTopic,
  refundRequestedEnvelope,
  refundRequestedTopic,
} from "../../shared/contracts";
import { requestGate } from "../../shared/admission/request-gate";
import { migrate } from "../../shared/db";
import { idempotencyKeysRetention } from "../../shared/http/idempotency.tables";
import { inboxConsumer, MessagingEndpoint } from "../../shared/messaging/messaging-endpoint";
import type { Module, ModuleDefinition, ModulePorts } from "../../shared/module";
import { answerRefundRequests } from "./application/refund-orders";
import { paymentsSchema } from "./db/accounts.repository";
import { orderSubject } from "./db/dead-letter-subjects";
import { payOrdersEffects } from "./db/pay-orders.statement";
import { paymentsMigrations } from "./db/migrations/001-create-payments";
import type { PaymentsDatabase } from "./db/payments.tables";
import { accountsRoutes } from "./http/accounts.routes";
import { paymentsSettings, type PaymentsSettings } from "./payments.settings";

/** The consumer group of the Payments context on `order-created` and `refund-requested`. */
export const paymentsGroup = "payments";

/**
 * The Payments bounded context's only door: accounts and deposits over HTTP, the consumer that
 * pays each order exactly once (inbox + atomic debit + outbox in one transaction), and the one
 * that answers refund requests: each cancelled order's debit credited back once, or the order
 * never debited (migration 003-refunds).
 */
export const paymentsModule: ModuleDefinition<PaymentsSettings> = {
  name: "payments",
  settings: paymentsSettings,
  defaultPort: 8081,
  publicUrl: (settings) => settings.publicUrl,
  create: createPaymentsModule,
};

function createPaymentsModule(ports: ModulePorts): Module {
  const db = ports.db.kysely.withSchema(paymentsSchema) as Kysely<PaymentsDatabase>;
  const logger = ports.logger.child({ module: "payments" });
  // Results are published by the consumer as soon as their batch commits; the relay publishes
  // what that missed (after a crash, or when the bus refused).
  const messaging = new MessagingEndpoint({
    ports: { ...ports, logger },
    module: "payments",
    schema: paymentsSchema,
    db,
    expireAlso: [idempotencyKeysRetention(ports.retention.idempotencyKeyMs)],
    publishedAtCommit: [paymentProcessedTopic, refundProcessedTopic],
    consume: [
      inboxConsumer({
        topic: orderCreatedTopic,
        group: paymentsGroup,
        envelope: orderCreatedEnvelope,
        subject: orderSubject,
        // One statement per batch: inbox rows, debits, ledger rows and results commit together.
        effects: payOrdersEffects,
      }),
      inboxConsumer({
        topic: refundRequestedTopic,
        group: paymentsGroup,
        envelope: refundRequestedEnvelope,
        subject: orderSubject,
        apply: (trx, requests, traceOf) => answerRefundRequests(trx as Kysely<PaymentsDatabase>, requests, traceOf),
      }),
    ],
  });
  const routes: OpenAPIHono = accountsRoutes(db, ports.auth, requestGate(ports, "payments"));

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
