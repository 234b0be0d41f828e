import { sql, type Kysely, type Migration } from "kysely";

/**
 * Creates `orders.advance_statuses(changes json)` (its current text and reasoning are
 * `db/functions/advance_statuses.sql`, applied after the migrations): moves each order to its new status, but only from one
 * of the statuses given for it, and returns the orders that moved. One statement for a whole batch
 * of changes, and still one primary-key UPDATE per order inside: a set-based UPDATE … FROM over the
 * batch lets the planner scan the whole table (it guesses 100 rows for the JSON and picks a hash
 * join while the table is small). The orders are visited in id order, so two transactions moving
 * overlapping orders lock them in the same order and cannot deadlock.
 */
export const createAdvanceStatuses: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      create function orders.advance_statuses(changes json) returns setof orders.orders
      language plpgsql as $$
      declare
        change record;
      begin
        for change in
          select * from json_to_recordset(changes) as c(id uuid, status text, failure_reason text, from_statuses text[])
          order by c.id
        loop
          return query
            update orders.orders o
            set status = change.status, failure_reason = change.failure_reason, updated_at = now()
            where o.id = change.id and o.status = any(change.from_statuses)
            returning o.*;
        end loop;
      end
      $$`.execute(db);
  },
};
