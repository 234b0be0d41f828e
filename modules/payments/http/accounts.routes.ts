import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { AdmissionGate } from "../../../shared/admission/admission-gate";
import { admittedRoute, throughGate } from "../../../shared/admission/admitted-route";
import type { Kysely } from "kysely";
import type { AuthPolicy } from "../../../shared/http/auth";
import { once, readIdempotencyKey } from "../../../shared/http/idempotency";
import { jsonContent, problemContent } from "../../../shared/http/openapi-responses";
import { HttpProblem } from "../../../shared/http/problem";
import { toMajorUnits } from "../../../shared/money";
import { depositInto, findAccount, insertAccount, listLedger } from "../db/accounts.repository";
import type { PaymentsDatabase } from "../db/payments.tables";
import {
  accountSchema,
  balanceSchema,
  createAccountBody,
  depositBody,
  idempotencyHeaders,
  ledgerPageSchema,
  ledgerQuery,
  userIdParams,
} from "./accounts.schemas";

const tags = ["accounts"];
const forbidden = problemContent("AUTH=jwt: userId is not the caller's");

const createAccount = createRoute({
  method: "post",
  path: "/api/accounts",
  tags,
  summary: "Open an account with a zero balance",
  request: { body: { content: { "application/json": { schema: createAccountBody } }, required: true } },
  responses: {
    201: jsonContent(accountSchema, "Created"),
    400: problemContent("Invalid request"),
    403: forbidden,
    409: problemContent("The user already has an account"),
  },
});

const getAccount = createRoute({
  method: "get",
  path: "/api/accounts/{userId}",
  tags,
  summary: "An account's balance",
  request: { params: userIdParams },
  responses: { 200: jsonContent(balanceSchema, "The balance"), 400: problemContent("Invalid user id"), 403: forbidden, 404: problemContent("No such account") },
});

const deposit = createRoute({
  method: "post",
  path: "/api/accounts/{userId}/deposit",
  tags,
  summary: "Add money to an account (honours Idempotency-Key)",
  request: {
    params: userIdParams,
    headers: idempotencyHeaders,
    body: { content: { "application/json": { schema: depositBody } }, required: true },
  },
  responses: {
    200: jsonContent(balanceSchema, "The new balance"),
    400: problemContent("Invalid request"),
    403: forbidden,
    404: problemContent("No such account"),
    409: problemContent("The balance would exceed its limit"),
    422: problemContent("Idempotency-Key reused with a different body"),
  },
});

const getLedger = createRoute({
  method: "get",
  path: "/api/accounts/{userId}/ledger",
  tags,
  summary: "An account's deposits, debits and refunds, newest first",
  request: { params: userIdParams, query: ledgerQuery },
  responses: {
    200: jsonContent(ledgerPageSchema, "A page of the ledger"),
    400: problemContent("Invalid request"),
    403: forbidden,
    404: problemContent("No such account"),
  },
});

const notFound = (userId: string) => new HttpProblem(404, `no account for user ${userId}`);

/** The Payments HTTP API: accounts, deposits and the ledger; with AUTH=jwt, only the caller's own (an admin, anyone's). */
export function accountsRoutes(db: Kysely<PaymentsDatabase>, auth: AuthPolicy, gate: AdmissionGate): OpenAPIHono {
  const app = new OpenAPIHono();
  // Every route uses the database: each waits in the gate's bounded queue, or is refused with 503.
  const admitted = <R extends RouteConfig>(route: R) => auth.protect(admittedRoute(route, throughGate(gate)));

  app.openapi(admitted(createAccount), async (c) => {
    const { userId } = c.req.valid("json");
    auth.assertMayActFor(c, userId);
    const account = await insertAccount(db, userId);
    if (!account) throw new HttpProblem(409, `user ${userId} already has an account`);
    return c.json({ userId, balance: toMajorUnits(account.balance), createdAt: account.created_at.toISOString() }, 201);
  });

  app.openapi(admitted(getAccount), async (c) => {
    const { userId } = c.req.valid("param");
    auth.assertMayActFor(c, userId);
    const account = await findAccount(db, userId);
    if (!account) throw notFound(userId);
    return c.json({ userId, balance: toMajorUnits(account.balance) }, 200);
  });

  app.openapi(admitted(deposit), async (c) => {
    const { userId } = c.req.valid("param");
    auth.assertMayActFor(c, userId);
    const { amount } = c.req.valid("json");
    const key = readIdempotencyKey(c.req.valid("header")["idempotency-key"]);
    const result = await db.transaction().execute((trx) =>
      once(trx, { scope: `deposit:${userId}`, key, body: { amount } }, async () => {
        const balance = await depositInto(trx, userId, amount).catch(balanceLimit);
        if (balance === undefined) throw notFound(userId);
        return { status: 200, body: { userId, balance: toMajorUnits(balance) } };
      }),
    );
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(result.body, 200);
  });

  app.openapi(admitted(getLedger), async (c) => {
    const { userId } = c.req.valid("param");
    auth.assertMayActFor(c, userId);
    const { limit, before } = c.req.valid("query");
    const rows = await db.transaction().execute(async (trx) => {
      if (!(await findAccount(trx, userId))) throw notFound(userId);
      return listLedger(trx, userId, { limit, before });
    });
    const items = rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      amount: toMajorUnits(row.amount),
      orderId: row.order_id,
      balanceAfter: toMajorUnits(row.balance_after),
      createdAt: row.created_at.toISOString(),
    }));
    return c.json({ items, nextBefore: rows.length === limit ? (rows.at(-1)?.id ?? null) : null }, 200);
  });

  return app;
}

/** The balance CHECK refused a deposit past the limit: a conflict, not a server error. */
function balanceLimit(error: unknown): never {
  if (error instanceof Error && /accounts_balance_check|check constraint/i.test(error.message)) {
    throw new HttpProblem(409, "the deposit would take the balance past its limit");
  }
  throw error;
}
