import type { Kysely, Selectable } from "kysely";
import { statusesBefore, type OrderStatus } from "../domain/order-status";
import type { OrdersDatabase, OrdersTable } from "./orders.tables";

/** The PostgreSQL schema that holds every table of the Orders module. */
export const ordersSchema = "orders";

export type OrderRow = Selectable<OrdersTable>;
type Db = Kysely<OrdersDatabase>;

export async function insertOrder(
  db: Db,
  order: { id: string; userId: string; amount: number; description: string },
): Promise<OrderRow> {
  return db
    .insertInto("orders")
    .values({ id: order.id, user_id: order.userId, amount: order.amount, description: order.description, status: "Created" })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findOrder(db: Db, id: string): Promise<OrderRow | undefined> {
  return db.selectFrom("orders").selectAll().where("id", "=", id).executeTakeFirst();
}

/** A user's orders, newest first: `limit` rows older than the cursor `before` (an order's seq). */
export async function listOrders(db: Db, userId: string, page: { limit: number; before?: number }): Promise<OrderRow[]> {
  let query = db.selectFrom("orders").selectAll().where("user_id", "=", userId);
  if (page.before !== undefined) query = query.where("seq", "<", page.before);
  return query.orderBy("seq", "desc").limit(page.limit).execute();
}

/**
 * Moves orders to `to` only from a status before it (DESIGN §8): the condition is in the UPDATE,
 * so a late or repeated event matches no row and changes nothing. Returns the orders that moved.
 */
export async function advanceStatus(
  db: Db,
  orderIds: string[],
  to: OrderStatus,
  failureReason: string | null = null,
): Promise<OrderRow[]> {
  if (orderIds.length === 0) return [];
  if (orderIds.length > 1) {
    // Take the row locks in id order first (an UPDATE … IN may lock in heap order), so this and
    // the payment-result consumer, which also goes in id order, cannot deadlock.
    await db.selectFrom("orders").select("id").where("id", "in", orderIds).orderBy("id").forUpdate().execute();
  }
  return db
    .updateTable("orders")
    .set({ status: to, failure_reason: failureReason, updated_at: new Date() })
    .where("id", "in", orderIds)
    .where("status", "in", statusesBefore(to))
    .returningAll()
    .execute();
}
