import { sql, type Kysely } from "kysely";
import { createDatabase, type Database } from "../../shared/db";

/**
 * The guarantees (docs/architecture.md#flow: no accepted order lost, none paid twice, balances
 * equal to their ledgers), checked straight against the two modules' databases (never
 * through the API, which could hide a disagreement). Each violation is one line naming the rows.
 */
export interface InvariantReport {
  orders: number;
  completed: number;
  failed: number;
  cancelled: number;
  refunded: number;
  accounts: number;
  debits: number;
  refunds: number;
  violations: string[];
}

interface OrderRow {
  id: string;
  user_id: string;
  amount: number;
  status: string;
  failure_reason: string | null;
}

interface LedgerRow {
  id: number;
  user_id: string;
  kind: "deposit" | "debit" | "refund";
  amount: number;
  order_id: string | null;
  balance_after: number;
}

/** Statuses in which an order waits for no message (see modules/orders/domain/order-status.ts). */
export const settledStatuses = ["PaymentCompleted", "PaymentFailed", "Cancelled", "Refunded"];
const terminal = new Set(settledStatuses);
/** What a settled status says of the order's money: [debited, refunded]. */
const moneyOf: Record<string, [debited: boolean, refunded: boolean]> = {
  PaymentCompleted: [true, false],
  PaymentFailed: [false, false],
  Cancelled: [false, false],
  Refunded: [true, true],
};
/** Statuses an order with a debit may be in (a cancel may be on its way to the refund). */
const debitedStatuses = new Set(["PaymentCompleted", "RefundPending", "CancelRequested", "Refunded"]);
const failureReasons = new Set(["insufficient_funds", "account_not_found"]);

/** Connections to both modules' databases, opened once per system under test. */
export interface ModuleDatabases {
  orders: Kysely<any>;
  payments: Kysely<any>;
  close(): Promise<void>;
}

export async function openModuleDatabases(urls: { orders: string; payments: string }): Promise<ModuleDatabases> {
  const open = (url: string) => createDatabase<any>({ url, dataDir: "", maxConnections: 2 });
  const [orders, payments]: Database<any>[] = await Promise.all([open(urls.orders), open(urls.payments)]);
  return {
    orders: orders!.kysely,
    payments: payments!.kysely,
    close: async () => void (await Promise.all([orders!.close(), payments!.close()])),
  };
}

/** Reads both databases and lists every broken invariant; `accepted` are order ids the API answered 201 for. */
export async function checkInvariants(databases: ModuleDatabases, accepted: Iterable<string> = []): Promise<InvariantReport> {
  const { orders, ledger, accounts } = await readBoth(databases);
  const violations: string[] = [];
  const report = (what: string, ids: unknown[]) => {
    if (ids.length > 0) violations.push(`${what}: ${ids.length} (e.g. ${ids.slice(0, 3).map((id) => JSON.stringify(id)).join(", ")})`);
  };
  const ordersById = new Map(orders.map((order) => [order.id, order]));

  report("accepted orders missing from the orders table", [...accepted].filter((id) => !ordersById.has(id)));
  report("orders not terminal", orders.filter((order) => !terminal.has(order.status)).map((order) => `${order.id} ${order.status}`));
  report(
    "failed orders without a known reason",
    orders.filter((order) => order.status === "PaymentFailed" && !failureReasons.has(order.failure_reason ?? "")).map((order) => order.id),
  );

  const byOrder = (kind: LedgerRow["kind"]) => {
    const rows = new Map<string, LedgerRow[]>();
    for (const row of ledger) if (row.kind === kind) rows.set(row.order_id!, [...(rows.get(row.order_id!) ?? []), row]);
    return rows;
  };
  const debitsByOrder = byOrder("debit");
  const refundsByOrder = byOrder("refund");
  report("orders debited more than once", [...debitsByOrder].filter(([, rows]) => rows.length > 1).map(([orderId]) => orderId));
  report("orders refunded more than once", [...refundsByOrder].filter(([, rows]) => rows.length > 1).map(([orderId]) => orderId));
  report("debits of no known order", [...debitsByOrder.keys()].filter((orderId) => !ordersById.has(orderId)));
  report(
    "refunds that are not a later credit of their order's debit (same account, same amount)",
    [...refundsByOrder].filter(([orderId, [refund]]) => {
      const debit = debitsByOrder.get(orderId)?.[0];
      return !debit || debit.amount !== refund!.amount || debit.user_id !== refund!.user_id || debit.id > refund!.id;
    }).map(([orderId]) => orderId),
  );
  report(
    "debits that differ from their order (user or amount)",
    [...debitsByOrder].filter(([orderId, [debit]]) => {
      const order = ordersById.get(orderId);
      return order && (order.user_id !== debit!.user_id || order.amount !== debit!.amount);
    }).map(([orderId]) => orderId),
  );
  for (const [status, [debited, refunded]] of Object.entries(moneyOf)) {
    const disagree = (o: OrderRow) => o.status === status && (debitsByOrder.has(o.id) !== debited || refundsByOrder.has(o.id) !== refunded);
    report(`${status} orders without exactly ${debited ? "a debit" : "no debit"} and ${refunded ? "a refund" : "no refund"}`, orders.filter(disagree).map((o) => o.id));
  }
  report("debited orders neither paid nor being refunded", [...debitsByOrder.keys()].filter((id) => ordersById.has(id) && !debitedStatuses.has(ordersById.get(id)!.status)));

  report("ledger rows with a negative balance_after", ledger.filter((row) => row.balance_after < 0).map((row) => row.id));
  // Each deposit, debit and refund locks its account row before its ledger row is inserted, so per account
  // the ledger ids follow the order the balance changed in: each balance_after is the running sum.
  const running = new Map<string, number>();
  const offTrack: string[] = [];
  for (const row of ledger) {
    const balance = (running.get(row.user_id) ?? 0) + (row.kind === "debit" ? -row.amount : row.amount);
    running.set(row.user_id, balance);
    if (row.balance_after !== balance) offTrack.push(`ledger ${row.id}: balance_after ${row.balance_after}, running sum ${balance}`);
  }
  report("ledger rows whose balance_after is not the running sum", offTrack);
  report("accounts with a negative balance", accounts.filter((account) => account.balance < 0).map((account) => account.user_id));
  report(
    "accounts whose balance is not deposits − debits + refunds",
    accounts
      .filter((account) => account.balance !== (running.get(account.user_id) ?? 0))
      .map((account) => `${account.user_id}: ${account.balance} ≠ ${running.get(account.user_id) ?? 0}`),
  );

  return {
    orders: orders.length,
    completed: orders.filter((order) => order.status === "PaymentCompleted").length,
    failed: orders.filter((order) => order.status === "PaymentFailed").length,
    cancelled: orders.filter((order) => order.status === "Cancelled").length,
    refunded: orders.filter((order) => order.status === "Refunded").length,
    accounts: accounts.length,
    debits: debitsByOrder.size,
    refunds: refundsByOrder.size,
    violations,
  };
}

/** Orders whose status is not settled yet (what to wait on before checking the invariants). */
export async function pendingOrders(databases: ModuleDatabases): Promise<number> {
  const result = await sql<{ count: number }>`
    select count(*)::int as count from orders.orders where status <> all(${settledStatuses}::text[])`.execute(databases.orders);
  return result.rows[0]!.count;
}

/** Outbox rows not yet published, on both sides. */
export async function unpublishedOutboxRows(databases: ModuleDatabases): Promise<number> {
  const count = async (db: Kysely<any>, schema: string) =>
    (await sql<{ count: number }>`select count(*)::int as count from ${sql.table(`${schema}.outbox`)} where published_at is null`.execute(db)).rows[0]!.count;
  return (await count(databases.orders, "orders")) + (await count(databases.payments, "payments"));
}

async function readBoth(databases: ModuleDatabases) {
  const orders = (await sql<OrderRow>`select id, user_id, amount, status, failure_reason from orders.orders order by seq`.execute(databases.orders)).rows;
  // One snapshot of the payments side, so balances and the ledger agree with each other.
  return databases.payments.transaction().setIsolationLevel("repeatable read").execute(async (trx) => ({
    orders,
    ledger: (await sql<LedgerRow>`select id, user_id, kind, amount, order_id, balance_after from payments.ledger order by id`.execute(trx)).rows,
    accounts: (await sql<{ user_id: string; balance: number }>`select user_id, balance from payments.accounts`.execute(trx)).rows,
  }));
}

/** The status of each of these orders (absent when the order is not in the table). */
export async function statusesOf(databases: ModuleDatabases, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = (await sql<{ id: string; status: string }>`select id, status from orders.orders where id = any(${ids}::uuid[])`.execute(databases.orders)).rows;
  return new Map(rows.map((row) => [row.id, row.status]));
}

/**
 * Checks that, for each account, exactly the orders it could afford were paid, in the order
 * Payments processed them: replaying its payment results in that order (the payments outbox is
 * written in processing order per account) from its deposits, each order is paid if and only if
 * the balance then covered it, and every reported balance and the final one match.
 */
export async function checkPaidInProcessingOrder(databases: ModuleDatabases, userIds: string[]): Promise<{ paid: number[]; violations: string[] }> {
  const amounts = new Map(
    (await sql<{ id: string; amount: number }>`select id, amount from orders.orders where user_id = any(${userIds}::uuid[])`.execute(databases.orders)).rows.map(
      (row) => [row.id, row.amount],
    ),
  );
  const results = (await sql<{ value: string }>`select value from payments.outbox where topic = 'payment-processed' order by id`.execute(databases.payments)).rows
    .map((row) => (JSON.parse(row.value) as { payload: { orderId: string; userId: string; status: string; reason?: string; balance?: number } }).payload);
  const ledger = (await sql<LedgerRow>`select id, user_id, kind, amount, order_id, balance_after from payments.ledger where user_id = any(${userIds}::uuid[]) order by id`.execute(databases.payments)).rows;
  const accounts = (await sql<{ user_id: string; balance: number }>`select user_id, balance from payments.accounts where user_id = any(${userIds}::uuid[])`.execute(databases.payments)).rows;

  const violations: string[] = [];
  const paid: number[] = [];
  for (const userId of userIds) {
    let balance = ledger.filter((row) => row.user_id === userId && row.kind === "deposit").reduce((sum, row) => sum + row.amount, 0);
    const seen = new Set<string>();
    const paidInOrder: string[] = [];
    for (const result of results.filter((result) => result.userId === userId)) {
      if (seen.has(result.orderId)) continue; // a redelivery reports the first outcome again
      seen.add(result.orderId);
      const amount = amounts.get(result.orderId);
      if (amount === undefined) {
        violations.push(`${userId}: a payment result for unknown order ${result.orderId}`);
        continue;
      }
      const affordable = amount <= balance;
      if (affordable) {
        balance -= amount;
        paidInOrder.push(result.orderId);
      }
      const expected = affordable ? "completed" : "failed";
      if (result.status !== expected || (!affordable && result.reason !== "insufficient_funds") || result.balance !== balance) {
        violations.push(`${userId}: order ${result.orderId} of ${amount} with ${balance + (affordable ? amount : 0)} left was ${result.status} (${result.reason ?? "-"}, balance ${result.balance}), expected ${expected} (balance ${balance})`);
      }
    }
    const ordersOfUser = (await sql<{ id: string }>`select id from orders.orders where user_id = ${userId}::uuid`.execute(databases.orders)).rows;
    const missing = ordersOfUser.filter((row) => !seen.has(row.id)).length;
    if (missing > 0) violations.push(`${userId}: ${missing} orders without a payment result`);
    const debits = ledger.filter((row) => row.user_id === userId && row.kind === "debit").map((row) => row.order_id);
    if (JSON.stringify(debits) !== JSON.stringify(paidInOrder)) violations.push(`${userId}: the ledger's debits are not the affordable orders in processing order`);
    const account = accounts.find((row) => row.user_id === userId);
    if (account?.balance !== balance) violations.push(`${userId}: balance ${account?.balance}, replaying the results gives ${balance}`);
    paid.push(paidInOrder.length);
  }
  return { paid, violations };
}
