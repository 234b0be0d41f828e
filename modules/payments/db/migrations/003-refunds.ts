import { sql, type Kysely, type Migration } from "kysely";

/**
 * Refunds: the ledger's `refund` kind (unique per order, like the debit) and one `refund_requests`
 * row per order with the answer it got. The functions that use them (`account_key`,
 * `refund_orders`, `debit_orders`) are in `db/functions/`, applied after the migrations, with why
 * together they give each cancelled order its money back exactly once, or never take it.
 */
export const refunds: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      alter table payments.ledger
        drop constraint ledger_kind_check,
        add constraint ledger_kind_check check (kind in ('deposit', 'debit', 'refund')),
        drop constraint ledger_debit_has_order,
        add constraint ledger_order_rows_have_order check ((kind in ('debit', 'refund')) = (order_id is not null))`.execute(db);
    // At most one debit and one refund per order (deposits have no order).
    await sql`drop index payments.ledger_one_debit_per_order`.execute(db);
    await sql`create unique index ledger_one_per_order_and_kind on payments.ledger (order_id, kind)`.execute(db);
    await sql`
      create table payments.refund_requests (
        order_id uuid primary key,
        user_id uuid not null,
        status text not null check (status in ('refunded', 'cancelled')),
        created_at timestamptz not null default now()
      )`.execute(db);
  },
};
