import { sql, type Kysely, type Migration } from "kysely";

/**
 * A declined payment is as final as a debit: each decline is kept, at most one per order
 * (`payments.declined_orders`), and `payments.debit_orders` debits an order only if it has
 * neither a debit nor a decline; for a declined one it answers the first decision again. Why,
 * with the rest of the function's reasoning, is written above its current text in
 * `db/functions/debit_orders.sql`, applied after the migrations; the copy below is the function
 * as this migration left it.
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
    await sql`
      create or replace function payments.debit_orders(batch json)
      returns table (order_id uuid, outcome text, balance bigint)
      language plpgsql
      as $function$
      #variable_conflict use_column
      declare
        item record;
        locked_user uuid;
        new_balance bigint;
        has_account boolean;
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
          -- The lock first, alone: the UPDATE below starts after it is granted, so
          -- its NOT EXISTS sees a refund request committed while we waited.
          if locked_user is distinct from item.user_id then
            perform 1 from payments.accounts as a where a.user_id = item.user_id for update;
            locked_user := item.user_id;
          end if;
          update payments.accounts as a
          set balance = a.balance - item.amount, updated_at = now()
          where a.user_id = item.user_id
            and a.balance >= item.amount
            and not exists (select 1 from payments.ledger as l where l.order_id = item.order_id)
            -- Cancelled before its payment: never charged.
            and not exists (select 1 from payments.refund_requests as r where r.order_id = item.order_id)
            -- Declined before: as final as a debit.
            and not exists (select 1 from payments.declined_orders as d where d.order_id = item.order_id)
          returning a.balance into new_balance;
          if found then
            insert into payments.ledger (user_id, kind, amount, order_id, balance_after)
            values (item.user_id, 'debit', item.amount, item.order_id, new_balance);
            item_outcome := 'debited';
          else
            select a.balance into new_balance from payments.accounts as a where a.user_id = item.user_id;
            has_account := found;
            if not has_account then
              new_balance := null;
            end if;
            if has_account and exists (select 1 from payments.refund_requests as r where r.order_id = item.order_id) then
              item_outcome := 'cancelled';
            elsif exists (select 1 from payments.ledger as l where l.order_id = item.order_id) then
              item_outcome := 'already_debited';
            else
              select d.reason into item_outcome from payments.declined_orders as d where d.order_id = item.order_id;
              if not found then
                item_outcome := case when has_account then 'insufficient_funds' else 'no_account' end;
                insert into payments.declined_orders (order_id, user_id, reason) values (item.order_id, item.user_id, item_outcome);
              end if;
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
