import type { Kysely, Migration } from "kysely";
import { indexIdempotencyKeysByAge } from "../../../../shared/http/idempotency.tables";
import { createDeadLettersTable } from "../../../../shared/messaging/dead-letters/dead-letters.tables";
import { indexInboxByAge } from "../../../../shared/messaging/messaging.tables";

/** The dead letters of payment-processed, and the indexes the retention job deletes by. */
export const deadLettersAndRetention: Migration = {
  async up(db: Kysely<any>) {
    await createDeadLettersTable(db);
    await indexInboxByAge(db);
    await indexIdempotencyKeysByAge(db);
  },
};
