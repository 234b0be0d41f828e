import { sql, type Kysely, type Selectable } from "kysely";
import type { DebitOutcome } from "../domain/payment-decision";
import type { AccountsTable, LedgerTable, PaymentsDatabase } from "./payments.tables";

/** The PostgreSQL schema that holds every table of the Payments module. */
export const paymentsSchema = "payments";

export type Account = Selectable<AccountsTable>;
export type LedgerEntry = Selectable<LedgerTable>;
type Db = Kysely<PaymentsDatabase>;

/**
 * Creates an empty account; undefined when the user already has one. It holds the user's
 * advisory lock (`payments.account_key`, db/functions/account_key.sql) while it inserts: a refund request being
 * answered for this user without an account keeps the account from appearing until it commits.
 */
export async function insertAccount(db: Db, userId: string): Promise<Account | undefined> {
  const { rows } = await sql<Account>`
    with locked as materialized (select pg_advisory_xact_lock(payments.account_key(${userId}::uuid)))
    insert into payments.accounts (user_id, balance)
    select ${userId}::uuid, 0 from locked
    on conflict (user_id) do nothing
    returning *`.execute(db);
  return rows[0];
}

export async function findAccount(db: Db, userId: string): Promise<Account | undefined> {
  return db.selectFrom("accounts").selectAll().where("user_id", "=", userId).executeTakeFirst();
}

/** Adds to the balance and writes the ledger row in one statement; undefined when no account. */
export async function depositInto(db: Db, userId: string, amount: number): Promise<number | undefined> {
  const result = await sql<{ balance_after: number }>`
    with credited as (
      update payments.accounts set balance = balance + ${amount}, updated_at = now()
      where user_id = ${userId}
      returning balance
    )
    insert into payments.ledger (user_id, kind, amount, balance_after)
    select ${userId}::uuid, 'deposit', ${amount}::bigint, balance from credited
    returning balance_after`.execute(db);
  return result.rows[0]?.balance_after;
}

/** One order to debit: `amount` (minor units, > 0) from the account of `userId`, at most once per `orderId`. */
export interface OrderDebit {
  orderId: string;
  userId: string;
  amount: number;
}

/** What a debit attempt found: debited now, or not, and why, with the balance after it. */
export type DebitAttempt =
  | { debited: true; balance: number }
  | { debited: false; alreadyDebited: boolean; balance: number | undefined }
  /** The order was cancelled (a refund request came first): it is never charged. */
  | { debited: false; cancelled: true };

/**
 * The atomic debit (DESIGN §8) of a whole batch in one round trip: `payments.debit_orders` runs,
 * per order, one conditional UPDATE that succeeds only if the balance covers the amount and the
 * order has neither a debit, nor a decline, nor a refund request yet, with its ledger row, and
 * when nothing was debited finds out why (a new decline is recorded: the order is never paid
 * later). Returns one attempt per order, in the given order. A user's orders
 * are debited in the given order; accounts are locked in user_id order, so concurrent batches do
 * not deadlock. No overdraft under any concurrency: the condition is checked on the locked row,
 * and the CHECK constraint and the unique debit per order back it up. Run it in the transaction
 * that records the messages in the inbox. The batch travels as one JSON parameter, so the
 * statement's text is the same for any batch size (one prepared statement).
 */
export async function debitOrders(db: Db, items: readonly OrderDebit[]): Promise<DebitAttempt[]> {
  if (items.length === 0) return [];
  const batch = items.map((item) => ({ order_id: item.orderId, user_id: item.userId, amount: item.amount }));
  // ::text::json: postgres.js would serialise a string sent as json once more (into a JSON string).
  const { rows } = await sql<{ order_id: string; outcome: DebitOutcome; balance: number | null }>`
    select order_id, outcome, balance from payments.debit_orders(${JSON.stringify(batch)}::text::json)`.execute(db);
  // PostgreSQL prints a uuid in lower case, whatever case the message used.
  if (rows.length !== items.length || rows.some((row, index) => row.order_id !== items[index]!.orderId.toLowerCase())) {
    throw new Error(`payments.debit_orders answered ${rows.length} rows for ${items.length} orders, or out of order`);
  }
  return rows.map(toAttempt);
}

function toAttempt(row: { order_id: string; outcome: DebitOutcome; balance: number | null }): DebitAttempt {
  if (row.outcome === "no_account") return { debited: false, alreadyDebited: false, balance: undefined };
  if (row.outcome === "cancelled") return { debited: false, cancelled: true };
  if (row.balance === null) throw new Error(`payments.debit_orders answered ${row.outcome} without a balance for order ${row.order_id}`);
  if (row.outcome === "debited") return { debited: true, balance: row.balance };
  return { debited: false, alreadyDebited: row.outcome === "already_debited", balance: row.balance };
}

/** An account's ledger (deposits, debits, refunds), newest first, `limit` rows after the cursor `before` (a ledger id). */
export async function listLedger(db: Db, userId: string, page: { limit: number; before?: number }): Promise<LedgerEntry[]> {
  let query = db.selectFrom("ledger").selectAll().where("user_id", "=", userId);
  if (page.before !== undefined) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}
