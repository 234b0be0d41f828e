import { sql, type Kysely, type Migration } from "kysely";

/**
 * Creates `payments.debit_orders(batch json)`: the atomic debit for a whole batch of orders in one
 * round trip. Its current text and reasoning are `db/functions/debit_orders.sql`, applied after
 * the migrations; this copy is the function as this migration created it. `batch` is a JSON array of `{order_id, user_id, amount}`. For each item, it
 * runs the conditional UPDATE (balance covers the amount, and the order has no debit yet) and,
 * when that debited, the ledger row; when it did not, it finds out why. One row per item comes
 * back, in the items' order: `order_id`, `outcome` ('debited', 'already_debited', 'no_account' or
 * 'insufficient_funds') and `balance` (the account's balance after the item; null without an
 * account).
 *
 * Items are processed sorted by (user_id, position): a user's orders are debited in the order they
 * came (the earliest ones are paid when the balance covers only some), and every batch locks
 * accounts in the same order, so two batches in two transactions cannot deadlock on accounts.
 * No overdraft under any concurrency: each UPDATE checks the balance on the locked row, and the
 * balance CHECK and the unique debit per order back it up. Each statement sees the ones before
 * it, so an order twice in one batch is debited once.
 *
 * `#variable_conflict use_column`: the OUT names `order_id` and `balance` are also column names,
 * and in the queries they mean the columns. Names are fully qualified (the function does not
 * depend on the caller's search_path). Runs on PostgreSQL and on PGlite.
 */
export const debitOrders: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      create function payments.debit_orders(batch json)
      returns table (order_id uuid, outcome text, balance bigint)
      language plpgsql
      as $function$
      #variable_conflict use_column
      declare
        item record;
        new_balance bigint;
        positions bigint[] := '{}';
        order_ids uuid[] := '{}';
        outcomes text[] := '{}';
        balances bigint[] := '{}';
        item_outcome text;
      begin
        for item in
          select b.order_id, b.user_id, b.amount, b.position
          from rows from (json_to_recordset(batch) as (order_id uuid, user_id uuid, amount bigint))
            with ordinality as b(order_id, user_id, amount, position)
          order by b.user_id, b.position
        loop
          update payments.accounts as a
          set balance = a.balance - item.amount, updated_at = now()
          where a.user_id = item.user_id
            and a.balance >= item.amount
            and not exists (select 1 from payments.ledger as l where l.order_id = item.order_id)
          returning a.balance into new_balance;
          if found then
            insert into payments.ledger (user_id, kind, amount, order_id, balance_after)
            values (item.user_id, 'debit', item.amount, item.order_id, new_balance);
            item_outcome := 'debited';
          else
            select a.balance into new_balance from payments.accounts as a where a.user_id = item.user_id;
            if not found then
              new_balance := null;
              item_outcome := 'no_account';
            elsif exists (select 1 from payments.ledger as l where l.order_id = item.order_id) then
              item_outcome := 'already_debited';
            else
              item_outcome := 'insufficient_funds';
            end if;
          end if;
          positions := array_append(positions, item.position);
          order_ids := array_append(order_ids, item.order_id);
          outcomes := array_append(outcomes, item_outcome);
          balances := array_append(balances, new_balance);
        end loop;
        return query
          select r.order_id, r.outcome, r.balance
          from unnest(positions, order_ids, outcomes, balances) as r(position, order_id, outcome, balance)
          order by r.position;
      end
      $function$`.execute(db);
  },
};
