import type { Kysely } from "kysely";
import { newEnvelope, refundProcessedTopic, type RefundRequested } from "../../../shared/contracts";
import { enqueue, type QueuedMessage } from "../../../shared/messaging/outbox";
import type { TraceOf } from "../../../shared/tracing/trace-headers";
import { paymentsSchema } from "../db/accounts.repository";
import type { PaymentsDatabase } from "../db/payments.tables";
import { refundOrders } from "../db/refunds.repository";
import { decideRefund } from "../domain/refund-decision";

/**
 * Answers a batch of refund requests inside the caller's transaction (the one that recorded the
 * messages in the inbox): one round trip refunds or voids each order, then one inserts the
 * refund-processed outbox rows, so the credits, their ledger rows, the requests and the answers
 * commit together or not at all. Returns the rows to publish once the transaction has committed.
 * With tracing on, each answer's row stores its request's trace context (`traceOf`).
 */
export async function answerRefundRequests(
  trx: Kysely<PaymentsDatabase>,
  requests: RefundRequested[],
  traceOf?: TraceOf<RefundRequested>,
): Promise<QueuedMessage[]> {
  const payloads = requests.map((request) => request.payload);
  const attempts = await refundOrders(trx, payloads);
  const answers = payloads.map((payload, index) => decideRefund(payload, attempts[index]!));
  return enqueue(
    trx,
    paymentsSchema,
    answers.map((answer, index) => ({
      topic: refundProcessedTopic,
      envelope: newEnvelope(refundProcessedTopic, answer.userId, answer),
      headers: traceOf?.(requests[index]!),
    })),
    // Published by the consumer right after the commit; the relay is the fallback.
    { notify: false },
  );
}
