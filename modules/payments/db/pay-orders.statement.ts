import { sql, type RawBuilder } from "kysely";
import { paymentProcessedTopic, type OrderCreated } from "../../../shared/contracts";
import { envelopeJson } from "../../../shared/messaging/envelope-sql";
import type { BatchEffects } from "../../../shared/messaging/inbox";
import { consumerCtes } from "../../../shared/messaging/statement-ctes";
import { insertOutboxRows, outboxDelivery } from "../../../shared/messaging/outbox-insert";
import { paymentsSchema } from "./accounts.repository";
import { debitOutcomes, paymentDecisions, type PaymentDecision } from "../domain/payment-decision";

/**
 * Pays a consumed batch of orders as the effects of the consumer's one statement
 * (`consumerStatement` in shared/messaging/inbox.ts, which records the batch in the inbox as the
 * CTE `consumerCtes.fresh`): the orders whose messages are in it go through `payments.debit_orders`
 * (db/functions/debit_orders.sql: the conditional debit and its ledger row per order, a user's
 * orders in batch order, accounts locked in user_id order), and each gets its payment-processed
 * message in the outbox, decided by `paymentDecisions`, in batch order (none for an order cancelled
 * before its payment: its refund answer says so). The inbox rows, the debits, the ledger rows and
 * the results commit together or not at all, in one round trip. The batch travels as one JSON
 * parameter and the decision table is written into the SQL text, so the text (built and compiled
 * once, and its prepared statement) is the same for every batch. With tracing on, each result's
 * outbox row stores its order's trace context (`traceOf`: the consumer span's), so the trace goes
 * on.
 */
export const payOrdersEffects: BatchEffects<OrderCreated> = {
  batch: (orders, traceOf) =>
    JSON.stringify(
      orders.map((order) => ({
        message_id: order.id,
        order_id: order.payload.orderId,
        user_id: order.payload.userId,
        amount: order.payload.amount,
        headers: traceOf?.(order),
      })),
    ),
  sql: (batch) => sql`
    batch as (
      select b.*, row_number() over (order by b.position) as n
      from rows from (json_to_recordset(${batch}) as (message_id uuid, order_id uuid, user_id uuid, amount bigint, headers jsonb))
        with ordinality as b(message_id, order_id, user_id, amount, headers, position)
      where b.message_id in (select message_id from ${consumerCtes.fresh})
    ),
    attempts as (
      -- debit_orders answers one row per item, in the items' order.
      select a.* from payments.debit_orders((
        select coalesce(json_agg(json_build_object('order_id', b.order_id, 'user_id', b.user_id, 'amount', b.amount) order by b.n), '[]'::json)
        from batch as b
      )) with ordinality as a(order_id, outcome, balance, n)
    ),
    results as (
      select gen_random_uuid() as message_id, b.n, b.order_id, b.user_id, a.outcome, a.balance, b.headers
      from batch as b join attempts as a on a.n = b.n
      where a.outcome not in (${sql.join(silentOutcomes.map((outcome) => sql.lit(outcome)))})
    ),
    ${consumerCtes.queued} as (${insertOutboxRows(
      paymentsSchema,
      {
        message_id: sql`r.message_id`,
        topic: sql`${paymentProcessedTopic}::text`,
        key: sql`r.user_id::text`,
        value: sql`${envelopeJson(
          paymentProcessedTopic,
          sql`r.message_id`,
          sql`r.user_id`,
          sql`json_strip_nulls(json_build_object(
            'orderId', r.order_id, 'userId', r.user_id,
            'status', ${decide((decision) => text(decision.status))},
            'reason', ${decide((decision) => text(decision.reason))},
            'balance', ${decide((decision) => (decision.withBalance ? sql`r.balance::text` : sql`null::text`))}::bigint))`,
        )}::text`,
        headers: sql`r.headers`,
        delivery: outboxDelivery("at-commit"),
      },
      sql`results as r order by r.n`,
    )})`,
};

/**
 * A CASE over `r.outcome` giving, for each outcome, the SQL that `pick` makes of its decision. An
 * outcome the table does not know fails the statement (a cast error naming it) rather than report
 * something made up.
 */
function decide(pick: (decision: PaymentDecision) => RawBuilder<unknown>): RawBuilder<unknown> {
  const branches = reportedOutcomes.map((outcome) => sql`when ${sql.lit(outcome)} then ${pick(paymentDecisions[outcome]!)}`);
  return sql`case r.outcome ${sql.join(branches, sql` `)} else ('no decision for the debit outcome ' || r.outcome)::int::text end`;
}

/** Outcomes that get a payment result, and those that get none (the decision table's nulls). */
const reportedOutcomes = debitOutcomes.filter((outcome) => paymentDecisions[outcome] !== null);
const silentOutcomes = debitOutcomes.filter((outcome) => paymentDecisions[outcome] === null);

const text = (value: string | undefined) => (value === undefined ? sql`null::text` : sql`${sql.lit(value)}::text`);
