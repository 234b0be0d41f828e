import { sql, type Kysely, type Migration } from "kysely";

/**
 * Cancelling: four more statuses, and the status graph itself in SQL: `orders.may_move(from, to)`
 * lists every allowed move, and `orders.advance_statuses` moves an order only along such an
 * edge, whatever statuses the caller names. The functions' current text and reasoning are
 * `db/functions/may_move.sql` and `db/functions/advance_statuses.sql`, applied after the
 * migrations; the copies below are the functions as this migration created them.
 */
export const cancelStatuses: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      alter table orders.orders drop constraint orders_status_check,
        add constraint orders_status_check check (status in (
          'Created', 'PaymentPending', 'PaymentCompleted', 'PaymentFailed',
          'CancelRequested', 'RefundPending', 'Cancelled', 'Refunded'))`.execute(db);
    await sql`
      create function orders.may_move(from_status text, to_status text) returns boolean
      language sql immutable parallel safe
      as $$
        select (from_status, to_status) in (
          ('Created', 'PaymentPending'), ('Created', 'PaymentCompleted'), ('Created', 'PaymentFailed'),
          ('Created', 'CancelRequested'),
          ('PaymentPending', 'PaymentCompleted'), ('PaymentPending', 'PaymentFailed'), ('PaymentPending', 'CancelRequested'),
          ('PaymentCompleted', 'RefundPending'),
          ('CancelRequested', 'Cancelled'), ('CancelRequested', 'Refunded'),
          ('RefundPending', 'Refunded'))
      $$`.execute(db);
    await sql`
      create or replace function orders.advance_statuses(changes json) returns setof orders.orders
      language plpgsql as $$
      declare
        change record;
      begin
        for change in
          select * from json_to_recordset(changes) as c(id uuid, status text, failure_reason text)
          order by c.id
        loop
          return query
            update orders.orders o
            set status = change.status, failure_reason = change.failure_reason, updated_at = now()
            where o.id = change.id and orders.may_move(o.status, change.status)
            returning o.*;
        end loop;
      end
      $$`.execute(db);
  },
};
