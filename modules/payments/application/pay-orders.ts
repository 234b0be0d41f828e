import type { Kysely } from "kysely";
import { newEnvelope, paymentProcessedTopic, type OrderCreated, type PaymentProcessedPayload } from "../../../shared/contracts";
import { enqueue } from "../../../shared/messaging/outbox";
import { debitForOrder, explainNoDebit, paymentsSchema } from "../db/accounts.repository";
import type { PaymentsDatabase } from "../db/payments.tables";
import { decidePayment } from "../domain/payment-decision";

/**
 * Pays each order in turn, inside the caller's transaction (the one that recorded the messages in
 * the inbox): the debit, its ledger row and the payment-processed outbox row commit together.
 */
export async function payOrders(trx: Kysely<PaymentsDatabase>, orders: OrderCreated[]): Promise<PaymentProcessedPayload[]> {
  const results: PaymentProcessedPayload[] = [];
  for (const { payload } of orders) {
    const balance = await debitForOrder(trx, payload);
    const attempt = balance !== undefined ? { debited: true as const, balance } : { debited: false as const, ...(await explainNoDebit(trx, payload)) };
    results.push(decidePayment(payload, attempt));
  }
  await enqueue(
    trx,
    paymentsSchema,
    results.map((result) => ({ topic: paymentProcessedTopic, envelope: newEnvelope(paymentProcessedTopic, result.userId, result) })),
  );
  return results;
}
