import { sql, type Kysely, type Migration } from "kysely";

/**
 * Refunds: the ledger's `refund` kind (unique per order, like the debit), one `refund_requests`
 * row per order with the answer it got, `account_key` (the advisory lock key of a user's account),
 * `refund_orders`, and `debit_orders` replaced to lock each account first and to void the debit of
 * an order with a refund request. Why these together give each cancelled order its money back
 * exactly once, or never take it, is written above the functions' current text in
 * `db/functions/refund_orders.sql` and `db/functions/debit_orders.sql`, applied after the
 * migrations; the copies below are the functions as this migration created them.
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
    // The advisory lock key of a user's account (refunds and account opening take it).
    await sql`
      create function payments.account_key(user_id uuid) returns bigint
      language sql immutable parallel safe
      as $$ select hashtextextended('gozon.payments.account:' || user_id::text, 0) $$`.execute(db);
    await replaceDebitOrders.execute(db);
    await createRefundOrders.execute(db);
  },
};

/** `debit_orders` locking each user's account first and voiding a refunded order's debit. */
const replaceDebitOrders = sql`
  create or replace function payments.debit_orders(batch json)
  returns table (order_id uuid, outcome text, balance bigint)
  language plpgsql
  as $function$
  #variable_conflict use_column
  declare
    item record;
    locked_user uuid;
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
      -- The lock first, alone: the UPDATE below starts after it is granted, so its NOT EXISTS
      -- sees a refund request committed while we waited. Were the lock taken by the UPDATE
      -- itself, a refund committed during the wait would stay invisible and the order be debited.
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
        elsif exists (select 1 from payments.refund_requests as r where r.order_id = item.order_id) then
          item_outcome := 'cancelled';
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
  $function$`;

/** `refund_orders`: each refund request answered once and for all. */
const createRefundOrders = sql`
  create function payments.refund_orders(batch json)
  returns table (order_id uuid, status text, amount bigint, balance bigint)
  language plpgsql
  as $function$
  #variable_conflict use_column
  declare
    item record;
    locked_user uuid;
    debited bigint;
    item_status text;
    item_amount bigint;
    item_balance bigint;
    positions bigint[] := '{}';
    order_ids uuid[] := '{}';
    statuses text[] := '{}';
    amounts bigint[] := '{}';
    balances bigint[] := '{}';
  begin
    for item in
      select b.order_id, b.user_id, b.position
      from rows from (json_to_recordset(batch) as (order_id uuid, user_id uuid))
        with ordinality as b(order_id, user_id, position)
      order by b.user_id, b.position
    loop
      if locked_user is distinct from item.user_id then
        perform pg_advisory_xact_lock(payments.account_key(item.user_id));
        perform 1 from payments.accounts as a where a.user_id = item.user_id for update;
        locked_user := item.user_id;
      end if;
      select r.status into item_status from payments.refund_requests as r where r.order_id = item.order_id;
      if not found then
        select l.amount into debited from payments.ledger as l
        where l.order_id = item.order_id and l.kind = 'debit' and l.user_id = item.user_id;
        if found then
          with credited as (
            update payments.accounts as a set balance = a.balance + debited, updated_at = now()
            where a.user_id = item.user_id
            returning a.balance
          )
          insert into payments.ledger (user_id, kind, amount, order_id, balance_after)
          select item.user_id, 'refund', debited, item.order_id, credited.balance from credited;
          item_status := 'refunded';
        else
          item_status := 'cancelled';
        end if;
        -- The primary key backs this up: a second request for the order can only be answered.
        insert into payments.refund_requests (order_id, user_id, status) values (item.order_id, item.user_id, item_status);
      end if;
      item_amount := null;
      item_balance := null;
      if item_status = 'refunded' then
        select l.amount, l.balance_after into item_amount, item_balance
        from payments.ledger as l where l.order_id = item.order_id and l.kind = 'refund';
      end if;
      positions := array_append(positions, item.position);
      order_ids := array_append(order_ids, item.order_id);
      statuses := array_append(statuses, item_status);
      amounts := array_append(amounts, item_amount);
      balances := array_append(balances, item_balance);
    end loop;
    return query
      select r.order_id, r.status, r.amount, r.balance
      from unnest(positions, order_ids, statuses, amounts, balances) as r(position, order_id, status, amount, balance)
      order by r.position;
  end
  $function$`;
