import type { Kysely, Migration } from "kysely";
import { addOutboxDelivery } from "../../../../shared/messaging/messaging.tables";

/** Each outbox row says who publishes it: the relay, or its writer at commit (payment results, refund answers). */
export const outboxDeliveryMigration: Migration = {
  async up(db: Kysely<any>) {
    await addOutboxDelivery(db);
  },
};
