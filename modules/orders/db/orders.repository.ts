import { sql, type Kysely, type Selectable } from "kysely";
import { StatementTemplate } from "../../../shared/db/statement-template";
import { outboxNotify, outboxRowsJson, type OutboxMessage } from "../../../shared/messaging/outbox";
import { insertOutboxRowsFromJson } from "../../../shared/messaging/outbox-insert";
import type { OrderStatus } from "../domain/order-status";
import { orderViewJson, parseView, type OrderView } from "./order-view.sql";
import type { OrdersDatabase, OrdersTable } from "./orders.tables";

/** The PostgreSQL schema that holds every table of the Orders module. */
export const ordersSchema = "orders";

/** An order's row, with its view as the API shows it (`view`, built by the query itself: `orderViewJson`). */
export type OrderRow = Selectable<OrdersTable> & { view: OrderView };
type Db = Kysely<OrdersDatabase>;

export interface NewOrder {
  id: string;
  userId: string;
  amount: number;
  description: string;
}

/**
 * Inserts orders (status Created) and their outbox messages, for the relay to publish (the
 * table refuses order-created for any other delivery: per-key order), in ONE statement, so they
 * commit together even outside a transaction, and wakes the relay (NOTIFY; `notify: false` when the
 * caller wakes the relay of its own process after the commit). The batch travels as one JSON
 * parameter: the same SQL text, and prepared statement, for one order or hundreds. Returns the
 * rows in the order given.
 */
export async function insertOrders(db: Db, orders: NewOrder[], messages: OutboxMessage[], options: { notify?: boolean } = {}): Promise<OrderRow[]> {
  const input = orders.map((order) => ({ id: order.id, user_id: order.userId, amount: order.amount, description: order.description }));
  const statement = options.notify === false ? insertOrdersQuietly : insertOrdersAndNotify;
  const { rows } = await statement.execute(db, { orders: JSON.stringify(input), outbox: outboxRowsJson(messages, "relay") });
  return inGivenOrder(orders, rows.map(withView));
}

/** The intake's statement, built and compiled once: with the NOTIFY that wakes the relay, or without. */
const insertOrdersStatement = (notify: boolean) =>
  new StatementTemplate(["orders", "outbox"], (slot) => sql<OrderRow>`
    with input as (
      select * from rows from (json_to_recordset(${slot("orders")}::text::json) as (id uuid, user_id uuid, amount bigint, description text))
        with ordinality as i(id, user_id, amount, description, position)
    ),
    inserted as (
      insert into orders.orders (id, user_id, amount, description, status)
      select id, user_id, amount, description, 'Created' from input order by position
      returning *
    ),
    queued as (${insertOutboxRowsFromJson(ordersSchema, slot("outbox"))})
    select inserted.*, ${orderViewJson("inserted")} as view from inserted${notify ? sql` cross join (select ${outboxNotify(ordersSchema)}) as notified` : sql``}`);
export const insertOrdersAndNotify = insertOrdersStatement(true);
export const insertOrdersQuietly = insertOrdersStatement(false);

export async function findOrder(db: Db, id: string): Promise<OrderRow | undefined> {
  const row = await db.selectFrom("orders").selectAll().select(viewColumn).where("id", "=", id).executeTakeFirst();
  return row && withView(row);
}

/**
 * The order, locked until the caller's transaction ends: a decision taken on its status holds
 * while the transaction acts on it (no payment result or relay round moves it meanwhile).
 */
export async function lockOrder(trx: Db, id: string): Promise<OrderRow | undefined> {
  const row = await trx.selectFrom("orders").selectAll().select(viewColumn).where("id", "=", id).forUpdate().executeTakeFirst();
  return row && withView(row);
}

/** A user's orders, newest first: `limit` rows older than the cursor `before` (an order's seq). */
export async function listOrders(db: Db, userId: string, page: { limit: number; before?: number }): Promise<OrderRow[]> {
  let query = db.selectFrom("orders").selectAll().select(viewColumn).where("user_id", "=", userId);
  if (page.before !== undefined) query = query.where("seq", "<", page.before);
  return (await query.orderBy("seq", "desc").limit(page.limit).execute()).map(withView);
}

export interface StatusChange {
  orderId: string;
  to: OrderStatus;
  failureReason?: string | null;
}

/**
 * Moves each order to its `to` only along an edge of the status graph (the graph is in SQL too,
 * `orders.may_move` in db/functions/may_move.sql), all in one statement: the condition is in the
 * UPDATE, so a late or repeated event matches no row and changes nothing. Orders are locked in id
 * order (see db/functions/advance_statuses.sql), whoever calls (the relay's PaymentPending, the
 * payment results), so two transactions moving the same orders never deadlock. One change per
 * order (the first given wins). Returns the orders that moved.
 */
export async function advanceStatuses(db: Db, changes: StatusChange[]): Promise<OrderRow[]> {
  const byOrder = new Map<string, StatusChange>();
  for (const change of changes) if (!byOrder.has(change.orderId)) byOrder.set(change.orderId, change);
  if (byOrder.size === 0) return [];
  const input = [...byOrder.values()].map((change) => ({
    id: change.orderId,
    status: change.to,
    failure_reason: change.failureReason ?? null,
  }));
  const { rows } = await sql<OrderRow>`select moved.*, ${orderViewJson("moved")} as view from orders.advance_statuses(${JSON.stringify(input)}::text::json) as moved`.execute(db);
  return rows.map(withView);
}

/** The view column of a query over orders.orders. */
const viewColumn = orderViewJson("orders").as("view");

/** A row with its view parsed (see `parseView`). */
function withView<Row extends { view: unknown }>(row: Row): Omit<Row, "view"> & { view: OrderView } {
  return { ...row, view: parseView(row.view) };
}

/** `rows` (keyed by id) in the order of `wanted`. */
function inGivenOrder(wanted: { id: string }[], rows: OrderRow[]): OrderRow[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return wanted.map(({ id }) => {
    const row = byId.get(id);
    if (!row) throw new Error(`order ${id} was not returned by its insert`);
    return row;
  });
}
