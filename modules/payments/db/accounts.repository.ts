import { sql, type Kysely, type Selectable } from "kysely";
import type { AccountsTable, LedgerTable, PaymentsDatabase } from "./payments.tables";

/** The PostgreSQL schema that holds every table of the Payments module. */
export const paymentsSchema = "payments";

export type Account = Selectable<AccountsTable>;
export type LedgerEntry = Selectable<LedgerTable>;
type Db = Kysely<PaymentsDatabase>;

/**
 * Creates an empty account; undefined when the user already has one. It holds the user's
 * advisory lock (`payments.account_key`, db/functions/account_key.sql) while it inserts: a refund
 * request being answered for this user without an account keeps the account from appearing until
 * it commits.
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

/** An account's ledger (deposits, debits, refunds), newest first, `limit` rows after the cursor `before` (a ledger id). */
export async function listLedger(db: Db, userId: string, page: { limit: number; before?: number }): Promise<LedgerEntry[]> {
  let query = db.selectFrom("ledger").selectAll().where("user_id", "=", userId);
  if (page.before !== undefined) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}
