import { describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { testBackends } from "../../../shared/testing/postgres";
import { canMove, orderStatuses } from "../domain/order-status";
import { useOrdersTestDatabase } from "./orders-test-database";

// The status graph lives in the domain (decisions) and in SQL (orders.may_move, the guard of
// every status UPDATE): the two must agree on every pair, on both backends.
for (const backend of testBackends) {
  describe(`the status graph in SQL on ${backend}`, () => {
    const testDatabase = useOrdersTestDatabase(backend);

    test("orders.may_move allows exactly the domain's moves", async () => {
      const { rows } = await sql<{ from_status: string; to_status: string; allowed: boolean }>`
        select f as from_status, t as to_status, orders.may_move(f, t) as allowed
        from unnest(${orderStatuses as unknown as string[]}::text[]) as f, unnest(${orderStatuses as unknown as string[]}::text[]) as t`.execute(
        testDatabase().database.kysely,
      );
      expect(rows).toHaveLength(orderStatuses.length ** 2);
      const disagreements = rows.filter((row) => row.allowed !== canMove(row.from_status as never, row.to_status as never));
      expect(disagreements).toEqual([]);
    });

    test("the table accepts every status of the graph and nothing else", async () => {
      const insert = (status: string) =>
        sql`insert into orders.orders (id, user_id, amount, description, status) values (gen_random_uuid(), gen_random_uuid(), 1, 'x', ${status})`.execute(
          testDatabase().database.kysely,
        );
      for (const status of orderStatuses) await insert(status);
      await expect(insert("Paid")).rejects.toThrow(/orders_status_check|check constraint/);
    });
  });
}
