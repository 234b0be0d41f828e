import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import type { AuthPolicy } from "../../../shared/http/auth";
import { once, readIdempotencyKey } from "../../../shared/http/idempotency";
import { jsonContent, problemContent } from "../../../shared/http/openapi-responses";
import { HttpProblem } from "../../../shared/http/problem";
import type { OrderIntake } from "../application/order-intake";
import { placeOrders } from "../application/place-order";
import { toOrderView, type OrderView } from "../application/order-view";
import { findOrder, listOrders } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { createOrderBody, idempotencyHeaders, listOrdersQuery, orderIdParams, orderPageSchema, orderSchema } from "./orders.schemas";

const tags = ["orders"];

const createOrder = createRoute({
  method: "post",
  path: "/api/orders",
  tags,
  summary: "Place an order; its payment follows asynchronously (honours Idempotency-Key)",
  request: { headers: idempotencyHeaders, body: { content: { "application/json": { schema: createOrderBody } }, required: true } },
  responses: {
    201: jsonContent(orderSchema, "The order, status Created"),
    400: problemContent("Invalid request"),
    403: problemContent("AUTH=jwt: userId is not the caller's"),
    422: problemContent("Idempotency-Key reused with a different body"),
  },
});

const listUserOrders = createRoute({
  method: "get",
  path: "/api/orders",
  tags,
  summary: "A user's orders, newest first",
  request: { query: listOrdersQuery },
  responses: {
    200: jsonContent(orderPageSchema, "A page of orders"),
    400: problemContent("Invalid request"),
    403: problemContent("AUTH=jwt: userId is not the caller's"),
  },
});

const getOrder = createRoute({
  method: "get",
  path: "/api/orders/{id}",
  tags,
  summary: "One order",
  request: { params: orderIdParams },
  responses: { 200: jsonContent(orderSchema, "The order"), 400: problemContent("Invalid order id"), 404: problemContent("No such order (or another user's)") },
});

/** The Orders HTTP API; with AUTH=jwt a caller sees and places only their own orders (an admin, anyone's). */
export function ordersRoutes(db: Kysely<OrdersDatabase>, intake: OrderIntake, auth: AuthPolicy): OpenAPIHono {
  const app = new OpenAPIHono();

  app.openapi(auth.protect(createOrder), async (c) => {
    const body = c.req.valid("json");
    auth.assertMayActFor(c, body.userId);
    const key = readIdempotencyKey(c.req.valid("header")["idempotency-key"]);
    // Without a key, the order joins the intake's next group commit; with one, the key, the order
    // and the stored answer commit together in a transaction of their own.
    const result =
      key === undefined
        ? { body: toOrderView(await intake.place(body)), replayed: false }
        : await db.transaction().execute((trx) =>
            once<OrderView>(trx, { scope: `order:${body.userId}`, key, body }, async () => {
              const [row] = await placeOrders(trx, [body]);
              return { status: 201, body: toOrderView(row!) };
            }),
          );
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(result.body, 201);
  });

  app.openapi(auth.protect(listUserOrders), async (c) => {
    const { userId, limit, before } = c.req.valid("query");
    auth.assertMayActFor(c, userId);
    const rows = await listOrders(db, userId, { limit, before });
    return c.json({ items: rows.map(toOrderView), nextBefore: rows.length === limit ? (rows.at(-1)?.seq ?? null) : null }, 200);
  });

  app.openapi(auth.protect(getOrder), async (c) => {
    const { id } = c.req.valid("param");
    const row = await findOrder(db, id);
    // Another user's order is as unknown as a missing one: its existence is not leaked.
    if (!row || !auth.mayActFor(c, row.user_id)) throw new HttpProblem(404, `no order ${id}`);
    return c.json(toOrderView(row), 200);
  });

  return app;
}
