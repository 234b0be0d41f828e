import type { Kysely } from "kysely";
import { newEnvelope, refundProcessedTopic, type RefundRequested } from "../../../shared/contracts";
import type { ApplyContext } from "../../../shared/messaging/inbox";
import type { AtCommit } from "../../../shared/messaging/outbox";
import type { PaymentsDatabase } from "../db/payments.tables";
import { refundOrders } from "../db/refunds.repository";
import { decideRefund } from "../domain/refund-decision";

/**
 * Answers a batch of refund requests inside the caller's transaction (the one that recorded the
 * messages in the inbox): one round trip refunds or voids each order, then one inserts the
 * refund-processed outbox rows, so the credits, their ledger rows, the requests and the answers
 * commit together or not at all. The answers are for delivery at commit: returns their handle.
 * With tracing on, each answer's row stores its request's trace context (`traceOf`).
 */
export async function answerRefundRequests(
  trx: Kysely<PaymentsDatabase>,
  requests: RefundRequested[],
  { outbox, traceOf }: ApplyContext<RefundRequested>,
): Promise<AtCommit> {
  const payloads = requests.map((request) => request.payload);
  const attempts = await refundOrders(trx, payloads);
  const answers = payloads.map((payload, index) => decideRefund(payload, attempts[index]!));
  return outbox.atCommit(
    trx,
    answers.map((answer, index) => ({
      topic: refundProcessedTopic,
      envelope: newEnvelope(refundProcessedTopic, answer.userId, answer),
      headers: traceOf?.(requests[index]!),
    })),
  );
}
