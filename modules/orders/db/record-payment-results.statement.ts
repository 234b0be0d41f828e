import { sql } from "kysely";
import type { PaymentProcessed } from "../../../shared/contracts";
import { envelopeJson } from "../../../shared/messaging/envelope-sql";
import type { BatchEffects } from "../../../shared/messaging/inbox";
import { consumerCtes } from "../../../shared/messaging/statement-ctes";
import { insertOutboxRows, outboxDelivery } from "../../../shared/messaging/outbox-insert";
import type { OrderStatus } from "../domain/order-status";
import { orderUpdatesTopic } from "../live/order-updates";
import { orderViewJson } from "./order-view.sql";
import { ordersSchema } from "./orders.repository";

/**
 * Records a consumed batch of payment results as the effects of the consumer's one statement
 * (`consumerStatement` in shared/messaging/inbox.ts, which records the batch in the inbox as the
 * CTE `consumerCtes.fresh`): each order whose message is in it moves to PaymentCompleted or
 * PaymentFailed (with the reason) through `orders.advance_statuses` — only along an edge of the
 * status graph, so a late or repeated result, or one for a cancelled order, changes nothing — and
 * each order that moved gets its live update (the order as the API shows it) in the outbox, so
 * browsers hear of it even after a crash. One round trip; the same SQL text for every batch. One
 * result per order: the first in the batch wins. With tracing on, each live update's outbox row
 * stores its result's trace context (`traceOf`: the consumer span's), so the push to browsers is in
 * the order's trace.
 */
export const recordPaymentResultsEffects: BatchEffects<PaymentProcessed> = {
  batch: (results, traceOf) => {
    const changes = new Map<string, { message_id: string; id: string; status: OrderStatus; failure_reason: string | null; headers?: Record<string, string> }>();
    for (const result of results) {
      const { id, payload } = result;
      if (changes.has(payload.orderId.toLowerCase())) continue;
      const to: OrderStatus = payload.status === "completed" ? "PaymentCompleted" : "PaymentFailed";
      changes.set(payload.orderId.toLowerCase(), { message_id: id, id: payload.orderId, status: to, failure_reason: payload.reason ?? null, headers: traceOf?.(result) });
    }
    return JSON.stringify([...changes.values()]);
  },
  sql: (batch) => sql`
    changes as (
      select c.id, c.status, c.failure_reason, c.headers
      from json_to_recordset(${batch})
        as c(message_id uuid, id uuid, status text, failure_reason text, headers jsonb)
      where c.message_id in (select message_id from ${consumerCtes.fresh})
    ),
    moved as (
      select * from orders.advance_statuses((select coalesce(json_agg(changes), '[]'::json) from changes))
    ),
    updates as (
      select gen_random_uuid() as message_id, moved.*, changes.headers as trace_headers
      from moved join changes on changes.id = moved.id
    ),
    ${consumerCtes.queued} as (${insertOutboxRows(
      ordersSchema,
      {
        message_id: sql`u.message_id`,
        topic: sql`${orderUpdatesTopic}::text`,
        key: sql`u.user_id::text`,
        value: sql`${envelopeJson(orderUpdatesTopic, sql`u.message_id`, sql`u.user_id`, orderViewJson("u"))}::text`,
        headers: sql`u.trace_headers`,
        delivery: outboxDelivery("at-commit"),
      },
      sql`updates as u order by u.id`,
    )})`,
};
