import type { Kysely, Migration } from "kysely";
import { addOutboxDelivery } from "../../../../shared/messaging/messaging.tables";

/**
 * Each outbox row says who publishes it (the relay, or its writer at commit). order-created goes
 * through the relay alone, so a user's orders reach Payments in the order they were placed: the
 * table refuses an order-created row written for delivery at commit.
 */
export const outboxDeliveryMigration: Migration = {
  async up(db: Kysely<any>) {
    // The topic as named when this ran (a migration is history: it does not follow later renames).
    await addOutboxDelivery(db, ["order-created"]);
  },
};
