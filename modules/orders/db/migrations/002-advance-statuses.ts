import type { Migration } from "kysely";

/**
 * Empty on purpose. Database functions are not migrations: each has one current file,
 * `db/functions/*.sql` (here `advance_statuses.sql`), applied with `create or replace` after the
 * migrations on every start, so a reader finds today's SQL in one place. This entry stays so that
 * databases which ran it keep a history the migrator recognises.
 */
export const createAdvanceStatuses: Migration = {
  async up() {},
};
