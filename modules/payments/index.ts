import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import {
  orderCreatedEnvelope,
  orderCreatedTopic,
  refundRequestedEnvelope,
  refundRequestedTopic,
} from "../../shared/contracts";
import { requestGate } from "../../shared/admission/request-gate";
import { idempotencyKeysRetention } from "../../shared/http/idempotency.tables";
import { inboxConsumer, MessagingEndpoint } from "../../shared/messaging/messaging-endpoint";
import type { Module, ModuleDefinition, ModulePorts } from "../../shared/module";
import { answerRefundRequests } from "./application/refund-orders";
import { paymentsSchema } from "./db/accounts.repository";
import { orderSubject } from "./db/dead-letter-subjects";
import { payOrdersEffects } from "./db/pay-orders.statement";
import { migratePayments } from "./db/migrate-payments";
import type { PaymentsDatabase } from "./db/payments.tables";
import { accountsRoutes } from "./http/accounts.routes";
import { paymentsSettings, type PaymentsSettings } from "./payments.settings";

/** The consumer group of the Payments context on `order-created` and `refund-requested`. */
export const paymentsGroup = "payments";

/**
 * The Payments bounded context's only door: accounts and deposits over HTTP, the consumer that
 * pays each order exactly once (inbox + atomic debit + outbox in one transaction), and the one
 * that answers refund requests: each cancelled order's debit credited back once, or the order
 * never debited (`db/functions/refund_orders.sql` says how).
 */
export const paymentsModule: ModuleDefinition<PaymentsSettings> = {
  name: "payments",
  settings: paymentsSettings,
  defaultPort: 8081,
  publicUrl: (settings) => settings.publicUrl,
  create: createPaymentsModule,
};

function createPaymentsModule(ports: ModulePorts): Module {
  const db = ports.database.kysely.withSchema(paymentsSchema) as Kysely<PaymentsDatabase>;
  const logger = ports.logger.child({ module: "payments" });
  // Results and refund answers are written for delivery at commit: the consumer publishes them as
  // soon as their batch commits; the relay publishes what that missed (a crash, the bus refused).
  const messaging = new MessagingEndpoint({
    ports: { ...ports, logger },
    module: "payments",
    schema: paymentsSchema,
    db,
    expireAlso: [idempotencyKeysRetention(ports.retention.idempotencyKeyMs)],
    consume: [
      inboxConsumer({
        topic: orderCreatedTopic,
        group: paymentsGroup,
        envelope: orderCreatedEnvelope,
        subject: orderSubject,
        // One statement per batch: inbox rows, debits, ledger rows and results commit together.
        applyInOneStatement: payOrdersEffects,
      }),
      inboxConsumer({
        topic: refundRequestedTopic,
        group: paymentsGroup,
        envelope: refundRequestedEnvelope,
        subject: orderSubject,
        applyInTransaction: (trx, requests, context) => answerRefundRequests(trx as Kysely<PaymentsDatabase>, requests, context),
      }),
    ],
  });
  const routes: OpenAPIHono = accountsRoutes(db, ports.auth, requestGate(ports, "payments"));

  return {
    name: "payments",
    routes,
    deadLetters: messaging.deadLetters,
    async start() {
      await migratePayments(ports.database.kysely);
      await messaging.start();
    },
    stop: () => messaging.stop(),
  };
}
