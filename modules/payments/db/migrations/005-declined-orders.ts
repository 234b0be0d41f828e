import { sql, type Kysely, type Migration } from "kysely";

/**
 * A declined payment is as final as a debit: each decline is kept, at most one per order
 * (`payments.declined_orders`), and `payments.debit_orders` (`db/functions/debit_orders.sql`,
 * applied after the migrations) debits an order only if it has neither a debit nor a decline.
 */
export const declinedOrders: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("declined_orders")
      .addColumn("order_id", "uuid", (column) => column.primaryKey())
      .addColumn("user_id", "uuid", (column) => column.notNull())
      .addColumn("reason", "text", (column) => column.notNull().check(sql`reason in ('no_account', 'insufficient_funds')`))
      .addColumn("declined_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
      .execute();
  },
};
