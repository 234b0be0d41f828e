import type { Kysely } from "kysely";
import { newEnvelope, paymentProcessedTopic, type OrderCreated, type PaymentProcessedPayload } from "../../../shared/contracts";
import { enqueue, type QueuedMessage } from "../../../shared/messaging/outbox";
import { debitOrders, paymentsSchema } from "../db/accounts.repository";
import type { PaymentsDatabase } from "../db/payments.tables";
import { decidePayment } from "../domain/payment-decision";

export interface PaidBatch {
  results: PaymentProcessedPayload[];
  messages: QueuedMessage[];
}

/**
 * Pays a batch of orders inside the caller's transaction (the one that recorded the messages in
 * the inbox): one round trip debits them all (a user's orders in message order), then one inserts
 * the payment-processed outbox rows, so the debits, their ledger rows and the results commit
 * together or not at all. Results come in the batch's order, with the outbox rows to publish once
 * the transaction has committed.
 */
export async function payOrders(trx: Kysely<PaymentsDatabase>, orders: OrderCreated[]): Promise<PaidBatch> {
  const payloads = orders.map((order) => order.payload);
  const attempts = await debitOrders(trx, payloads);
  // An order cancelled before its payment gets no result (see decidePayment).
  const results = payloads.map((payload, index) => decidePayment(payload, attempts[index]!)).filter((result) => result !== undefined);
  const messages = await enqueue(
    trx,
    paymentsSchema,
    results.map((result) => ({ topic: paymentProcessedTopic, envelope: newEnvelope(paymentProcessedTopic, result.userId, result) })),
    // Published by the consumer right after the commit (see the module); the relay is the fallback.
    { notify: false },
  );
  return { results, messages };
}
