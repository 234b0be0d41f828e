import { migrate, type ModuleDb } from "../../../shared/db";
import { paymentsSchema } from "./accounts.repository";
import { paymentsMigrations } from "./migrations/001-create-payments";

/** The current text of each `payments` function, one `.sql` file per function. */
export const paymentsFunctions = new URL("./functions/", import.meta.url);

/** Schema `payments` brought up to date: its migrations, then its function files. */
export function migratePayments(db: ModuleDb): Promise<void> {
  return migrate(db, { schema: paymentsSchema, migrations: paymentsMigrations, functions: paymentsFunctions });
}
