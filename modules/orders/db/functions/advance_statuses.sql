-- orders.advance_statuses(changes json): moves each order ({id, status, failure_reason}) to its
-- new status, but only along an edge of the status graph (may_move), and returns the orders that
-- moved. Whatever the caller asks, no order moves back: a late payment result for a cancelled
-- order, a replayed refund answer, or a bug all match no row and change nothing.
--
-- One statement for a whole batch of changes, and still one primary-key UPDATE per order inside:
-- a set-based UPDATE … FROM over the batch lets the planner scan the whole table (it guesses 100
-- rows for the JSON and picks a hash join while the table is small). The orders are visited in id
-- order, so two transactions moving overlapping orders lock them in the same order and cannot
-- deadlock.
-- Its plan is kept for the session, so `set enable_seqscan = off`: a plan made while the table was
-- one page would scan it for every order as it grows (payments.debit_orders says what that cost).
create or replace function orders.advance_statuses(changes json) returns setof orders.orders
language plpgsql
set enable_seqscan = off
as $$
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
$$
