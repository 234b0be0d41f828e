import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AdmissionGate } from "../../../shared/admission/admission-gate";
import { admittedRoute, throughGate } from "../../../shared/admission/admitted-route";
import type { Kysely } from "kysely";
import type { AuthPolicy } from "../../../shared/http/auth";
import { idempotencyKeyHeader, once, readIdempotencyKey } from "../../../shared/http/idempotency";
import { jsonContent, problemContent } from "../../../shared/http/openapi-responses";
import { HttpProblem } from "../../../shared/http/problem";
import type { AtCommit, OutboxWriter } from "../../../shared/messaging/outbox";
import { orderIdAttribute } from "../../../shared/contracts";
import { tracingOff, type Tracing } from "../../../shared/tracing/tracing";
import { cancelOrder } from "../application/cancel-order";
import type { OrderIntake } from "../application/order-intake";
import { placeOrders } from "../application/place-order";
import type { OrderView } from "../db/order-view.sql";
import { findOrder, listOrders, lockOrder } from "../db/orders.repository";
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

const cancel = createRoute({
  method: "post",
  path: "/api/orders/{id}/cancel",
  tags,
  summary: "Cancel an order: a paid one is refunded, an unpaid one is never charged (honours Idempotency-Key)",
  description:
    "202 with the order: RefundPending (it was paid) or CancelRequested (its payment result was not in yet); it then " +
    "moves to Refunded or Cancelled once Payments has answered, pushed over the WebSocket. An order already cancelled " +
    "or being cancelled is answered as it is, and nothing more happens. A PaymentFailed order is 409.",
  request: { params: orderIdParams, headers: idempotencyHeaders },
  responses: {
    202: jsonContent(orderSchema, "The order, its cancellation under way (or done)"),
    400: problemContent("Invalid order id or Idempotency-Key"),
    404: problemContent("No such order (or another user's)"),
    409: problemContent("Nothing to cancel: the order's payment failed"),
    422: problemContent("Idempotency-Key reused for another order"),
  },
});

/**
 * The Orders HTTP API; with AUTH=jwt a caller sees, places and cancels only their own orders (an
 * admin, anyone's). `outbox` writes the rows a request publishes once its transaction has
 * committed. With tracing on, the messages a request writes store its trace context
 * (docs/architecture.md#operations).
 */
export function ordersRoutes(
  db: Kysely<OrdersDatabase>,
  queues: { intake: OrderIntake; gate: AdmissionGate },
  auth: AuthPolicy,
  outbox: OutboxWriter,
  tracing: Tracing = tracingOff,
): OpenAPIHono {
  const app = new OpenAPIHono();
  const { intake, gate } = queues;
  // Every route waits for the database in a bounded queue, or is refused with 503 before its body
  // is read: an order without Idempotency-Key in the intake's group commit, every other request
  // in the module's request gate.
  const admitted = <R extends RouteConfig>(route: R) => auth.protect(admittedRoute(route, throughGate(gate)));
  const admitOrder: MiddlewareHandler = (c, next) => {
    if (c.req.header(idempotencyKeyHeader) !== undefined) return gate.run(next, c.req.raw.signal);
    intake.assertRoom();
    return next();
  };
  // Checked once: with tracing off, nothing is captured on the way.
  const traced = tracing.enabled;

  app.openapi(auth.protect(admittedRoute(createOrder, admitOrder)), async (c) => {
    const body = c.req.valid("json");
    auth.assertMayActFor(c, body.userId);
    const key = readIdempotencyKey(c.req.valid("header")["idempotency-key"]);
    const trace = traced ? tracing.capture() : undefined;
    const input = trace ? { ...body, trace } : body;
    // Without a key, the order joins the intake's next group commit; with one, the key, the order
    // and the stored answer commit together in a transaction of their own.
    const result =
      key === undefined
        ? { body: (await intake.place(input, c.req.raw.signal)).view, replayed: false }
        : await db.transaction().execute((trx) =>
            once<OrderView>(trx, { scope: `order:${body.userId}`, key, body }, async () => {
              const [row] = await placeOrders(trx, [input]);
              return { status: 201, body: row!.view };
            }),
          );
    if (traced) tracing.annotate({ [orderIdAttribute]: result.body.id });
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(result.body, 201);
  });

  app.openapi(admitted(listUserOrders), async (c) => {
    const { userId, limit, before } = c.req.valid("query");
    auth.assertMayActFor(c, userId);
    const rows = await listOrders(db, userId, { limit, before });
    return c.json({ items: rows.map((row) => row.view), nextBefore: rows.length === limit ? (rows.at(-1)?.seq ?? null) : null }, 200);
  });

  app.openapi(admitted(getOrder), async (c) => {
    const { id } = c.req.valid("param");
    const row = await findOrder(db, id);
    // Another user's order is as unknown as a missing one: its existence is not leaked.
    if (!row || !auth.mayActFor(c, row.user_id)) throw new HttpProblem(404, `no order ${id}`);
    return c.json(row.view, 200);
  });

  app.openapi(admitted(cancel), async (c) => {
    const { id } = c.req.valid("param");
    const key = readIdempotencyKey(c.req.valid("header")["idempotency-key"]);
    if (traced) tracing.annotate({ [orderIdAttribute]: id });
    const trace = traced ? tracing.capture() : undefined;
    let written: AtCommit | undefined;
    const result = await db.transaction().execute(async (trx) => {
      const order = await lockOrder(trx, id);
      if (!order || !auth.mayActFor(c, order.user_id)) throw new HttpProblem(404, `no order ${id}`);
      return once<OrderView>(trx, { scope: `cancel:${order.user_id}`, key, body: { orderId: id } }, async () => {
        const outcome = await cancelOrder(trx, outbox, order, trace);
        if (outcome.kind === "refused") throw new HttpProblem(409, `order ${id} cannot be cancelled: ${outcome.reason}`);
        if (outcome.kind === "requested") written = outcome.written;
        return { status: 202, body: outcome.order.view };
      });
    });
    await written?.publish();
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(result.body, 202);
  });

  return app;
}
