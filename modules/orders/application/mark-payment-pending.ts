import { sql, type RawBuilder } from "kysely";
import { orderCreatedTopic } from "../../../shared/contracts";
import { claimCtes } from "../../../shared/messaging/statement-ctes";
import { orderViewJson, type OrderView } from "../db/order-view.sql";

/**
 * The relay's claim effects for Orders: in the statement that claims order-created rows for
 * publishing (in the relay's transaction, so undone if publishing fails), their orders move
 * Created → PaymentPending through `orders.advance_statuses` (only along the status graph: an
 * order already paid, failed or cancelled stays as it is). The CTE `claimCtes.effect` answers the
 * moved orders as the API shows them, in id order.
 */
export const paymentPendingEffects: RawBuilder<unknown> = sql`
  pending as (
    select * from orders.advance_statuses((
      select coalesce(json_agg(json_build_object(
        'id', (c.value::json->'payload'->>'orderId')::uuid, 'status', 'PaymentPending', 'failure_reason', null
      ) order by c.id), '[]'::json)
      from ${claimCtes.claimed} as c where c.topic = ${orderCreatedTopic}::text
    ))
  ),
  ${claimCtes.effect} as (
    select coalesce(json_agg(${orderViewJson("pending")} order by pending.id), '[]'::json) as value from pending
  )`;

/**
 * What browsers are shown once the round has committed, in order: each moved order as Created
 * (as it was placed), then as PaymentPending.
 */
export function paymentPendingChanges(value: unknown): OrderView[] {
  const moved = (typeof value === "string" ? JSON.parse(value) : value) as OrderView[] | null;
  return (moved ?? []).flatMap((view) => {
    const { failureReason: _none, ...placed } = view;
    return [{ ...placed, status: "Created" as const, updatedAt: view.createdAt }, view];
  });
}
