import { sql, type Kysely, type Migration } from "kysely";

/**
 * Cancelling: four more statuses. The status graph itself is in SQL too, `orders.may_move(from,
 * to)`, and `orders.advance_statuses` moves an order only along its edges; both are functions, in
 * `db/functions/may_move.sql` and `db/functions/advance_statuses.sql`, applied after the
 * migrations.
 */
export const cancelStatuses: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      alter table orders.orders drop constraint orders_status_check,
        add constraint orders_status_check check (status in (
          'Created', 'PaymentPending', 'PaymentCompleted', 'PaymentFailed',
          'CancelRequested', 'RefundPending', 'Cancelled', 'Refunded'))`.execute(db);
  },
};
