import { sql, type Kysely, type Migration } from "kysely";
import { createMessagingTables } from "../../../../shared/messaging/messaging.tables";
import { createIdempotencyTable } from "../../../../shared/http/idempotency.tables";
import { debitOrders } from "./002-debit-orders";
import { refunds } from "./003-refunds";
import { deadLettersAndRetention } from "./004-dead-letters-and-retention";
import { declinedOrders } from "./005-declined-orders";
import { outboxHeaders } from "./006-outbox-headers";
import { deadLetterSubjectsMigration } from "./007-dead-letter-subjects";
import { outboxDeliveryMigration } from "./008-outbox-delivery";

/** Accounts, ledger, inbox, outbox and idempotency keys in schema `payments`. */
export const createPayments: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("accounts")
      .addColumn("user_id", "uuid", (column) => column.primaryKey())
      // The last line of defence against an overdraft, whatever the code does; the upper bound
      // keeps every balance an exact JS number.
      .addColumn("balance", "bigint", (column) =>
        column.notNull().defaultTo(0).check(sql`balance >= 0 and balance <= 9000000000000000`),
      )
      .addColumn("created_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
      .addColumn("updated_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable("ledger")
      .addColumn("id", "bigint", (column) => column.primaryKey().generatedAlwaysAsIdentity())
      .addColumn("user_id", "uuid", (column) => column.notNull().references("accounts.user_id"))
      .addColumn("kind", "text", (column) => column.notNull().check(sql`kind in ('deposit', 'debit')`))
      .addColumn("amount", "bigint", (column) => column.notNull().check(sql`amount > 0`))
      .addColumn("order_id", "uuid")
      .addColumn("balance_after", "bigint", (column) => column.notNull())
      .addColumn("created_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
      .addCheckConstraint("ledger_debit_has_order", sql`(kind = 'debit') = (order_id is not null)`)
      .execute();
    // A debit is unique per order: the database refuses a second one, whatever the inbox did.
    await db.schema.createIndex("ledger_one_debit_per_order").on("ledger").column("order_id").unique().execute();
    await db.schema.createIndex("ledger_by_account").on("ledger").columns(["user_id", "id"]).execute();
    await createMessagingTables(db);
    await createIdempotencyTable(db);
  },
};

/** Every migration of schema `payments`, by name (applied in name order). */
export const paymentsMigrations: Record<string, Migration> = {
  "001-create-payments": createPayments,
  "002-debit-orders": debitOrders,
  "003-refunds": refunds,
  "004-dead-letters-and-retention": deadLettersAndRetention,
  "005-declined-orders": declinedOrders,
  "006-outbox-headers": outboxHeaders,
  "007-dead-letter-subjects": deadLetterSubjectsMigration,
  "008-outbox-delivery": outboxDeliveryMigration,
};
