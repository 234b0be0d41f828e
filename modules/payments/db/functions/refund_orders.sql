-- payments.refund_orders(batch json): answers a batch of refund requests ({order_id, user_id}
-- each) in one round trip, one row per item in the items' order: `order_id`, `status`
-- ('refunded' or 'cancelled'), and with 'refunded' the `amount` credited and the `balance` it
-- left. A customer cancels an order, and its money comes back exactly once, or it is never taken.
--
-- The hard case is a cancel racing the debit: refund-requested and the order's order-created
-- travel on different topics, through different consumers (possibly different processes), each
-- redelivered after any crash, so they reach Payments in either order or at once. The guarantee
-- rests on three things:
--
-- 1. payments.refund_requests: one row per order, written by the first refund request, with the
--    answer it got. A repeated request (a redelivery the inbox no longer remembers, or a second
--    message) finds it and gets the same answer; nothing moves again.
-- 2. debit_orders never debits an order that has a refund request: a cancel that arrives first
--    voids the debit to come.
-- 3. Both functions take the account's row lock (FOR UPDATE) in a statement of its own BEFORE they
--    look at each other's rows. In READ COMMITTED each statement of a PL/pgSQL function sees what
--    was committed when it started, but a statement that waits on a row lock still judges its
--    other conditions (NOT EXISTS on another table) by the snapshot it started with. Locking
--    first, then looking in the next statement, means that whichever of the two transactions
--    gets the account first, the other sees all it wrote:
--    - debit first: the refund waits for the debit to commit, then finds the debit and credits it
--      back ('refunded');
--    - refund first: the debit waits for the refund to commit, then finds the refund request and
--      does not debit (outcome 'cancelled').
--    An order whose user has no account yet has no row to lock: the refund then holds the
--    advisory lock on the user (account_key) that opening an account also takes, so an account
--    cannot appear (and a debit on it run) between the refund's look and its commit.
--
-- Items go by (user_id, position), locking as debit_orders does (accounts in user_id order), so a
-- refund batch and a debit batch cannot deadlock either. Per user: the advisory lock, then the
-- account's row lock, each alone; then per order, in statements that start after both are held: a
-- request seen before gets its first answer again; otherwise the order's debit is looked up:
-- found, it is credited back (account + `refund` ledger row, unique per order like the debit:
-- 'refunded'); not found, there was no debit and, the request now recorded, there will be none
-- ('cancelled').
create or replace function payments.refund_orders(batch json)
returns table (order_id uuid, status text, amount bigint, balance bigint)
language plpgsql
-- Keys only, never a scan, whatever size a table had when the session planned (see debit_orders.sql).
set enable_seqscan = off
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
$function$
