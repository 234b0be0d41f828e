import { sql, type Kysely, type Selectable } from "kysely";
import type { AccountsTable, LedgerTable, PaymentsDatabase } from "./payments.tables";

/** The PostgreSQL schema that holds every table of the Payments module. */
export const paymentsSchema = "payments";

export type Account = Selectable<AccountsTable>;
export type LedgerEntry = Selectable<LedgerTable>;
type Db = Kysely<PaymentsDatabase>;

/** Creates an empty account; undefined when the user already has one. */
export async function insertAccount(db: Db, userId: string): Promise<Account | undefined> {
  return db
    .insertInto("accounts")
    .values({ user_id: userId, balance: 0 })
    .onConflict((conflict) => conflict.column("user_id").doNothing())
    .returningAll()
    .executeTakeFirst();
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

/**
 * The atomic debit (DESIGN §8): one conditional UPDATE that succeeds only if the balance covers
 * the amount and the order has no debit yet, with its ledger row in the same statement. Returns
 * the new balance, or undefined when nothing was debited (see explainNoDebit for why). No
 * overdraft under any concurrency: the condition is checked on the locked row, and the CHECK
 * constraint and the unique debit per order back it up.
 */
export async function debitForOrder(
  db: Db,
  debit: { userId: string; orderId: string; amount: number },
): Promise<number | undefined> {
  const result = await sql<{ balance_after: number }>`
    with debited as (
      update payments.accounts set balance = balance - ${debit.amount}, updated_at = now()
      where user_id = ${debit.userId} and balance >= ${debit.amount}
        and not exists (select 1 from payments.ledger where order_id = ${debit.orderId})
      returning balance
    )
    insert into payments.ledger (user_id, kind, amount, order_id, balance_after)
    select ${debit.userId}::uuid, 'debit', ${debit.amount}::bigint, ${debit.orderId}::uuid, balance from debited
    returning balance_after`.execute(db);
  return result.rows[0]?.balance_after;
}

/** Why debitForOrder debited nothing: the order was paid already, there is no account, or no funds. */
export async function explainNoDebit(
  db: Db,
  debit: { userId: string; orderId: string },
): Promise<{ alreadyDebited: true; balance: number } | { alreadyDebited: false; balance: number | undefined }> {
  const previous = await db.selectFrom("ledger").select("id").where("order_id", "=", debit.orderId).executeTakeFirst();
  const account = await findAccount(db, debit.userId);
  if (previous && account) return { alreadyDebited: true, balance: account.balance };
  return { alreadyDebited: false, balance: account?.balance };
}

/** An account's ledger, newest first, `limit` rows after the cursor `before` (a ledger id). */
export async function listLedger(db: Db, userId: string, page: { limit: number; before?: number }): Promise<LedgerEntry[]> {
  let query = db.selectFrom("ledger").selectAll().where("user_id", "=", userId);
  if (page.before !== undefined) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}
