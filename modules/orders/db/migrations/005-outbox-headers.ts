import type { Kysely, Migration } from "kysely";
import { addOutboxHeaders } from "../../../../shared/messaging/messaging.tables";

/** The trace context of each outbox row, published as its message's headers (docs/architecture.md#operations, tracing). */
export const outboxHeaders: Migration = {
  async up(db: Kysely<any>) {
    await addOutboxHeaders(db);
  },
};
