import { sql, type Kysely, type Migration } from "kysely";
import { createIdempotencyTable } from "../../../../shared/http/idempotency.tables";
import { createMessagingTables } from "../../../../shared/messaging/messaging.tables";
import { createAdvanceStatuses } from "./002-advance-statuses";
import { cancelStatuses } from "./003-cancel-statuses";
import { deadLettersAndRetention } from "./004-dead-letters-and-retention";
import { outboxHeaders } from "./005-outbox-headers";
import { deadLetterSubjectsMigration } from "./006-dead-letter-subjects";
import { outboxDeliveryMigration } from "./007-outbox-delivery";

/** Orders, inbox, outbox and idempotency keys in schema `orders`. */
export const createOrders: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("orders")
      .addColumn("id", "uuid", (column) => column.primaryKey())
      .addColumn("seq", "bigint", (column) => column.notNull().unique().generatedAlwaysAsIdentity())
      .addColumn("user_id", "uuid", (column) => column.notNull())
      .addColumn("amount", "bigint", (column) => column.notNull().check(sql`amount > 0`))
      .addColumn("description", "text", (column) => column.notNull())
      .addColumn("status", "text", (column) =>
        column.notNull().check(sql`status in ('Created', 'PaymentPending', 'PaymentCompleted', 'PaymentFailed')`),
      )
      .addColumn("failure_reason", "text")
      .addColumn("created_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
      .addColumn("updated_at", "timestamptz", (column) => column.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex("orders_by_user").on("orders").columns(["user_id", "seq"]).execute();
    await createMessagingTables(db);
    await createIdempotencyTable(db);
  },
};

export const ordersMigrations: Record<string, Migration> = {
  "001-create-orders": createOrders,
  "002-advance-statuses": createAdvanceStatuses,
  "003-cancel-statuses": cancelStatuses,
  "004-dead-letters-and-retention": deadLettersAndRetention,
  "005-outbox-headers": outboxHeaders,
  "006-dead-letter-subjects": deadLetterSubjectsMigration,
  "007-outbox-delivery": outboxDeliveryMigration,
};
